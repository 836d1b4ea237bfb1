"""Levels in dBFS, and the one convention for digital silence in every stored level.

A level is ``20 log10(amplitude)`` with full scale 1.0 (a full-scale sine has a peak of 0 dBFS
and an RMS of -3.01 dBFS), floored at :data:`FLOOR_DBFS` = -120 dBFS: digital silence, and
anything quieter than the floor, is -120 dBFS, never ``-inf``. Every dBFS level stemline
stores follows this rule: the track record's ``peak_dbfs`` and ``rms_dbfs``
(:mod:`separation.inspection`), the stems table's (:mod:`separation.output`), and the feature
tables' frame, note and stem levels (:mod:`features.level`).

Why a floor rather than ``-inf``: the catalogue is queried with SQL, and one ``-inf`` turns
``avg`` into ``-inf`` and ``stddev`` or any difference into NaN for a whole group; CSV and JSON
have to spell it as text; and the feature tables, millions of frames, hold floored levels
anyway. -120 dBFS lies far below hearing and below the quietest sample a 16-bit file can hold
(one step is -90.3 dBFS), so a peak at the floor means digital silence for 16-bit audio, and
an RMS at the floor means silent or inaudible.

A package of numpy only, below every stemline library, so that :mod:`separation` (which does
not import the catalogue) and :mod:`features` share one definition.
"""

from __future__ import annotations

import numpy as np

#: The lowest level stored, in dBFS: the level of digital silence.
FLOOR_DBFS = -120.0
#: The amplitude (full scale 1.0) of :data:`FLOOR_DBFS`.
FLOOR_AMPLITUDE = 10 ** (FLOOR_DBFS / 20)


def to_dbfs(amplitude: np.ndarray | float) -> np.ndarray:
    """Levels in dBFS of amplitudes, element-wise, floored at :data:`FLOOR_DBFS`.

    Parameters
    ----------
    amplitude : numpy.ndarray or float
        Non-negative amplitudes (an RMS or a peak), full scale 1.0.

    Returns
    -------
    numpy.ndarray
        ``20 log10(max(amplitude, FLOOR_AMPLITUDE))`` as float64 (0-d for a scalar).

    Examples
    --------
    >>> to_dbfs([1.0, 0.1, 0.0]).tolist()
    [0.0, -20.0, -120.0]
    """
    amplitude = np.maximum(np.asarray(amplitude, dtype=np.float64), FLOOR_AMPLITUDE)
    return 20.0 * np.log10(amplitude)


def level_dbfs(amplitude: float) -> float:
    """One amplitude's level in dBFS as a Python float (:func:`to_dbfs` of a scalar).

    >>> level_dbfs(0.0)
    -120.0
    """
    return float(to_dbfs(amplitude))
