"""Which track the dataset report draws: the one whose vocals are sung the most.

The report's example plots (stem spectrograms, vocal pitch contour) only help when the vocal
stem holds a voice; the most recently separated track is often an instrumental, whose vocal
spectrogram is black and whose contour has no voiced frame. :func:`choose_example_track` reads
the catalogue's ``stem_summaries`` and picks, among decoded (``ok``) tracks separated with the
model, the one whose non-silent ``vocals`` stem has the highest ``voiced_ratio`` (tracks whose
input is still present first; ties: the most recently separated, then the path). When no track
has voiced vocals it falls back to the most recently separated track and says so in
:attr:`ExampleTrack.reason`.

Tracks are named by their path (shortened from the left for titles) and the first 8 hex digits
of their id, so a reader can find the file. :meth:`ExampleTrack.metadata` rounds every number
(ratios to 3 decimals, seconds and dB to 1), so asset metadata never shows Float32 noise such as
``0.35660800337791443``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from catalogue.layout import check_name, check_track_id

#: Vocal stems with a smaller share of voiced frames count as having no voiced vocals.
MIN_VOICED_RATIO = 0.01
#: Longest path shown in a plot title; longer paths keep their end (the file and its folders).
TITLE_PATH_CHARS = 70


@dataclass(frozen=True)
class ExampleTrack:
    """The track drawn by the report, and why it was chosen.

    Attributes
    ----------
    track_id : str
        Track id (hex digest prefix).
    path : str
        The track's first input path.
    model : str
        Model folder name (``2stems``).
    voiced_ratio : float or None
        Share of voiced frames of the track's ``vocals`` stem (0..1); ``None`` when the
        stem has no summary (not analysed yet, or the model has no ``vocals`` stem).
    vocals_silent : bool or None
        Whether the ``vocals`` stem was recognised as silent; ``None`` as above.
    duration_s : float or None
        Duration of the decoded track, seconds.
    reason : str
        One sentence saying why this track is shown.
    """

    track_id: str
    path: str
    model: str
    voiced_ratio: float | None
    vocals_silent: bool | None
    duration_s: float | None
    reason: str

    @property
    def has_voiced_vocals(self) -> bool:
        """Whether the vocal stem is non-silent with voiced frames."""
        return voiced(self.voiced_ratio, self.vocals_silent)

    @property
    def label(self) -> str:
        """``…/album/song.wav (ab12cd34)``: the path, shortened for titles, and the id prefix."""
        path = self.path
        if len(path) > TITLE_PATH_CHARS:
            path = "…" + path[-(TITLE_PATH_CHARS - 1) :]
        return f"{path} ({self.track_id[:8]})"

    def title(self, what: str) -> str:
        """A plot title naming the track: ``<label> — <what>``."""
        return f"{self.label} — {what}"

    def metadata(self) -> dict[str, str | float | None]:
        """Dagster-ready metadata of the example, every number rounded."""
        return {
            "example_track": self.path,
            "example_track_id": self.track_id,
            "example_vocal_voiced_ratio": rounded(self.voiced_ratio, 3),
            "example_duration_s": rounded(self.duration_s, 1),
        }


def voiced(voiced_ratio: float | None, silent: bool | None) -> bool:
    """Whether a vocal stem summary counts as voiced vocals."""
    return silent is False and voiced_ratio is not None and voiced_ratio >= MIN_VOICED_RATIO


def rounded(value: float | None, digits: int) -> float | None:
    """``value`` rounded to ``digits`` decimals as a plain float; ``None`` and NaN stay ``None``.

    Examples
    --------
    >>> rounded(0.30000001192092896, 3), rounded(None, 1)
    (0.3, None)
    """
    if value is None or value != value:
        return None
    return round(float(value), digits)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def choose_example_track(root: Path, model: str) -> ExampleTrack | None:
    """The track the dataset report should draw, or ``None`` if none is separated.

    Parameters
    ----------
    root : pathlib.Path
        Storage root of the catalogue.
    model : str
        Model folder name (``2stems``); only tracks with stems of this model count.

    Returns
    -------
    ExampleTrack or None
        The decoded track with the most voiced vocals (present inputs before removed ones);
        if none has voiced vocals, the most recently separated decoded track (its ``reason``
        says that no track has voiced vocals).
    """
    from catalogue.query import run_query  # DuckDB and the catalogue schema: only when used

    model_sql = _sql_string(check_name(model))
    rows = run_query(
        Path(root),
        f"""
        WITH separated AS (
            SELECT track_id, max(written_at) AS written_at
            FROM stem_files WHERE model = {model_sql} GROUP BY track_id)
        SELECT s.track_id, t.path, t.duration_s, v.voiced_ratio::DOUBLE AS voiced_ratio,
               v.is_silent, coalesce(t.removed, false) AS removed
        FROM separated s
        JOIN tracks t USING (track_id)
        LEFT JOIN stem_summaries v
            ON v.track_id = s.track_id AND v.model = {model_sql} AND v.stem = 'vocals'
        WHERE t.status = 'ok'
        ORDER BY (NOT coalesce(v.is_silent, true)
                  AND coalesce(v.voiced_ratio, 0) >= {MIN_VOICED_RATIO}) DESC,
                 removed, v.voiced_ratio DESC NULLS LAST, s.written_at DESC NULLS LAST, t.path
        LIMIT 1""",
    )
    if rows.is_empty():
        return None
    row = rows.row(0, named=True)
    ratio, silent = row["voiced_ratio"], row["is_silent"]
    if voiced(ratio, silent):
        reason = (
            f"the separated track with the most voiced vocals "
            f"(voiced in {100 * ratio:.0f}% of frames)"
        )
    else:
        state = "not analysed" if silent is None else "silent" if silent else "unvoiced"
        reason = (
            "no separated track has voiced vocals; showing the most recently separated "
            f"track (its vocal stem is {state})"
        )
    if row["removed"]:
        reason += "; its input file is gone, its stems are kept"
    return ExampleTrack(
        track_id=check_track_id(row["track_id"]),
        path=row["path"],
        model=model,
        voiced_ratio=ratio,
        vocals_silent=silent,
        duration_s=row["duration_s"],
        reason=reason,
    )
