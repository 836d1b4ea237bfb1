"""Ground-truth annotations of a track: the documented formats, finding them, loading them.

Where
-----
A track with ground truth is a MUSDB18-style folder: ``<song>/mixture.<ext>`` (reference stems
beside it). Its annotation files lie in the song folder itself or in ``<song>/annotations/``
(both are read, the subfolder first). A file's name says what it holds; ``<part>`` is a
lower-case name (``vocals``, ``bass``, ``chords``, ``drums``, ``piano``, ...):

======================  ===================================  =======================================
file                    content                              meaning
======================  ===================================  =======================================
``notes_<part>.csv``    onset s, offset s, MIDI pitch        one row per note (a chord is one row
                        [, velocity]                         per note); header-only: no notes
``f0_<part>.csv``       time s, f0 Hz                        frames in time order; f0 <= 0 is
                                                             unvoiced (mir_eval.melody)
``onsets_<part>.csv``   time s [, instrument]                onsets, e.g. drum hits (simultaneous
                                                             hits of different drums: one row each)
``<part>.jams``         JAMS 0.3 (JSON), namespaces below    annotations of ``<part>``, unless an
                                                             annotation names its own part
``song.jams``           JAMS 0.3 (JSON), namespaces below    every annotation names its part in
                                                             ``sandbox.part``
``song.json``           JSON object                          metadata (below)
======================  ===================================  =======================================

CSV files: columns by position (names do not matter), separated by commas (a line without a
comma: by tabs or spaces); an optional header row (first field not a number), blank lines and
``#`` comment lines are skipped. Times in seconds, f0 in Hz, pitches as MIDI note numbers
(A4 = 69 = 440 Hz, fractions allowed); ``velocity`` is optional and not scored.

JAMS namespaces read (others, e.g. ``beat``, ``chord``, ``key_mode``, are skipped):
``note_midi`` (``time`` onset, ``duration`` offset - onset, ``value`` MIDI pitch), ``note_hz``
(``value`` in Hz), ``pitch_contour`` (``value`` ``{index, frequency, voiced}``; one contour per
part; unvoiced frames read as 0 Hz) and ``onset`` (``time``). Both the sparse (list of
observations) and the dense (dict of lists) data layouts are read.

``song.json`` keys, all optional: ``part_stems`` (``{part: reference stem}``, which reference
stem a part sounds in, see :mod:`evaluation.parts`), ``has_vocals``, ``key`` ("A minor",
mir_eval.key format), ``tempo_bpm``, ``duration_s``, ``f0_hop_s``, ``format_version``
(:data:`FORMAT_VERSION`), ``title``, ``seed``.

Problems
--------
A file is read whole or not at all. A file that cannot be read (a bad row, broken JSON, a JAMS
annotation without a part, a table of a part that another file already gave) is left out and
reported in one line that names it, e.g. ``annotations/notes_bass.csv: line 4: offset 1.2 s is
not after onset 1.5 s``. Files with an annotation-like extension whose names match none of the
above are listed as ignored. :meth:`SongAnnotations.status` says in one line what was read, or
``none readable in <folder>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from evaluation.annotation_files import (
    PART_NAME,
    AnnotationFileError,
    empty_table,
    read_csv_table,
    read_jams,
)

#: Subfolder of the song folder that may hold the annotation files.
ANNOTATIONS_DIR = "annotations"
METADATA_FILE = "song.json"
#: The JAMS file whose annotations must each name their part.
SONG_JAMS = "song.jams"
DRUM_ONSETS_FILE = "onsets_drums.csv"
#: Version of the format written in ``song.json``.
FORMAT_VERSION = 2
#: Extensions of files that look like annotations (listed as ignored when not in the format).
ANNOTATION_LIKE = frozenset({".csv", ".tsv", ".txt", ".lab", ".json", ".jams", ".mid", ".midi"})
_TABLE_FILE = re.compile(r"^(notes|f0|onsets)_([a-z0-9][a-z0-9_]*)\.csv$")

#: Columns of the tables as written (the demo songs); midi_pitch is read as Float64.
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


def onsets_file(part: str) -> str:
    """File name of a part's onsets (``onsets_drums.csv``)."""
    return f"onsets_{part}.csv"


