"""Reading a stored output that a later step needs, and the one line a user sees when it is not
there.

A track step reads what an earlier step wrote: the track record of ``track_audio``, the stems
table of ``stems``. When that output is absent, damaged or says the track is unusable, the step
cannot do its work, and retrying it will not help: only materialising the earlier asset again
will. The exceptions here carry that as one line that names the file (or the track) and the
asset to materialise; :mod:`catalogue.store` raises them, and the Dagster layer turns them into
step failures that are not retried.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .integrity import DamagedFileError, read_checked


class OutputUnavailable(Exception):
    """An output a step reads cannot be used; ``str()`` is the one line users see.

    Attributes
    ----------
    path : Path
        The stored file concerned.
    """

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = Path(path)


class MissingOutput(OutputUnavailable):
    """The output was never written (its asset was not materialised for the track)."""


class DamagedOutput(OutputUnavailable):
    """The output exists but cannot be read (truncated, empty, not Parquet, no rows)."""


class UnusableTrack(OutputUnavailable):
    """The track record holds an error: the input is bad and nothing can be computed from it."""


def read_required(path: Path, missing: str, writer: str) -> pl.DataFrame:
    """Read a stored table that the calling step cannot do without.

    Parameters
    ----------
    path : Path
        The Parquet file.
    missing : str
        The message when there is no such file (which asset to materialise first).
    writer : str
        The asset that writes the file, named in the message when it is damaged.

    Returns
    -------
    polars.DataFrame
        The table; it has at least one row (its writer never writes an empty one).

    Raises
    ------
    MissingOutput
        ``path`` is not a file; the message is ``missing``.
    DamagedOutput
        ``path`` cannot be read or has no rows: ``<path> is <problem>; materialise <writer>
        again``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingOutput(missing, path)
    try:
        table = read_checked(path)
    except DamagedFileError as exc:
        raise DamagedOutput(f"{exc}; materialise {writer} again", path) from exc
    if table.is_empty():
        raise DamagedOutput(f"{path} is unreadable (no rows); materialise {writer} again", path)
    return table
