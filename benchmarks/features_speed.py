"""Speed of stemline's features: x real time per family and stem, one core; track in parallel.

Renders demo songs (``demodata``, seed 0), then for every stem times each feature
family on one core (pitch, onsets, chroma + key, notes) and the whole
``extract_stem_features`` call, and finally a whole track (4 stems) sequentially and
with ``extract_track_features``: a new pool per track, and a warm pool reused across
tracks (``feature_process_pool``). "x real time" is audio seconds
per CPU second. Run ``python benchmarks/features_speed.py [--songs N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demodata import STEM_NAMES, render_song
from features import FeatureSettings, extract_stem_features, extract_track_features
from features.chroma import chroma_matrix, estimate_key
from features.grid import FrameGrid, analysis_signal
from features.level import active_level_dbfs, frame_rms_dbfs
from features.notes import segment_notes
from features.onsets import detect_onsets
from features.parallel import feature_process_pool
from features.pitch import estimate_pitch


def _timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def time_families(audio: np.ndarray, stem: str, settings: FeatureSettings) -> dict[str, float]:
    """Seconds spent in each feature family for one stem (one process)."""
    profile = settings.profile(stem)
    signal = analysis_signal(audio, 44100)
    grid = FrameGrid.for_samples(signal.size)
    rms = frame_rms_dbfs(signal, grid)
    active = rms > settings.silence_dbfs
    level = active_level_dbfs(rms, active)
    (f0, voiced, _), t_pitch = _timed(estimate_pitch, signal, grid, profile, rms, active, level)
    onsets, t_onsets = _timed(detect_onsets, signal, grid, profile)
    chroma, t_chroma = _timed(chroma_matrix, signal, grid, active)
    _, t_key = _timed(estimate_key, chroma, active)
    t_notes = 0.0
    if profile.monophonic:
        _, t_notes = _timed(
            segment_notes, grid, f0, voiced, rms, profile, onsets["frame"].to_numpy()
        )
    _, t_total = _timed(extract_stem_features, audio, 44100, stem, settings)
    return {
        "pitch": t_pitch,
        "onsets": t_onsets,
        "chroma_key": t_chroma + t_key,
        "notes": t_notes,
        "all": t_total,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=2)
    args = parser.parse_args(argv)
    settings = FeatureSettings()
    rows = []
    track_rows = []
    workers = min(4, os.cpu_count() or 1)
    pool = feature_process_pool(workers)  # started once, reused for every track
    for i in range(args.songs):
        song = render_song(i)
        stems = {name: song.stems[name].astype(np.float32) / 32768.0 for name in STEM_NAMES}
        duration = song.mixture.shape[0] / 44100
        for name, audio in stems.items():
            if not np.any(audio):
                continue  # instrumental song: silent vocals cost nothing
            times = time_families(audio, name, settings)
            rows.append(
                {
                    "stem": name,
                    "pitch_method": settings.profile(name).pitch_method,
                    **{k: duration / v if v > 0 else None for k, v in times.items()},
                }
            )
        _, sequential = _timed(extract_track_features, stems, 44100, settings, 1)
        _, cold = _timed(extract_track_features, stems, 44100, settings, len(stems))
        _, warm = _timed(extract_track_features, stems, 44100, settings, None, pool)
        track_rows.append(
            {
                "song": song.name,
                "duration_s": duration,
                "sequential_s": sequential,
                "new_pool_s": cold,
                "warm_pool_s": warm,
            }
        )
    pool.shutdown()
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    table = (
        pl.DataFrame(rows)
        .group_by("stem", "pitch_method", maintain_order=True)
        .agg(pl.all().mean().round(0))
    )
    print(f"x real time on one core (mean over {args.songs} songs), cpu_count={os.cpu_count()}")
    print(table)
    print(
        f"\nwhole track (4 stems), seconds: one process; a new pool of 4 processes per "
        f"track; a warm pool of {workers} processes reused across tracks"
    )
    print(pl.DataFrame(track_rows).with_columns(pl.col(pl.Float64).round(2)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