@dataclass
class SongAnnotations:
    """Ground truth of one track, as loaded by :func:`load_annotations`.

    Attributes
    ----------
    folder : pathlib.Path
        The song folder searched.
    metadata : dict
        Contents of ``song.json`` (empty without it).
    notes : dict[str, polars.DataFrame]
        Per part: ``onset_s, offset_s, midi_pitch`` (Float64), ``velocity`` (null when not
        given), sorted by onset then pitch.
    f0 : dict[str, polars.DataFrame]
        Per part: ``time_s, f0_hz``, f0 <= 0 unvoiced.
    onsets : dict[str, polars.DataFrame]
        Per part: ``time_s, instrument`` (null when not given), sorted by time.
    sources : dict[str, str]
        ``"<kind>/<part>"`` -> the file it was read from, relative to ``folder``.
    files_read : list of str
        Files read, relative to ``folder``.
    problems : list of str
        One line per file that could not be read, naming it.
    ignored : list of str
        Annotation-like files that match no documented name.
    """

    folder: Path
    metadata: dict = field(default_factory=dict)
    notes: dict[str, pl.DataFrame] = field(default_factory=dict)
    f0: dict[str, pl.DataFrame] = field(default_factory=dict)
    onsets: dict[str, pl.DataFrame] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    files_read: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def drum_onsets(self) -> pl.DataFrame:
        """Onsets of the ``drums`` part (no rows without them)."""
        return self.onsets.get("drums", empty_table("onsets"))

    @property
    def has_truth(self) -> bool:
        """Whether any notes, f0 or onsets were read."""
        return bool(self.notes or self.f0 or self.onsets)

    @property
    def found_any(self) -> bool:
        """Whether the folder holds anything annotation-like (read, unreadable or ignored)."""
        return bool(self.files_read or self.problems or self.ignored)

    @property
    def part_stems(self) -> dict[str, str]:
        """``song.json``'s ``part_stems``: part -> reference stem it sounds in."""
        value = self.metadata.get("part_stems", {})
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def onset_times(self, part: str) -> np.ndarray:
        """Unique sorted onset times in seconds of a part: its onsets, else its note onsets."""
        if part in self.onsets:
            times = self.onsets[part]["time_s"].to_numpy()
        else:
            times = self.notes[part]["onset_s"].to_numpy()
        return np.unique(np.round(times, 6))

    def source(self, kind: str, part: str) -> str:
        """The file (relative to the song folder) that gave ``kind`` of ``part``."""
        return self.sources[f"{kind}/{part}"]

    def status(self) -> str:
        """One line: what was read, or ``none readable in <folder>`` (with why, briefly)."""
        if self.has_truth:
            keys = [key.split("/", 1) for key in self.sources]
            parts = sorted({part for kind, part in keys if kind != "metadata"})
            line = f"read {len(self.files_read)} files in {self.folder}: {', '.join(parts)}"
        else:
            line = f"none readable in {self.folder}"
        if self.problems:
            line += f"; {len(self.problems)} unreadable"
        if self.ignored:
            line += f"; ignored (not in the format): {', '.join(self.ignored)}"
        return line


def annotations_folder(song_dir: Path) -> Path:
    """The ``annotations/`` subfolder of a song folder."""
    return Path(song_dir) / ANNOTATIONS_DIR


def song_folder(mixture_path: str | Path) -> Path | None:
    """The song folder whose annotations belong to the track at ``mixture_path``: its folder
    when the file is a MUSDB18 ``mixture.<ext>``, else None (a folder of many tracks has no
    annotations of one of them)."""
    path = Path(mixture_path)
    return path.parent if path.stem == "mixture" else None


def _candidates(song_dir: Path) -> list[Path]:
    folders = [annotations_folder(song_dir), Path(song_dir)]
    return [p for d in folders if d.is_dir() for p in sorted(d.iterdir()) if p.is_file()]


def has_annotations(song_dir: Path) -> bool:
    """Whether the song folder holds a file in the annotation format (readable or not)."""
    return any(_kind_of(p) is not None for p in _candidates(song_dir))


def _kind_of(path: Path) -> tuple[str, str | None] | None:
    """``(kind, part)`` of a file by its name (kind ``metadata``, ``jams`` or a table kind)."""
    name = path.name
    if name == METADATA_FILE:
        return "metadata", None
    if match := _TABLE_FILE.match(name):
        return match.group(1), match.group(2)
    if path.suffix == ".jams":
        part = path.stem
        return "jams", part if part != "song" and PART_NAME.match(part) else None
    return None


def _read(path: Path, kind: str, part: str | None) -> list[tuple[str, str, object]]:
    """The ``(kind, part, content)`` items of one file; raises :class:`AnnotationFileError`."""
    if kind == "metadata":
        try:
            metadata = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AnnotationFileError(f"not JSON ({str(exc).splitlines()[0]})") from None
        if not isinstance(metadata, dict):
            raise AnnotationFileError("not a JSON object")
        return [("metadata", "", metadata)]
    if kind == "jams":
        return list(read_jams(path, part))
    return [(kind, str(part), read_csv_table(path, kind))]


def load_annotations(song_dir: Path) -> SongAnnotations:
    """Load every annotation file of one song folder (see the module for the format).

    Parameters
    ----------
    song_dir : pathlib.Path
        The song folder (the one holding ``mixture.<ext>``).

    Returns
    -------
    SongAnnotations
        What could be read, with one problem line per file that could not.

    Examples
    --------
    >>> truth = load_annotations(Path("demo/songs/demo_00"))  # doctest: +SKIP
    >>> truth.notes["chords"].columns  # doctest: +SKIP
    ['onset_s', 'offset_s', 'midi_pitch', 'velocity']
    """
    song_dir = Path(song_dir)
    truth = SongAnnotations(folder=song_dir)
    for path in _candidates(song_dir):
        name = path.relative_to(song_dir).as_posix()
        kind_part = _kind_of(path)
        if kind_part is None:
            if path.suffix.lower() in ANNOTATION_LIKE:
                truth.ignored.append(name)
            continue
        try:
            items = _read(path, *kind_part)
            for kind, part, _ in items:
                if (key := f"{kind}/{part}") in truth.sources:
                    raise AnnotationFileError(
                        f"{kind} of {part or 'the song'} already read from {truth.sources[key]}"
                    )
        except (AnnotationFileError, OSError) as exc:
            truth.problems.append(f"{name}: {exc}")
            continue
        for kind, part, content in items:
            truth.sources[f"{kind}/{part}"] = name
            if kind == "metadata":
                truth.metadata = content
            else:
                getattr(truth, kind)[part] = content
        truth.files_read.append(name)
    return truth
