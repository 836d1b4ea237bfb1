"""Catalogue speed at dataset scale: the README's example queries over ~40 million pitch rows.

Writes synthetic feature files for ``--tracks`` tracks (default 1,000) in the real storage
layout — per track: 2 stems × ``--seconds`` (default 200 s) of 100 frames/s pitch and chroma
frames, onsets, notes, a summary, stem and track records — then times every example query of
``catalogue.examples`` through ``stemline query``'s path (in-memory views over the Parquet
files), median of ``--repeats`` runs. It also times writing one track's feature files and
compares it with extracting those features (``features`` at the measured ~35x real time).

Usage::

    .venv/bin/python benchmarks/catalogue_queries.py [--tracks 1000] [--seconds 200] [--root DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from catalogue.examples import EXAMPLES  # noqa: E402
from catalogue.inventory_schema import INVENTORY_SCHEMA  # noqa: E402
from catalogue.layout import StorageLayout, write_parquet  # noqa: E402
from catalogue.sandbox import connect  # noqa: E402
from catalogue.schema import STEM_SCHEMA, STORED_TABLES, TRACK_SCHEMA  # noqa: E402

MODEL = "2stems"
STEMS = ("vocals", "accompaniment")
FEATURE_EXTRACTION_X_REALTIME = 35.0  # features/README.md, whole extract_stem_features


def schema_of(name: str) -> dict:
    return next(t.schema for t in STORED_TABLES if t.name == name)


def track_tables(track_id: str, seconds: float, rng: np.random.Generator) -> dict:
    """Feature tables of one synthetic track, keyed by (kind, stem)."""
    n = int(seconds * 100)
    frame = np.arange(n, dtype=np.int32)
    out = {}
    for stem in STEMS:
        keys = {"track_id": track_id, "model": MODEL, "stem": stem}
        voiced = (rng.random(n) < 0.6).astype(np.int8)
        f0 = np.where(voiced, 220 * 2 ** (rng.integers(-12, 13, n) / 12), 0).astype(np.float32)
        out[("pitch", stem)] = pl.DataFrame({
            **{k: [v] * n for k, v in keys.items()}, "frame": frame, "time_s": frame * 0.01,
            "f0_hz": f0, "voiced": voiced, "confidence": rng.random(n, dtype=np.float32),
            "rms_dbfs": rng.uniform(-60, -10, n).astype(np.float32),
        }, schema=schema_of("pitch_frames"))  # fmt: skip
        chroma = rng.random((n, 12), dtype=np.float32)
        out[("chroma", stem)] = pl.DataFrame({
            **{k: [v] * n for k, v in keys.items()}, "frame": frame, "time_s": frame * 0.01,
            "chroma": chroma,
        }, schema=schema_of("chroma_frames"))  # fmt: skip
        k = int(seconds * 3)
        onsets = np.sort(rng.uniform(0, seconds, k))
        out[("onsets", stem)] = pl.DataFrame({
            **{c: [v] * k for c, v in keys.items()}, "time_s": onsets,
            "frame": (onsets * 100).astype(np.int32), "strength": rng.random(k, dtype=np.float32),
        }, schema=schema_of("onsets"))  # fmt: skip
        notes_on = onsets[: k // 2]
        out[("notes", stem)] = pl.DataFrame({
            **{c: [v] * len(notes_on) for c, v in keys.items()}, "onset_s": notes_on,
            "offset_s": notes_on + 0.2, "midi_pitch": rng.integers(40, 80, len(notes_on)),
            "f0_mean_hz": rng.uniform(80, 800, len(notes_on)),
            "rms_dbfs": rng.uniform(-40, -10, len(notes_on)),
            "velocity": rng.integers(1, 128, len(notes_on)),
            "method": ["pitch_track"] * len(notes_on),
        }, schema=schema_of("notes"))  # fmt: skip
        summary = {c: None for c in schema_of("stem_summaries")} | keys | {
            "duration_s": seconds, "is_silent": False, "rms_dbfs": -20.0,
            "pitch_p05_midi": 50.0, "pitch_median_midi": 60.0,
            "pitch_p95_midi": float(rng.uniform(60, 90)), "pitch_median_hz": 261.6,
            "onset_rate_hz": 3.0, "key": "C", "mode": "major",
            "mean_chroma": np.roll(chroma.mean(axis=0), 9).tolist(),  # C first, as stored
        }  # fmt: skip
        out[("summary", stem)] = pl.DataFrame([summary], schema=schema_of("stem_summaries"))
    return out


def write_dataset(layout: StorageLayout, tracks: int, seconds: float) -> float:
    """Write every table; returns the median seconds to write one track's feature files."""
    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    inventory, write_times = [], []
    for i in range(tracks):
        track_id = f"{i:016x}"
        tables = track_tables(track_id, seconds, rng)
        t0 = time.perf_counter()
        for (kind, stem), frame in tables.items():
            write_parquet(frame, layout.features(kind, track_id, MODEL, stem))
        write_times.append(time.perf_counter() - t0)
        path = f"/music/track_{i:05d}.flac"
        record = {c: None for c in TRACK_SCHEMA} | {
            "track_id": track_id, "path": path, "status": "ok", "duration_s": seconds,
            "sample_rate": 44100, "channels": 2,
        }  # fmt: skip
        write_parquet(pl.DataFrame([record], schema=TRACK_SCHEMA), layout.track(track_id))
        stems = [{c: None for c in STEM_SCHEMA} | {"track_id": track_id, "model": MODEL,
                  "stem": s, "path": f"/data/{track_id}/{s}.flac"} for s in STEMS]  # fmt: skip
        write_parquet(pl.DataFrame(stems, schema=STEM_SCHEMA), layout.stems_table(MODEL, track_id))
        inventory.append({c: None for c in INVENTORY_SCHEMA} | {
            "path": path, "root": "/music", "role": "track", "track_id": track_id,
            "status": "present", "first_seen": now, "last_seen": now,
        })  # fmt: skip
    write_parquet(pl.DataFrame(inventory, schema=INVENTORY_SCHEMA), layout.inventory)
    return statistics.median(write_times)


