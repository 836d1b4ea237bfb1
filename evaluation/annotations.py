"""Ground-truth annotation files of a track: the format, and loading it.

A track with ground truth has an ``annotations/`` folder beside its mixture (``<song>/mixture.wav``
and ``<song>/annotations/``). Every file is optional; a file that is present holds CSV with a
header row, comma separated::

    song.json            metadata: title, seed, sample_rate, duration_s, tempo_bpm,
                         key ("A minor", mir_eval.key format), has_vocals, parts,
                         f0_hop_s, format_version
    notes_vocals.csv     onset_s, offset_s, midi_pitch, velocity   (header only when the
                         part is silent)
    notes_bass.csv       same columns
    notes_other.csv      same columns (chord tones, several notes at a time)
    f0_vocals.csv        time_s, f0_hz     one row per frame on a regular grid from 0 s
                         (``f0_hop_s`` apart); f0_hz = 0 is unvoiced (mir_eval.melody)
    f0_bass.csv          same columns
    onsets_drums.csv     time_s, instrument   (e.g. kick, snare, hihat; simultaneous hits of
                         different instruments are separate rows)

Units are in the column names: seconds (``_s``), Hz (``_hz``), MIDI note numbers
(``midi_pitch``); ``velocity`` is a linear amplitude factor in (0, 1]. ``demodata`` writes
this format for its demo songs (:func:`demodata.annotations.write_annotations`); any dataset
converted to it is scored the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

#: Folder beside the mixture that holds the annotation files.
ANNOTATIONS_DIR = "annotations"
METADATA_FILE = "song.json"
DRUM_ONSETS_FILE = "onsets_drums.csv"
#: Version of the format written in ``song.json``.
FORMAT_VERSION = 1
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


def notes_file(part: str) -> str:
    """File name of a part's notes (``notes_vocals.csv``)."""
    return f"notes_{part}.csv"


def f0_file(part: str) -> str:
    """File name of a part's f0 contour (``f0_vocals.csv``)."""
    return f"f0_{part}.csv"


@dataclass
class SongAnnotations:
    """Ground truth of one track, as loaded by :func:`load_annotations`.

    Attributes
    ----------
    metadata : dict
        Contents of ``song.json`` (empty without it).
    notes : dict[str, polars.DataFrame]
        Per part with a notes file: ``onset_s, offset_s, midi_pitch, velocity``.
    f0 : dict[str, polars.DataFrame]
        Per part with an f0 file: ``time_s, f0_hz``, 0 = unvoiced.
    drum_onsets : polars.DataFrame
        ``time_s, instrument`` (no rows without the file).
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


def annotations_folder(song_dir: Path) -> Path:
    """The annotation folder of a track folder (the one holding the mixture)."""
    return Path(song_dir) / ANNOTATIONS_DIR


def has_annotations(song_dir: Path) -> bool:
    """Whether the track folder ``song_dir`` has an annotation folder."""
    return annotations_folder(song_dir).is_dir()


def load_annotations(song_dir: Path) -> SongAnnotations:
    """Load the annotation files of one track (the files present; see the module).

    Parameters
    ----------
    song_dir : pathlib.Path
        A track folder (the one holding ``mixture.<ext>`` and ``annotations/``).

    Returns
    -------
    SongAnnotations
        Notes sorted by onset then pitch, drum onsets by time.
    """
    folder = annotations_folder(song_dir)
    meta_path = folder / METADATA_FILE
    metadata = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    notes = {
        part: pl.read_csv(path, schema=NOTE_SCHEMA).sort(["onset_s", "midi_pitch"])
        for part in NOTE_PARTS
        if (path := folder / notes_file(part)).is_file()
    }
    f0 = {
        part: pl.read_csv(path, schema=F0_SCHEMA)
        for part in F0_PARTS
        if (path := folder / f0_file(part)).is_file()
    }
    drums_path = folder / DRUM_ONSETS_FILE
    drums = (
        pl.read_csv(drums_path, schema=DRUM_SCHEMA).sort("time_s", maintain_order=True)
        if drums_path.is_file()
        else pl.DataFrame(schema=DRUM_SCHEMA)
    )
    return SongAnnotations(metadata, notes, f0, drums)
