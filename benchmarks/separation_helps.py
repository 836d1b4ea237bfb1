"""Does separation help MIR? Features on the mixture vs on Spleeter stems, demo songs.

For every demo song (``demodata``, seed 0) the mixture is separated with stemline's
Spleeter engine and three tasks are scored against the ground truth, each measured on
the mixture, on the separated stem and on the true (oracle) stem:

- melody of the vocal line: raw pitch accuracy, raw chroma accuracy, overall accuracy
  (``mixture`` profile = Melodia 120-1000 Hz on the mix; ``vocals`` profile = SwiftF0 on
  the vocals stem; Melodia on the vocals stem as a like-for-like check);
- drum onsets: F-measure within 50 ms (``drums`` profile: HFC + complex);
- vocal and bass line notes: F-measure without / with offsets (``vocals`` profile on
  the mixture and the vocals stem; ``bass`` profile, SwiftF0 46.9-400 Hz, on the mixture
  and the bass source).

With ``spleeter:2stems`` (the only weights available offline) the drums and the bass
are measured on the ``accompaniment`` stem; with a 4stems model they would come from the
``drums`` and ``bass`` stems (``--model spleeter:4stems`` when its weights are present).
Also printed: the global SDR of each separated stem (songs whose reference stem is
silent are left out: SDR is undefined there) and whether the vocals stem of an
instrumental song is recognised as silent.

Run ``python benchmarks/separation_helps.py [--songs N] [--model spleeter:2stems]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features_accuracy import score_notes, score_onsets, score_pitch, song_truth

from demodata import render_song
from evaluation import global_sdr
from features import FeatureSettings, extract_stem_features
from separation import Separator


def separate(separator: Separator, song) -> tuple[dict[str, np.ndarray], float]:
    """Separated stems of a rendered song and the separation time in seconds."""
    mixture = song.mixture.astype(np.float32) / 32768.0
    start = time.perf_counter()
    stems = separator.separate(mixture, 44100)
    return stems, time.perf_counter() - start


def oracle_stems(song, instruments: tuple[str, ...]) -> dict[str, np.ndarray]:
    """True stems matching the model's instruments (accompaniment = drums + bass + other)."""
    true = {name: data.astype(np.float32) / 32768.0 for name, data in song.stems.items()}
    true["accompaniment"] = true["drums"] + true["bass"] + true["other"]
    return {name: true[name] for name in instruments}


def evaluate_song(song, separated: dict[str, np.ndarray], settings: FeatureSettings) -> list:
    """Records ``{song, task, input, metric, value}`` for one song."""
    truth = song_truth(song)
    mixture = song.mixture.astype(np.float32) / 32768.0
    oracle = oracle_stems(song, tuple(separated))
    drums_src = "drums" if "drums" in separated else "accompaniment"
    bass_src = "bass" if "bass" in separated else "accompaniment"
    records = []

    def add(task, source, metric, value):
        records.append(
            {
                "song": song.name,
                "task": task,
                "input": source,
                "metric": metric,
                "value": float(value),
            }
        )

    def feats(audio, profile):
        return extract_stem_features(audio, 44100, profile, settings)

    for name, estimate in separated.items():
        if np.any(oracle[name]):  # SDR is undefined for a silent reference
            add("separation", f"{name} stem", "global_sdr_db", global_sdr(oracle[name], estimate))

    if truth["has_vocals"]:
        inputs = {
            "mixture (Melodia)": feats(mixture, "mixture"),
            "separated vocals (SwiftF0)": feats(separated["vocals"], "vocals"),
            "separated vocals (Melodia)": feats(separated["vocals"], "mixture"),
            "true vocals (SwiftF0)": feats(oracle["vocals"], "vocals"),
        }
        for source, f in inputs.items():
            scores = score_pitch(f, truth["f0_vocals"])
            for metric in ("raw_pitch_accuracy", "raw_chroma_accuracy", "overall_accuracy"):
                add("vocal melody", source, metric, scores[metric])
        for source, audio in (
            ("mixture", mixture),
            ("separated vocals", separated["vocals"]),
            ("true vocals", oracle["vocals"]),
        ):
            scores = score_notes(feats(audio, "vocals"), truth["notes_vocals"])
            add("vocal notes", source, "f_measure_no_offset", scores["f_measure_no_offset"])
            add("vocal notes", source, "f_measure", scores["f_measure"])
    else:
        f = feats(separated["vocals"], "vocals")
        add("silent vocals", "separated vocals", "is_silent", f.is_silent)
        add("silent vocals", "separated vocals", "rms_dbfs", f.summary["rms_dbfs"][0])

    for source, audio in (
        ("mixture", mixture),
        (f"separated {drums_src}", separated[drums_src]),
        ("true drums", song.stems["drums"] / 32768.0),
    ):
        add(
            "drum onsets",
            source,
            "f_measure",
            score_onsets(feats(audio, "drums"), truth["onsets_drums"])["f_measure"],
        )

    for source, audio in (
        ("mixture", mixture),
        (f"separated {bass_src}", separated[bass_src]),
        ("true bass", song.stems["bass"] / 32768.0),
    ):
        scores = score_notes(feats(audio, "bass"), truth["notes_bass"])
        add("bass notes", source, "f_measure_no_offset", scores["f_measure_no_offset"])
        add("bass notes", source, "f_measure", scores["f_measure"])
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="spleeter:2stems")
    args = parser.parse_args(argv)
    separator = Separator(args.model)
    settings = FeatureSettings()
    records = []
    seconds = audio = 0.0
    for i in range(args.songs):
        song = render_song(i, args.seed)
        separated, elapsed = separate(separator, song)
        seconds += elapsed
        audio += song.mixture.shape[0] / 44100
        records += evaluate_song(song, separated, settings)
        print(f"{song.name}: separated in {elapsed:.1f} s", flush=True)
    frame = pl.DataFrame(records)
    table = frame.group_by("task", "input", "metric", maintain_order=True).agg(
        pl.len().alias("songs"),
        pl.col("value").mean().round(3).alias("mean"),
        pl.col("value").min().round(3).alias("min"),
        pl.col("value").max().round(3).alias("max"),
    )
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_fmt_str_lengths(40)
    pl.Config.set_tbl_width_chars(160)
    print(
        f"\nmodel {args.model}; {args.songs} demo songs (seed {args.seed}); "
        f"separation {audio / seconds:.1f}x real time on this machine"
    )
    print(table)
    return 0


if __name__ == "__main__":
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
