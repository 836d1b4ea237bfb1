"""Accuracy of stemline's features on the demo songs, against their ground truth.

Renders the default demo set (``demodata``, seed 0) in memory, extracts the features
of every isolated stem and scores them with ``evaluation``:

- vocals, bass: melody metrics of the f0 contour, note P/R/F (with / without offsets),
  onset F (against note onsets);
- drums: onset F against the drum hits; other: onset F against chord onsets;
- key of the ``other`` stem and of the mixture against the song key (MIREX weighted).

Run ``python benchmarks/features_accuracy.py [--songs N]``; prints one table per family
and the means that ``features/README.md`` records.
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


def song_truth(song) -> dict:
    """Ground truth of a rendered song as plain arrays."""
    score = song.score
    truth = {"key": score.key_name, "has_vocals": score.has_vocals}
    for part in ("vocals", "bass", "other"):
        notes = notes_frame(score.parts[part])
        truth[f"notes_{part}"] = notes
        truth[f"onsets_{part}"] = np.unique(notes["onset_s"].to_numpy())
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    settings = FeatureSettings()
    records, speeds = [], []
    for i in range(args.songs):
        song_records, speed = evaluate_song(i, settings, args.seed)
        records += song_records
        speeds.append(speed)
    pl.Config.set_tbl_rows(50)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    for task, table in summarise(records).items():
        print(f"\n## {task}")
        print(table)
    print(f"\nfeature extraction speed (one process): {np.mean(speeds):.0f}x real time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