def main() -> int:
    """Build the dataset (unless present) and time the queries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=200.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--root", type=Path, default=None, help="keep the dataset here")
    args = parser.parse_args()
    tmp = None
    if args.root is None:
        tmp = tempfile.TemporaryDirectory()
        args.root = Path(tmp.name)
    layout = StorageLayout(args.root)
    write_s = None
    if layout.inventory.exists():
        print(f"reusing the dataset in {args.root}")
    else:
        started = time.perf_counter()
        write_s = write_dataset(layout, args.tracks, args.seconds)
        print(f"wrote {args.tracks} tracks in {time.perf_counter() - started:.0f} s")
    con = connect(layout.root)
    rows = con.sql("SELECT count(*) FROM pitch_frames").fetchall()[0][0]
    print(f"pitch rows: {rows:,}; chroma rows: "
          f"{con.sql('SELECT count(*) FROM chroma_frames').fetchall()[0][0]:,}")  # fmt: skip
    print(f"{'query':<72} {'median s':>9}")
    for title, sql in EXAMPLES:
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            con.sql(sql).pl()
            times.append(time.perf_counter() - t0)
        print(f"{title[:72]:<72} {statistics.median(times):>9.3f}")
    extract_s = len(STEMS) * args.seconds / FEATURE_EXTRACTION_X_REALTIME
    if write_s is not None:
        print(
            f"writing one track's feature files: {write_s * 1000:.0f} ms = "
            f"{100 * write_s / extract_s:.2f}% of extracting them (~{extract_s:.0f} s at "
            f"{FEATURE_EXTRACTION_X_REALTIME:.0f}x real time per stem)"
        )
    con.close()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
