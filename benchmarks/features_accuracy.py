"""Accuracy of stemline's features on the demo songs, against their ground truth.

Renders the default demo set (``demodata``, seed 0) in memory, extracts the features
of every isolated stem and scores them with ``evaluation``:

- vocals, bass: melody metrics of the f0 contour, note P/R/F (with / without offsets),
  onset F (against note onsets);
- drums: onset F against the drum hits; other: onset F against chord onsets;
- key of the ``other`` stem and of the mixture against the song key (MIREX weighted).

Run ``python benchmarks/features_accuracy.py [--songs N]``; prints one table per family
and the means that ``features/README.md`` records.

``--compare-pitch [yinfft,swiftf0,crepe_tiny]`` compares the monophonic pitch methods on
the vocal and bass lines instead: each method (with its stem's profile otherwise unchanged)
on the mixture, on the Spleeter stem (``--model``, default ``spleeter:2stems``, whose bass
source is the accompaniment) and on the true stem; per input and method the mean raw pitch
and overall accuracy, voicing recall and false alarm, note F without / with offsets, the
pitch step's speed (``x_realtime``: audio seconds per CPU second of
:func:`features.pitch.estimate_pitch`) and, for the separated stem, ``stem_has_voice`` (the
share of sung frames in which the stem is active at all, an upper bound for any tracker's
recall on it) and ``raw_pitch_in_voice`` (raw pitch accuracy over those frames). The
separated vocals of the instrumental songs are checked for ``silent``, voiced frames, notes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demodata import render_song
from demodata.annotations import f0_frame, notes_frame
from evaluation import key_score, melody_scores, note_scores, onset_scores
from features import FeatureSettings, StemFeatures, extract_stem_features
from features.grid import FrameGrid, analysis_signal
from features.level import active_level_dbfs, frame_rms_dbfs
from features.pitch import estimate_pitch


def song_truth(song) -> dict:
    """Ground truth of a rendered song as plain arrays, keyed by stem (the chords part is the
    ``other`` stem)."""
    score = song.score
    truth = {"key": score.key_name, "has_vocals": score.has_vocals}
    for part, stem in (("vocals", "vocals"), ("bass", "bass"), ("chords", "other")):
        notes = notes_frame(score.parts[part])
        truth[f"notes_{stem}"] = notes
        truth[f"onsets_{stem}"] = np.unique(notes["onset_s"].to_numpy())
    for part in ("vocals", "bass"):
        truth[f"f0_{part}"] = f0_frame(song.f0_per_sample[part], 44100)
    truth["onsets_drums"] = np.unique([round(h.time_s, 6) for h in score.drums])
    return truth


def score_pitch(features: StemFeatures, f0: pl.DataFrame) -> dict:
    """Melody metrics of a stem's pitch table against a reference f0 table."""
    if features.pitch.height == 0:
        est_t = f0["time_s"].to_numpy()
        est_f = np.zeros_like(est_t)
    else:
        est_t = features.pitch["time_s"].to_numpy()
        est_f = features.pitch["f0_hz"].to_numpy()
    return melody_scores(f0["time_s"].to_numpy(), f0["f0_hz"].to_numpy(), est_t, est_f)


def score_notes(features: StemFeatures, notes: pl.DataFrame) -> dict:
    """Note scores of a stem's notes table against reference notes."""
    est = features.notes
    return note_scores(
        notes.select("onset_s", "offset_s").to_numpy(),
        notes["midi_pitch"],
        est.select("onset_s", "offset_s").to_numpy(),
        est["midi_pitch"],
    )


def score_onsets(features: StemFeatures, reference_s: np.ndarray) -> dict:
    """Onset scores of a stem's onsets table."""
    return onset_scores(reference_s, features.onsets["time_s"].to_numpy())


