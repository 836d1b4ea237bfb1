"""Ground-truth annotation files of a demo song: writing and loading.

Layout (all under ``<song>/annotations/``; CSV with a header row, comma separated)::

    song.json            metadata: title, seed, sample_rate, duration_s, tempo_bpm,
                         key ("A minor", mir_eval.key format), has_vocals, parts,
                         f0_hop_s, format_version
    notes_vocals.csv     onset_s, offset_s, midi_pitch, velocity   (header only when the
                         song is instrumental)
    notes_bass.csv       same columns
    notes_other.csv      same columns (the chord tones, several notes at a time)
    f0_vocals.csv        time_s, f0_hz     one row per 10 ms frame from 0 s; f0_hz = 0 is
                         unvoiced (mir_eval.melody convention)
    f0_bass.csv          same columns
    onsets_drums.csv     time_s, instrument   (kick, snare, hihat; simultaneous hits of
                         different instruments are separate rows)

Units are in the column names: seconds (``_s``), Hz (``_hz``), MIDI note numbers
(``midi_pitch``); ``velocity`` is a linear amplitude factor in (0, 1]. The f0 value of a
frame is the synthesised instantaneous f0 at the frame time, so it includes vibrato.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from demodata.score import DrumHit, Note

FORMAT_VERSION = 1
F0_HOP_S = 0.01
NOTE_PARTS = ("vocals", "bass", "other")
F0_PARTS = ("vocals", "bass")

NOTE_SCHEMA = {
    "onset_s": pl.Float64,
    "offset_s": pl.Float64,
    "midi_pitch": pl.Int64,
    "velocity": pl.Float64,
}
F0_SCHEMA = {"time_s": pl.Float64, "f0_hz": pl.Float64}
DRUM_SCHEMA = {"time_s": pl.Float64, "instrument": pl.String}


@dataclass
class SongAnnotations:
    """Ground truth of one demo song, as loaded by :func:`load_annotations`.

    Attributes
    ----------
    metadata : dict
        Contents of ``song.json``.
    notes : dict[str, polars.DataFrame]
        Per part (``vocals``, ``bass``, ``other``): ``onset_s, offset_s, midi_pitch,
        velocity``, sorted by onset.
    f0 : dict[str, polars.DataFrame]
        Per part (``vocals``, ``bass``): ``time_s, f0_hz`` on a 10 ms grid, 0 = unvoiced.
    drum_onsets : polars.DataFrame
        ``time_s, instrument``, sorted by time.
    """

    metadata: dict
    notes: dict[str, pl.DataFrame]
    f0: dict[str, pl.DataFrame]
    drum_onsets: pl.DataFrame

    def onset_times(self, part: str) -> np.ndarray:
        """Unique sorted onset times in seconds of a part (``drums`` or a note part)."""
        if part == "drums":
            times = self.drum_onsets["time_s"].to_numpy()
        else:
            times = self.notes[part]["onset_s"].to_numpy()
        return np.unique(np.round(times, 6))


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
    """Write ``<song_dir>/annotations/``; returns that folder."""
    folder = Path(song_dir) / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {**metadata, "f0_hop_s": F0_HOP_S, "format_version": FORMAT_VERSION}
    (folder / "song.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    for part, frame in notes.items():
        frame.write_csv(folder / f"notes_{part}.csv", float_precision=6)
    for part, frame in f0.items():
        frame.write_csv(folder / f"f0_{part}.csv", float_precision=4)
    drum_onsets.write_csv(folder / "onsets_drums.csv", float_precision=6)
    return folder


def load_annotations(song_dir: Path) -> SongAnnotations:
    """Load the ground truth written by :func:`demodata.write_demo_songs`.

    Parameters
    ----------
    song_dir : pathlib.Path
        A song folder (the one holding ``mixture.wav`` and ``annotations/``).

    Returns
    -------
    SongAnnotations
    """
    folder = Path(song_dir) / "annotations"
    metadata = json.loads((folder / "song.json").read_text())
    notes = {p: pl.read_csv(folder / f"notes_{p}.csv", schema=NOTE_SCHEMA) for p in NOTE_PARTS}
    f0 = {p: pl.read_csv(folder / f"f0_{p}.csv", schema=F0_SCHEMA) for p in F0_PARTS}
    drums = pl.read_csv(folder / "onsets_drums.csv", schema=DRUM_SCHEMA)
    return SongAnnotations(metadata, notes, f0, drums)
