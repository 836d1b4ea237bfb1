"""The settings a command runs with: the configured ones, with its command line applied.

``stemline run``, ``ui`` and ``demo`` take a storage root, audio folders and (``run``, ``demo``)
a model on the command line; those override the settings from the config file and the
``STEMLINE_*`` variables (:mod:`resources.settings`), and audio folders become absolute paths so
that every process started from the command sees the same folders.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resources.settings import StemlineSettings


def command_settings(
    storage: Path | None = None, params: str | None = None, audio: list[Path] | None = None
) -> StemlineSettings:
    """The settings with ``storage`` (storage root), ``params`` (model) and ``audio`` (audio
    roots, made absolute) applied where given."""
    from resources.settings import StemlineSettings

    base = StemlineSettings.load()
    values = base.model_dump()
    if storage is not None:
        values["storage_root"] = str(storage)
    if params is not None:
        values["model"] = params
    if audio is not None:
        values["audio_roots"] = [str(Path(a).absolute()) for a in audio]
    return StemlineSettings(**values)
