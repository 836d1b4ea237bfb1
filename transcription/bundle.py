"""All transcription-prep files of one stem: :func:`write_transcription_bundle`.

Files written into ``out_dir`` (the storage layout puts it at
``exports/transcription/<model>/<track_id>/``), each atomically:

=============================  ======================================================
file                           content
=============================  ======================================================
``<stem>.mid``                 notes as a Standard MIDI File (:mod:`.midi_file`)
``<stem>_notes.parquet``       note table with units in column names (:mod:`.note_table`)
``<stem>_<rate>hz_mono.flac``  mono stem at ``target_rate``, 16-bit FLAC (:mod:`.mono_audio`)
``<stem>.jams``                notes, pitch contour and onsets as JAMS (:mod:`.jams_file`)
=============================  ======================================================

Every stem gets the same four files. A pitched stem's notes are its ``notes`` table (pitch-track
or basic-pitch notes, chords included); the ``drums`` stem's notes are its drum hits, one General
MIDI percussion key per onset (:mod:`.drum_hits`), so its MIDI file, note table and JAMS
``note_midi`` annotation all hold the hits. The MIDI channel and program come from
:mod:`.general_midi` (``drums`` on the percussion channel 10).

A silent stem (empty tables) still gets every file: an empty MIDI track, an empty
note table, the (silent) audio and a JAMS file with empty annotations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from atomicfile import atomic_write_bytes
from transcription.drum_hits import drum_hits
from transcription.general_midi import is_percussion, program_for_stem, stem_channels
from transcription.jams_file import jams_document, write_jams
from transcription.midi_file import midi_bytes, notes_to_midi
from transcription.mono_audio import write_mono_flac
from transcription.note_table import note_table, write_note_table

DEFAULT_TARGET_RATE = 16000
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
PERCUSSION_RULES = (
    "General MIDI percussion keys (channel 10) of the stem's onsets: 36 kick, 38 snare, "
    "42 closed hi-hat, by the band holding the most energy at the onset (transcription.drum_hits)"
)


@dataclass(frozen=True)
class TranscriptionBundle:
    """The files and counts of one stem's transcription export.

    Attributes
    ----------
    track_id, stem, model : str
        Identity of the stem.
    out_dir : pathlib.Path
        Folder holding the files.
    midi_path, notes_path, audio_path, jams_path : pathlib.Path
        The four files (see :mod:`transcription.bundle`).
    duration_s : float
        Length of the source stem, seconds.
    sample_rate : int
        Rate of the mono FLAC, Hz.
    n_samples : int
        Samples in the mono FLAC.
    n_notes, n_voiced_frames, n_onsets : int
        Rows of the note table, voiced frames of the pitch table, onsets.
    midi_min, midi_max : int or None
        Lowest and highest MIDI pitch of the notes; None without notes.
    midi_channel, midi_program : int
        The stem's MIDI channel and General MIDI program, 0-based.
    percussion : bool
        Whether the notes are GM percussion hits (the ``drums`` stem).
    """

    track_id: str
    stem: str
    model: str
    out_dir: Path
    midi_path: Path
    notes_path: Path
    audio_path: Path
    jams_path: Path
    duration_s: float
    sample_rate: int
    n_samples: int
    n_notes: int
    n_voiced_frames: int
    n_onsets: int
    midi_min: int | None
    midi_max: int | None
    midi_channel: int
    midi_program: int
    percussion: bool

    @property
    def paths(self) -> dict[str, Path]:
        """The four files by kind: ``midi``, ``notes``, ``audio``, ``jams``."""
        return {
            "midi": self.midi_path,
            "notes": self.notes_path,
            "audio": self.audio_path,
            "jams": self.jams_path,
        }


def bundle_file_names(stem: str, target_rate: int = DEFAULT_TARGET_RATE) -> dict[str, str]:
    """File names of a stem's bundle by kind (``midi``, ``notes``, ``audio``, ``jams``)."""
    return {
        "midi": f"{stem}.mid",
        "notes": f"{stem}_notes.parquet",
        "audio": f"{stem}_{target_rate}hz_mono.flac",
        "jams": f"{stem}.jams",
    }


def _check_name(kind: str, value: str) -> None:
    if not SAFE_NAME.fullmatch(value):
        raise ValueError(f"{kind} {value!r} must be a plain file-name-safe token")


def _pitched_rules(notes: pl.DataFrame) -> str:
    methods = sorted(set(notes["method"].to_list())) if "method" in notes.columns else []
    made = f"; notes by {', '.join(methods)} (features.notes)" if methods else ""
    return f"MIDI note numbers (A4 = 69){made}"


