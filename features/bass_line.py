"""The bass line of a polyphonic stem's notes: one note at a time in the bass register.

A stem that carries the bass among other instruments (a 2-stem ``accompaniment``, the
unseparated mixture) gets polyphonic notes from basic-pitch (:mod:`features.basic_pitch_notes`),
and in the bass register these are more than the bass line: the network also lights a bass
note's octave, twelfth or sub-octave, and a kick drum's pitched thump, as quieter notes of their
own, at the same time as the bass note. A bass line plays one note at a time, so in the register
:func:`bass_line` keeps a monophonic line by salience:

1. Notes below ``top_midi`` (the register) are taken in order of decreasing ``velocity``
   (basic-pitch's mean note probability: how sure the network is of the note).
2. A note is kept unless it overlaps a kept note by more than ``overlap`` of the shorter of the
   two (a bass line's legato notes overlap a little; an octave ghost or a kick drum under a
   bass note lies almost wholly inside it).

Notes at or above ``top_midi`` are untouched (chords, melody). The rule picks the most
salient note, not the lowest: the lowest is often the kick drum or a sub-octave error.
"""

from __future__ import annotations

import numpy as np
import polars as pl

#: Top of the bass register, exclusive: G3, the 12th fret of a bass guitar's G string.
BASS_REGISTER_TOP_MIDI = 55
#: Share of the shorter note two bass-register notes may overlap and both stay.
MAX_OVERLAP = 0.5


def bass_line(
    notes: pl.DataFrame, top_midi: int = BASS_REGISTER_TOP_MIDI, overlap: float = MAX_OVERLAP
) -> pl.DataFrame:
    """``notes`` with the bass register reduced to a monophonic line (see the module).

    Parameters
    ----------
    notes : polars.DataFrame
        A ``notes`` table (:mod:`features.notes`).
    top_midi : int
        Notes below this MIDI pitch form the bass register.
    overlap : float
        Largest share of the shorter note that two kept register notes may overlap.

    Returns
    -------
    polars.DataFrame
        The kept notes, sorted by onset and pitch.

    Examples
    --------
    >>> from features.notes import NOTE_SCHEMA
    >>> notes = pl.DataFrame(
    ...     {"onset_s": [0.0, 0.0, 0.0], "offset_s": [1.0, 0.9, 1.0], "midi_pitch": [40, 52, 64],
    ...      "f0_mean_hz": [82.4, 164.8, 329.6], "rms_dbfs": [-20.0] * 3,
    ...      "velocity": [90, 45, 80], "method": ["basic_pitch"] * 3}, schema=NOTE_SCHEMA)
    >>> bass_line(notes)["midi_pitch"].to_list()  # the octave ghost 52 goes
    [40, 64]
    """
    low = notes["midi_pitch"].to_numpy() < top_midi
    if low.sum() < 2:
        return notes
    register = notes.filter(pl.Series(low))
    onset = register["onset_s"].to_numpy()
    offset = register["offset_s"].to_numpy()
    length = offset - onset
    kept: list[int] = []
    for i in np.argsort(-register["velocity"].to_numpy(), kind="stable"):
        shared = np.minimum(offset[i], offset[kept]) - np.maximum(onset[i], onset[kept])
        if np.all(shared <= overlap * np.minimum(length[i], length[kept])):
            kept.append(int(i))
    keep = np.zeros(register.height, dtype=bool)
    keep[kept] = True
    return pl.concat([register.filter(pl.Series(keep)), notes.filter(pl.Series(~low))]).sort(
        "onset_s", "midi_pitch"
    )
