"""Whether a stem's features cover the whole stem.

A stem's summary must span its duration within :data:`COVER_TOLERANCE_S`, and its pitch table
(absent for a stem judged silent, which has no melody to track) must hold one frame per hop of
the shared grid (:mod:`features.grid`, 100 frames/s) for that duration, within two frames plus
the same tolerance: none too few (features cut short) and none too many (a wrong grid).
"""

from __future__ import annotations

import polars as pl

from features.grid import ANALYSIS_SAMPLE_RATE, HOP_SIZE

#: How far, in seconds, the features may fall short of (or run past) the stem's duration.
COVER_TOLERANCE_S = 0.05
#: Frames per second of the shared grid.
FRAMES_PER_S = ANALYSIS_SAMPLE_RATE // HOP_SIZE


def coverage_problems(
    duration_s: float, summary: pl.DataFrame, pitch: pl.DataFrame | None
) -> list[str]:
    """What the features of one stem fail to cover, one line per problem.

    Parameters
    ----------
    duration_s : float
        The stem's duration in seconds.
    summary : polars.DataFrame
        The stem's one-row summary table (``duration_s`` in seconds).
    pitch : polars.DataFrame or None
        The stem's pitch table (one row per frame), or None for a silent stem.

    Returns
    -------
    list of str
        Empty when the features cover the stem.
    """
    problems = []
    covered = summary["duration_s"][0]
    if abs(covered - duration_s) > COVER_TOLERANCE_S:
        problems.append(f"summary covers {covered:.2f} s of {duration_s:.2f} s")
    if pitch is not None:
        expected = duration_s * FRAMES_PER_S
        if abs(pitch.height - expected) > 2 + COVER_TOLERANCE_S * FRAMES_PER_S:
            problems.append(f"{pitch.height} pitch frames for {duration_s:.2f} s")
    return problems