def write_transcription_bundle(
    out_dir: Path,
    *,
    track_id: str,
    stem: str,
    model: str,
    audio: np.ndarray,
    sample_rate: int,
    notes: pl.DataFrame,
    pitch: pl.DataFrame,
    onsets: pl.DataFrame,
    target_rate: int = DEFAULT_TARGET_RATE,
    channel: int | None = None,
) -> TranscriptionBundle:
    """Write the MIDI, note table, mono FLAC and JAMS files of one stem.

    This is what a transcription-model training pipeline consumes: aligned audio and
    note/pitch/onset targets in standard formats, one folder per track and model.

    Parameters
    ----------
    out_dir : pathlib.Path
        Destination folder (created if missing). Existing files of the same names are
        replaced atomically.
    track_id, stem, model : str
        Identity of the stem; file-name-safe tokens (letters, digits, ``_.-``).
    audio : numpy.ndarray
        The stem, ``(n_samples,)`` or ``(n_samples, channels)`` float, full scale 1.0.
    sample_rate : int
        Rate of ``audio`` in Hz.
    notes, pitch, onsets : polars.DataFrame
        The stem's ``notes``, ``pitch`` and ``onsets`` tables from :mod:`features`
        (extra key columns are ignored); empty tables for a silent stem. The ``drums``
        stem's notes come from ``onsets`` and ``audio`` instead (:mod:`.drum_hits`).
    target_rate : int, optional
        Rate of the mono FLAC, default 16000 Hz.
    channel : int, optional
        MIDI channel (0-based) of the stem; default its own
        (:func:`~transcription.general_midi.stem_channels`). Pass the channels of all the
        track's stems so that its multi-track file (:mod:`.multitrack`) can hold them all.

    Returns
    -------
    TranscriptionBundle

    Examples
    --------
    >>> feats = extract_stem_features(audio, 44100, "vocals")  # doctest: +SKIP
    >>> write_transcription_bundle(Path("out"), track_id="ab12", stem="vocals",
    ...     model="4stems", audio=audio, sample_rate=44100, notes=feats.notes,
    ...     pitch=feats.pitch, onsets=feats.onsets)  # doctest: +SKIP
    """
    for kind, value in (("track_id", track_id), ("stem", stem), ("model", model)):
        _check_name(kind, value)
    audio = np.asarray(audio)
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    duration_s = audio.shape[0] / sample_rate
    percussion = is_percussion(stem)
    source = drum_hits(onsets, audio, sample_rate) if percussion else notes
    table = note_table(source, track_id=track_id, stem=stem, model=model)
    channel = stem_channels([stem])[stem] if channel is None else channel
    if not 0 <= channel < 16:
        raise ValueError(f"MIDI channel {channel} must lie in 0..15")
    voice = {
        "midi_channel": int(channel),
        "midi_program": program_for_stem(stem),
        "percussion": percussion,
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = bundle_file_names(stem, target_rate)
    paths = {kind: out_dir / name for kind, name in names.items()}

    # build everything that can reject the input before the first file is written
    document = jams_document(
        track_id=track_id,
        stem=stem,
        model=model,
        duration_s=duration_s,
        notes=table,
        pitch=pitch,
        onsets=onsets,
        note_rules=PERCUSSION_RULES if percussion else _pitched_rules(notes),
        sandbox=voice,
    )
    midi = notes_to_midi(
        table, stem=stem, track_name=f"{track_id} {stem} ({model})", channel=channel
    )
    n_samples = write_mono_flac(paths["audio"], audio, sample_rate, target_rate)
    write_note_table(paths["notes"], table)
    atomic_write_bytes(paths["midi"], midi_bytes(midi))
    write_jams(paths["jams"], document)
    has_notes = table.height > 0
    voiced = int(pitch["voiced"].cast(pl.Int64).sum()) if pitch.height else 0
    return TranscriptionBundle(
        track_id=track_id,
        stem=stem,
        model=model,
        out_dir=out_dir,
        midi_path=paths["midi"],
        notes_path=paths["notes"],
        audio_path=paths["audio"],
        jams_path=paths["jams"],
        duration_s=float(duration_s),
        sample_rate=int(target_rate),
        n_samples=n_samples,
        n_notes=table.height,
        n_voiced_frames=voiced,
        n_onsets=onsets.height,
        midi_min=int(table["midi_pitch"].min()) if has_notes else None,
        midi_max=int(table["midi_pitch"].max()) if has_notes else None,
        **voice,
    )
