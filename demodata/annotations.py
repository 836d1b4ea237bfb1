"""Ground-truth annotation files of a demo song: building and writing them.

The files and their columns are the annotation format that :mod:`evaluation.annotations`
documents and reads (``<song>/annotations/``: ``song.json``, ``notes_<part>.csv``,
``f0_<part>.csv``, ``onsets_drums.csv``). Here the notes of every part (``vocals``, ``bass``,
``chords``) come from the score, the f0 of the vocal and bass lines is sampled every 10 ms from
the synthesised instantaneous f0 (so it includes vibrato), and the drum onsets are the score's
hits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from demodata.score import DrumHit, Note
from evaluation.annotations import (
    DRUM_ONSETS_FILE,
    DRUM_SCHEMA,
    F0_SCHEMA,
    FORMAT_VERSION,
    METADATA_FILE,
    NOTE_SCHEMA,
    annotations_folder,
    f0_file,
    notes_file,
)

#: Spacing of the f0 annotation frames, seconds.
F0_HOP_S = 0.01


def notes_frame(notes: list[Note]) -> pl.DataFrame:
    """Notes as a DataFrame with the annotation schema, sorted by onset then pitch."""
    frame = pl.DataFrame(
        {
            "onset_s": [n.onset_s for n in notes],
            "offset_s": [n.offset_s for n in notes],
            "midi_pitch": [n.midi_pitch for n in notes],
            "velocity": [n.velocity for n in notes],
        },
        schema=NOTE_SCHEMA,
    )
    return frame.sort(["onset_s", "midi_pitch"])


def f0_frame(f0_per_sample: np.ndarray, sample_rate: int) -> pl.DataFrame:
    """Sample the per-sample f0 track on the 10 ms annotation grid."""
    duration_s = f0_per_sample.size / sample_rate
    times = np.arange(int(np.floor(duration_s / F0_HOP_S)) + 1) * F0_HOP_S
    idx = np.minimum(np.round(times * sample_rate).astype(int), f0_per_sample.size - 1)
    return pl.DataFrame({"time_s": times, "f0_hz": f0_per_sample[idx]}, schema=F0_SCHEMA)


def drums_frame(hits: list[DrumHit]) -> pl.DataFrame:
    """Drum hits as a DataFrame ``time_s, instrument`` sorted by time."""
    return pl.DataFrame(
        {"time_s": [h.time_s for h in hits], "instrument": [h.instrument for h in hits]},
        schema=DRUM_SCHEMA,
    ).sort("time_s", maintain_order=True)


def write_annotations(
    song_dir: Path,
    metadata: dict,
    notes: dict[str, pl.DataFrame],
    f0: dict[str, pl.DataFrame],
    drum_onsets: pl.DataFrame,
) -> Path:
    """Write ``<song_dir>/annotations/`` (:mod:`evaluation.annotations`); returns that folder."""
    folder = annotations_folder(song_dir)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {**metadata, "f0_hop_s": F0_HOP_S, "format_version": FORMAT_VERSION}
    (folder / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    for part, frame in notes.items():
        frame.write_csv(folder / notes_file(part), float_precision=6)
    for part, frame in f0.items():
        frame.write_csv(folder / f0_file(part), float_precision=4)
    drum_onsets.write_csv(folder / DRUM_ONSETS_FILE, float_precision=6)
    return folder
