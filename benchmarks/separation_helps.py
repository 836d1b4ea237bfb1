"""Does separation help transcription? Per-part scores on the mixture, the separated stem and
the oracle stem, against annotated ground truth.

Songs: the demo songs (``demodata``, written with ``--seed`` to a scratch folder under the
system's temporary folder and deleted afterwards), or ``--songs-dir``: any folder of
MUSDB18-style song folders (``<song>/mixture.wav`` with reference stems beside it and
annotations in a format of :mod:`evaluation.annotations`).

Each part is scored on four inputs, with the same function the ``separation_eval`` asset stores
in the ``evaluation`` table (:func:`evaluation.track_scores.annotation_records`; features with
each stem's default profile, as the pipeline computes them):

- ``mixture``: the features of the mixture itself (profile ``mixture``), which carries every
  part;
- ``separated``: the stems of ``--model``; each part is scored on the stem that carries it
  (:mod:`evaluation.parts`: with 2stems, bass, chords and drums on ``accompaniment``);
- ``oracle``: the model's stems made from the reference stems (accompaniment = drums + bass +
  other), i.e. a perfect separation by this model;
- ``reference``: the reference stems themselves (``bass.wav``, ``other.wav``, ...), the ceiling
  for each part; shown only when the model's stems are not the reference stems.

Measures: note F onset-only (onset within 50 ms, pitch within 50 cents) and with offsets
(offset within max(50 ms, 20 % of the note)), onset-only precision and recall (a stem carrying
several parts shares its notes among them by pitch range); melody raw pitch, raw chroma and
overall accuracy for the vocals; drum onset F within 50 ms. Then the global SDR of each
separated stem (against its oracle; songs with a silent reference left out) and, for songs
whose vocal part has no notes, the notes found on the stem carrying it (0 is right).

Run ``python benchmarks/separation_helps.py [--songs N] [--seed S] [--duration SECONDS]
[--model spleeter:2stems] [--songs-dir DIR]``; prints the per-song progress and one table of
means over songs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demodata import write_demo_songs
from evaluation import global_sdr
from evaluation.annotations import SongAnnotations, load_annotations
from evaluation.parts import MIXTURE
from evaluation.track_scores import annotation_records, reference_audio, scored_features
from features import FeatureSettings, extract_stem_features
from separation import Separator

AUDIO_SUFFIXES = (".wav", ".flac")
INPUTS = ("mixture", "separated", "oracle", "reference")
#: (task, metric) -> the measure's label in the table, in table order.
MEASURES = {
    ("notes", "f_measure_no_offset"): "note F, onset only",
    ("notes", "f_measure"): "note F, with offsets",
    ("notes", "precision_no_offset"): "note P, onset only",
    ("notes", "recall_no_offset"): "note R, onset only",
    ("melody", "raw_pitch_accuracy"): "melody raw pitch",
    ("melody", "raw_chroma_accuracy"): "melody raw chroma",
    ("melody", "overall_accuracy"): "melody overall",
    ("onsets", "f_measure"): "onset F",
}


def read_song(song_dir: Path) -> tuple[np.ndarray, int, dict[str, str]]:
    """The mixture (float32, frames x channels), its rate and the reference stem files."""
    mixture_path = next(p for s in AUDIO_SUFFIXES if (p := song_dir / f"mixture{s}").is_file())
    mixture, rate = sf.read(mixture_path, dtype="float32", always_2d=True)
    refs = {
        p.stem: str(p)
        for p in sorted(song_dir.iterdir())
        if p.suffix in AUDIO_SUFFIXES and p.stem != "mixture"
    }
    return mixture, rate, refs


def scores_on(truth: SongAnnotations, audio: dict[str, np.ndarray], rate: int, settings) -> list:
    """Annotation records of one input: ``audio`` maps stem names to signals."""
    stems = list(audio)
    wanted = scored_features(truth, stems)
    feats = {
        stem: extract_stem_features(audio[stem], rate, stem, settings)
        for stem in dict.fromkeys(stem for _, stem in wanted)
    }
    tables = {(kind, stem): getattr(feats[stem], kind) for kind, stem in wanted}
    return annotation_records(truth, stems, tables)


def evaluate_song(
    song_dir: Path, separator: Separator, settings
) -> tuple[list[dict], float, float]:
    """Records ``{song, input, stem, metric, value}`` of one song, its separation time and its
    duration, seconds."""
    truth = load_annotations(song_dir)
    for problem in truth.problems:
        print(f"  unreadable annotation file: {problem}")
    mixture, rate, refs = read_song(song_dir)
    start = time.perf_counter()
    separated = separator.separate(mixture, rate)
    elapsed = time.perf_counter() - start
    stems = list(separated)
    oracle = reference_audio(refs, stems, len(mixture))
    inputs = {
        "mixture": {MIXTURE: mixture},
        "separated": {s: separated[s][: len(mixture)] for s in stems},
        "oracle": oracle,
    }
    if set(refs) != set(stems):
        inputs["reference"] = reference_audio(refs, list(refs), len(mixture))
    records = []
    for name, audio in inputs.items():
        for r in scores_on(truth, audio, rate, settings):
            records.append({"song": song_dir.name, "input": name, **r})
    for stem in stems:
        if np.any(oracle.get(stem, 0.0)):
            sdr = global_sdr(oracle[stem], separated[stem][: len(mixture)])
            records.append(
                {"song": song_dir.name, "input": "separated", "stem": stem,
                 "metric": f"sdr_{stem}", "value": sdr}
            )  # fmt: skip
    return records, elapsed, len(mixture) / rate


def measure_rows(records: list[dict], parts: list[str]) -> pl.DataFrame:
    """Long records as ``part, measure, input, stem, song, value`` rows."""
    counted = {(r["song"], r["input"], r["metric"]) for r in records}
    rows = []
    for r in records:
        metric = r["metric"]
        if metric.startswith("sdr_"):
            label = (f"stem {r['stem']}", "global SDR (dB)")
        else:
            task, rest = metric.split("_", 1)
            part = next((p for p in parts if rest.startswith(f"{p}_")), None)
            if part is None:
                continue
            name = rest[len(part) + 1 :]
            has_reference = (r["song"], r["input"], f"notes_{part}_n_reference") in counted
            if name == "n_estimate" and not has_reference:
                label = (part, "notes where none are (count)")
            elif (task, name) in MEASURES:
                label = (part, MEASURES[task, name])
            else:
                continue
        rows.append(
            {"part": label[0], "measure": label[1], "input": r["input"], "stem": r["stem"],
             "song": r["song"], "value": float(r["value"])}
        )  # fmt: skip
    return pl.DataFrame(rows)


def summary_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Mean over songs per part and measure, one column per input (and the separated stem)."""
    order = {label: i for i, label in enumerate(MEASURES.values())}
    means = rows.group_by("part", "measure", "input").agg(
        pl.col("value").mean().round(3).alias("mean"), pl.col("song").n_unique().alias("songs")
    )
    table = means.pivot(on="input", index=["part", "measure"], values="mean")
    stems = (
        rows.filter(pl.col("input") == "separated")
        .group_by("part", "measure")
        .agg(pl.col("stem").first().alias("separated stem"))
    )
    songs = means.group_by("part", "measure").agg(pl.col("songs").max())
    columns = [c for c in INPUTS if c in table.columns]
    return (
        table.join(stems, on=["part", "measure"], how="left")
        .join(songs, on=["part", "measure"])
        .with_columns(pl.col("measure").replace_strict(order, default=99).alias("_order"))
        .sort("part", "_order")
        .with_columns(pl.col("separated stem").fill_null("-"))
        .select("part", "measure", "songs", "separated stem", *columns)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=5, help="demo songs (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="demo set seed (default 0)")
    parser.add_argument("--duration", type=float, default=None, help="demo song length, s")
    parser.add_argument("--model", default="spleeter:2stems")
    parser.add_argument("--songs-dir", type=Path, default=None, help="use these songs instead")
    args = parser.parse_args(argv)
    separator = Separator(args.model)
    settings = FeatureSettings()
    with tempfile.TemporaryDirectory(prefix="separation_helps_") as scratch:
        if args.songs_dir is None:
            song_dirs = write_demo_songs(
                Path(scratch), n_songs=args.songs, seed=args.seed, duration_s=args.duration
            )
            source = f"{args.songs} demo songs (seed {args.seed})"
        else:
            song_dirs = sorted(p for p in args.songs_dir.iterdir() if p.is_dir())
            source = f"{len(song_dirs)} songs in {args.songs_dir}"
        records, parts = [], set()
        seconds = audio_s = 0.0
        for song_dir in song_dirs:
            start = time.perf_counter()
            song_records, elapsed, duration = evaluate_song(song_dir, separator, settings)
            records += song_records
            truth = load_annotations(song_dir)
            parts |= {*truth.notes, *truth.f0, *truth.onsets}
            seconds += elapsed
            audio_s += duration
            total = time.perf_counter() - start
            print(f"{song_dir.name}: separated in {elapsed:.1f} s, scored in {total:.1f} s")
    table = summary_table(measure_rows(records, sorted(parts, key=len, reverse=True)))
    pl.Config.set_tbl_rows(200)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_fmt_str_lengths(40)
    pl.Config.set_tbl_width_chars(200)
    print(
        f"\nmodel {args.model}; {source}; "
        f"separation {audio_s / seconds:.1f}x real time on this machine"
    )
    print(table)
    return 0


if __name__ == "__main__":
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
