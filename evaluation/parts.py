"""Which stem of a model carries an annotated part, and how a stem's notes are shared out.

Part to stem (the one mapping)
------------------------------
1. Part -> *reference stem* (the MUSDB18-style stem the part sounds in): ``song.json``'s
   ``part_stems[part]`` when given; else the part's own name when it is a stem name
   (:data:`REFERENCE_STEMS`); else ``other`` (MUSDB18 puts every other instrument there).
2. Reference stem -> stem of a model with stems ``S``: the same name when ``S`` has it; else,
   for any reference but vocals, ``other`` when ``S`` has it (a piano on a 4stems model), else
   ``accompaniment`` (2stems); else ``mixture`` when ``S`` is the unseparated track, which
   carries every part. No carrier: the part is not scored.

=============================  ==============  ==============  ========  ========  =======
part                           reference stem  2stems          4stems    5stems    mixture
=============================  ==============  ==============  ========  ========  =======
vocals                         vocals          vocals          vocals    vocals    mixture
bass                           bass            accompaniment   bass      bass      mixture
drums                          drums           accompaniment   drums     drums     mixture
piano                          piano           accompaniment   other     piano     mixture
chords (demo: in ``other``)    other           accompaniment   other     other     mixture
=============================  ==============  ==============  ========  ========  =======

Notes of a stem that carries several parts
------------------------------------------
A stem's notes table does not say which instrument played a note. When one stem carries
several annotated note parts (the 2stems accompaniment: bass and chords; the mixture: every
part), each estimated note goes to the part whose annotated pitch range (lowest to highest
reference pitch) is nearest to its pitch, a pitch inside a range being at distance 0; a note
equally near several parts (overlapping ranges) counts for each of them. Every estimated note
thus counts against some part's precision; a part without reference notes takes none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

#: Stem names a part may be called by to sound in the reference stem of that name.
REFERENCE_STEMS = ("vocals", "drums", "bass", "piano", "other")
#: The stem holding everything but the vocals in a two-stem model.
ACCOMPANIMENT = "accompaniment"
#: The unseparated track, as a stem name.
MIXTURE = "mixture"


def reference_stem(part: str, part_stems: Mapping[str, str] | None = None) -> str:
    """The reference stem ``part`` sounds in (step 1 of the module's mapping)."""
    if part_stems and part in part_stems:
        return part_stems[part]
    return part if part in REFERENCE_STEMS else "other"


def carrier_stem(
    part: str, stems: Sequence[str], part_stems: Mapping[str, str] | None = None
) -> str | None:
    """The stem of a model with ``stems`` that carries ``part`` (None: no stem does).

    Examples
    --------
    >>> carrier_stem("chords", ["vocals", "accompaniment"], {"chords": "other"})
    'accompaniment'
    >>> carrier_stem("bass", ["vocals", "drums", "bass", "other"])
    'bass'
    """
    ref = reference_stem(part, part_stems)
    if ref in stems:
        return ref
    if ref != "vocals":
        for stem in ("other", ACCOMPANIMENT):
            if stem in stems:
                return stem
    return MIXTURE if MIXTURE in stems else None


def carriers(
    parts: Sequence[str], stems: Sequence[str], part_stems: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``{part: carrier stem}`` for the parts some stem carries."""
    found = {part: carrier_stem(part, stems, part_stems) for part in parts}
    return {part: stem for part, stem in found.items() if stem is not None}


def pitch_range(notes: pl.DataFrame) -> tuple[float, float] | None:
    """Lowest and highest ``midi_pitch`` of a notes table (None without notes)."""
    if notes.is_empty():
        return None
    pitches = notes["midi_pitch"].cast(pl.Float64)
    return float(pitches.min()), float(pitches.max())


def share_notes(
    estimate: pl.DataFrame, ranges: Mapping[str, tuple[float, float]]
) -> dict[str, pl.DataFrame]:
    """Share a stem's estimated notes among parts by their reference pitch ranges.

    Parameters
    ----------
    estimate : polars.DataFrame
        Notes with a ``midi_pitch`` column.
    ranges : Mapping[str, tuple[float, float]]
        Part -> (lowest, highest) reference pitch.

    Returns
    -------
    dict[str, polars.DataFrame]
        Part -> the estimated notes nearest to its range (ties go to every tied part).

    Examples
    --------
    >>> notes = pl.DataFrame({"midi_pitch": [36, 53, 60, 64]})
    >>> shared = share_notes(notes, {"bass": (33, 52), "chords": (55, 67)})
    >>> shared["bass"]["midi_pitch"].to_list(), shared["chords"]["midi_pitch"].to_list()
    ([36, 53], [60, 64])
    """
    if not ranges:
        return {}
    pitch = estimate["midi_pitch"].cast(pl.Float64).to_numpy()
    distance = {
        part: np.maximum(0.0, np.maximum(lo - pitch, pitch - hi))
        for part, (lo, hi) in ranges.items()
    }
    nearest = np.min(np.stack(list(distance.values())), axis=0)
    return {part: estimate.filter(pl.Series(d == nearest)) for part, d in distance.items()}