def evaluate_song(index: int, settings: FeatureSettings, seed: int = 0) -> tuple[list, float]:
    """Records for one demo song and the audio seconds analysed per CPU second."""
    song = render_song(index, seed)
    truth = song_truth(song)
    records = []
    elapsed = 0.0
    audio_s = 0.0
    for stem in ("vocals", "bass", "drums", "other", "mixture"):
        audio = (song.mixture if stem == "mixture" else song.stems[stem]) / 32768.0
        start = time.perf_counter()
        feats = extract_stem_features(audio.astype(np.float32), 44100, stem, settings)
        elapsed += time.perf_counter() - start
        audio_s += audio.shape[0] / 44100
        base = {"song": song.name, "stem": stem}
        if stem in ("vocals", "bass"):
            if stem == "vocals" and not truth["has_vocals"]:
                records.append({**base, "task": "silence", "is_silent": feats.is_silent})
                continue
            records.append({**base, **score_pitch(feats, truth[f"f0_{stem}"])})
            records.append({**base, **score_notes(feats, truth[f"notes_{stem}"])})
        if stem != "mixture":
            records.append({**base, **score_onsets(feats, truth[f"onsets_{stem}"])})
        if stem in ("other", "mixture"):
            summary = feats.summary.row(0, named=True)
            estimated = f"{summary['key']} {summary['mode']}"
            records.append({**base, **key_score(truth["key"], estimated)})
    return records, audio_s / elapsed


def summarise(records: list[dict]) -> dict[str, pl.DataFrame]:
    """Mean of each metric per (task, stem)."""
    frame = pl.DataFrame(records, infer_schema_length=None)
    tables = {}
    metrics = {
        "melody": [
            "raw_pitch_accuracy",
            "raw_chroma_accuracy",
            "overall_accuracy",
            "voicing_recall",
            "voicing_false_alarm",
        ],
        "notes": ["f_measure_no_offset", "f_measure", "precision_no_offset", "recall_no_offset"],
        "onsets": ["f_measure", "precision", "recall"],
        "key": ["weighted_score"],
        "silence": ["is_silent"],
    }
    for task, columns in metrics.items():
        part = frame.filter(pl.col("task") == task)
        if part.height:
            tables[task] = part.group_by("stem", maintain_order=True).agg(
                pl.len().alias("songs"),
                *[pl.col(c).cast(pl.Float64).mean().round(3) for c in columns],
            )
    return tables


def pitch_seconds(audio: np.ndarray, stem: str, settings: FeatureSettings) -> float:
    """CPU seconds of the pitch step alone (the model already loaded) on one stem."""
    signal = analysis_signal(audio, 44100)
    grid = FrameGrid.for_samples(signal.size)
    rms = frame_rms_dbfs(signal, grid)
    active = rms > settings.silence_dbfs
    level = active_level_dbfs(rms, active)
    profile = settings.profile(stem)
    estimate_pitch(
        signal[: 44100 * 2],
        FrameGrid.for_samples(44100 * 2),
        profile,
        rms[:201],
        active[:201],
        level,
    )
    start = time.process_time()
    estimate_pitch(signal, grid, profile, rms, active, level)
    return time.process_time() - start


def voice_in_stem(
    audio: np.ndarray, features: StemFeatures, f0: pl.DataFrame, settings: FeatureSettings
) -> dict:
    """How much of the sung line a (separated) stem holds, and how well it is tracked there.

    ``stem_has_voice``: share of the reference's voiced frames in which the stem is active
    (frame RMS above the silence threshold), the most any tracker can recall on it;
    ``raw_pitch_in_voice``: raw pitch accuracy (within 50 cents) over those frames only.
    """
    signal = analysis_signal(audio, 44100)
    rms = frame_rms_dbfs(signal, FrameGrid.for_samples(signal.size))
    reference = f0["f0_hz"].to_numpy()
    n = min(reference.size, rms.size)
    estimate = np.zeros(n)
    if features.pitch.height:
        estimate = features.pitch["f0_hz"].to_numpy()[:n].astype(np.float64)
    reference = reference[:n]
    present = (reference > 0) & (rms[:n] > settings.silence_dbfs)
    with np.errstate(divide="ignore", invalid="ignore"):
        cents = np.abs(1200.0 * np.log2(estimate / reference))
    correct = (estimate > 0) & (cents < 50.0)
    return {
        "stem_has_voice": float(present.sum() / max(1, (reference > 0).sum())),
        "raw_pitch_in_voice": float(correct[present].mean()) if present.any() else None,
    }


