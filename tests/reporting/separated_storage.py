"""A real stemline storage root for report tests, without running the separation model.

Seeded demo songs are scanned into the inventory; each song's reference stems stand in for
Spleeter's output (``vocals`` and ``accompaniment`` = drums + bass + other, written as FLAC
with their ``stems.parquet``), and the real feature extractor writes every feature table. So
the catalogue views read the same files, schemas and values the pipeline would produce; only
the separation is exact instead of estimated. Demo song 2 (every third song) is instrumental.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import soundfile as sf

from catalogue.layout import FEATURE_KINDS, StorageLayout, write_parquet
from catalogue.scan import scan
from catalogue.schema import STEM_SCHEMA, TRACK_SCHEMA
from demodata import load_stems, write_demo_songs

MODEL = "2stems"
SONG_SECONDS = 4.0


def write_separated_storage(
    tmp: Path, songs: list[int], written_order: list[int] | None = None
) -> tuple[Path, dict[str, str]]:
    """Write demo songs ``songs`` (indices) and their stems, features and records.

    Parameters
    ----------
    tmp : pathlib.Path
        Empty folder; the audio goes to ``tmp/music``, the storage root is ``tmp/data``.
    songs : list of int
        Demo song indices to write (2, 5, ... are instrumental).
    written_order : list of int, optional
        Song indices in the order their stems are stamped as written (the last one is the
        most recently separated); defaults to ``songs``.

    Returns
    -------
    tuple of (pathlib.Path, dict of str to str)
        The storage root, and each song's name (``demo_00``) to its track id.
    """
    from features import extract_stem_features  # essentia: only where features are computed

    audio_dir, root = tmp / "music", tmp / "data"
    layout = StorageLayout(root)
    written = write_demo_songs(audio_dir, n_songs=max(songs) + 1, duration_s=SONG_SECONDS)
    for index, song_dir in enumerate(written):
        if index not in songs:
            for file in sorted(song_dir.rglob("*"), reverse=True):
                file.unlink() if file.is_file() else file.rmdir()
            song_dir.rmdir()
    inventory = scan([audio_dir]).inventory
    write_parquet(inventory, layout.inventory)
    tracks = inventory.filter(pl.col("role") == "track")
    ids = {
        Path(p).parent.name: tid for p, tid in zip(tracks["path"], tracks["track_id"], strict=True)
    }
    base_time = datetime(2026, 1, 1, tzinfo=UTC)
    order = written_order or songs
    for index in songs:
        name = f"demo_{index:02d}"
        track_id, mixture_path = ids[name], str(audio_dir / name / "mixture.wav")
        audio, rate = load_stems(audio_dir / name)
        stems = {
            "accompaniment": audio["drums"] + audio["bass"] + audio["other"],
            "vocals": audio["vocals"],
        }
        record = {k: None for k in TRACK_SCHEMA} | {
            "track_id": track_id,
            "path": mixture_path,
            "status": "ok",
            "duration_s": audio["mixture"].shape[0] / rate,
            "sample_rate": rate,
            "channels": 2,
        }
        write_parquet(pl.DataFrame([record], schema=TRACK_SCHEMA), layout.track(track_id))
        stem_dir = layout.stems_dir(MODEL, track_id)
        stem_dir.mkdir(parents=True, exist_ok=True)
        rows = []
        for stem, data in stems.items():
            path = stem_dir / f"{stem}.flac"
            sf.write(path, data, rate, subtype="PCM_16")
            rms = float(np.sqrt(np.mean(np.square(data, dtype=np.float64))))
            rows.append(
                {k: None for k in STEM_SCHEMA}
                | {
                    "track_id": track_id,
                    "model": MODEL,
                    "stem": stem,
                    "path": str(path),
                    "codec": "flac",
                    "duration_s": data.shape[0] / rate,
                    "sample_rate": rate,
                    "rms_dbfs": 20 * np.log10(max(rms, 1e-10)),
                    "written_at": base_time + timedelta(minutes=order.index(index)),
                }
            )
            feats = extract_stem_features(data, rate, stem).tables(track_id=track_id, model=MODEL)
            for kind in FEATURE_KINDS:
                write_parquet(feats[kind], layout.features(kind, track_id, MODEL, stem))
        write_parquet(pl.DataFrame(rows, schema=STEM_SCHEMA), layout.stems_table(MODEL, track_id))
    return root, ids