def compare_pitch(songs: int, seed: int, methods: list[str], model: str) -> pl.DataFrame:
    """Records of every pitch method on every input of the vocal and bass lines."""
    from separation import Separator

    separator = Separator(model)
    records = []
    for index in range(songs):
        song = render_song(index, seed)
        truth = song_truth(song)
        separated = separator.separate(song.mixture.astype(np.float32) / 32768.0, 44100)
        mixture = (song.mixture / 32768.0).astype(np.float32)
        for stem in ("vocals", "bass"):
            source = stem if stem in separated else "accompaniment"
            inputs = {
                "mixture": mixture,
                f"separated {source}": separated[source],
                f"true {stem}": (song.stems[stem] / 32768.0).astype(np.float32),
            }
            for method in methods:
                settings = FeatureSettings().with_profile(stem, pitch_method=method)
                base = {"song": song.name, "stem": stem, "method": method}
                if stem == "vocals" and not truth["has_vocals"]:
                    feats = extract_stem_features(separated[source], 44100, stem, settings)
                    records.append(
                        {
                            **base,
                            "input": "separated vocals (instrumental)",
                            "is_silent": feats.is_silent,
                            "voiced_frames": int(feats.pitch["voiced"].sum()),
                            "notes": feats.notes.height,
                        }
                    )
                    continue
                for name, audio in inputs.items():
                    feats = extract_stem_features(audio, 44100, stem, settings)
                    melody = score_pitch(feats, truth[f"f0_{stem}"])
                    notes = score_notes(feats, truth[f"notes_{stem}"])
                    record = {
                        **base,
                        "input": name,
                        **{k: melody[k] for k in PITCH_METRICS},
                        "note_f": notes["f_measure_no_offset"],
                        "note_f_offset": notes["f_measure"],
                        "x_realtime": audio.shape[0] / 44100 / pitch_seconds(audio, stem, settings),
                    }
                    if name.startswith("separated"):
                        record |= voice_in_stem(audio, feats, truth[f"f0_{stem}"], settings)
                    records.append(record)
        print(f"{song.name} done", flush=True)
    return pl.DataFrame(records, infer_schema_length=None)


PITCH_METRICS = (
    "raw_pitch_accuracy",
    "overall_accuracy",
    "voicing_recall",
    "voicing_false_alarm",
)


#: Column of the printed pitch table -> record field it averages.
PITCH_COLUMNS = {
    "raw_pitch": "raw_pitch_accuracy",
    "overall": "overall_accuracy",
    "v_recall": "voicing_recall",
    "v_false_alarm": "voicing_false_alarm",
    "note_f": "note_f",
    "note_f_off": "note_f_offset",
    "x_realtime": "x_realtime",
    "stem_has_voice": "stem_has_voice",
    "raw_pitch_in_voice": "raw_pitch_in_voice",
    "silent": "is_silent",
    "voiced": "voiced_frames",
    "notes": "notes",
}


def pitch_table(records: pl.DataFrame) -> pl.DataFrame:
    """Mean of every metric per (stem, input, method), with short column names."""
    columns = {name: field for name, field in PITCH_COLUMNS.items() if field in records.columns}
    return (
        records.group_by("stem", "input", "method", maintain_order=True)
        .agg(
            pl.len().alias("songs"),
            *[pl.col(f).cast(pl.Float64).mean().round(3).alias(c) for c, f in columns.items()],
        )
        .sort("stem", "input", maintain_order=True)
    )


def _table_format() -> None:
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(260)
    pl.Config.set_fmt_str_lengths(40)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_hide_dataframe_shape(True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--compare-pitch",
        nargs="?",
        const="yinfft,swiftf0,crepe_tiny",
        metavar="METHODS",
        help="compare monophonic pitch methods on mixture / separated / true stems",
    )
    parser.add_argument("--model", default="spleeter:2stems", help="for --compare-pitch")
    args = parser.parse_args(argv)
    _table_format()
    if args.compare_pitch:
        methods = args.compare_pitch.split(",")
        table = pitch_table(compare_pitch(args.songs, args.seed, methods, args.model))
        print(f"\n## pitch methods, {args.songs} demo songs (seed {args.seed}), {args.model}")
        print(table)
        return 0
    settings = FeatureSettings()
    records, speeds = [], []
    for i in range(args.songs):
        song_records, speed = evaluate_song(i, settings, args.seed)
        records += song_records
        speeds.append(speed)
    for task, table in summarise(records).items():
        print(f"\n## {task}")
        print(table)
    print(f"\nfeature extraction speed (one process): {np.mean(speeds):.0f}x real time")
    return 0


if __name__ == "__main__":
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
