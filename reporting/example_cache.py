"""The dataset report's drawn example, kept until what it was drawn from changes.

Drawing the example (two figures, four catalogue queries over every track's files) is most of
the report's time, and the example rarely changes: a run that adds a track whose vocals are
less voiced keeps the same example. :func:`example_fingerprint` digests everything the drawn
section depends on -- the chosen track and why (:class:`~reporting.example_track.ExampleTrack`),
the window length, the size and modification time of the track's stem files, its stem table and
its vocal pitch and note tables, and the source of the modules that draw it -- and the section
is stored with its fingerprint in ``<root>/reports/example-<model>.json``
(:func:`example_cache_path`, written atomically). :func:`read_cached` gives the stored section
back only when the fingerprint matches; a missing, unreadable or outdated file means drawing
again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from atomicfile import atomic_write_bytes
from catalogue.layout import StorageLayout, check_name
from reporting.example_track import ExampleTrack

#: The modules whose code shapes the drawn section: a change to any redraws it.
DRAWING_MODULES = (
    "example_plots.py",
    "example_track.py",
    "figure_png.py",
    "markdown.py",
    "pitch_axis.py",
    "pitch_contour.py",
    "spectrogram.py",
    "stem_spectrograms.py",
)


def example_cache_path(root: Path, model: str) -> Path:
    """Where the drawn example of ``model`` is kept under the storage root ``root``."""
    return Path(root) / "reports" / f"example-{check_name(model)}.json"


def _file_state(path: Path) -> list[Any]:
    """``[name, size, mtime_ns]`` of a file, ``[name, None, None]`` if it is missing."""
    try:
        stat = path.stat()
    except OSError:
        return [str(path), None, None]
    return [str(path), stat.st_size, stat.st_mtime_ns]


def _drawing_code() -> str:
    """Digest of the source of :data:`DRAWING_MODULES` and of matplotlib's version."""
    from importlib.metadata import version

    digest = hashlib.sha256(version("matplotlib").encode())
    here = Path(__file__).parent
    for name in DRAWING_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def example_fingerprint(root: Path, model: str, example: ExampleTrack, max_seconds: float) -> str:
    """Digest of everything the drawn example section of ``example`` depends on.

    Parameters
    ----------
    root : pathlib.Path
        Storage root.
    model : str
        Model folder name (``2stems``).
    example : ExampleTrack
        The chosen track, with the reason it was chosen.
    max_seconds : float
        Length of the drawn window, seconds.

    Returns
    -------
    str
        Hex SHA-256 of the example, the window, the state (size, modification time) of the
        track's stem files, stem table, vocal pitch and note tables, and the drawing code.
    """
    layout = StorageLayout(Path(root))
    stems_dir = layout.stems_dir(model, example.track_id)
    stem_files = sorted(
        path for path in (stems_dir.iterdir() if stems_dir.is_dir() else ()) if path.name[0] != "."
    )
    tables = [
        layout.features(kind, example.track_id, model, "vocals") for kind in ("pitch", "notes")
    ]
    state = {
        "example": asdict(example),
        "max_seconds": max_seconds,
        "files": [_file_state(path) for path in [*stem_files, *tables]],
        "code": _drawing_code(),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def read_cached(path: Path, fingerprint: str) -> dict[str, Any] | None:
    """The section stored at ``path`` if it was drawn from inputs with this ``fingerprint``,
    else ``None`` (no file, an unreadable one, or other inputs)."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("fingerprint") != fingerprint:
        return None
    return stored.get("section") if isinstance(stored.get("section"), dict) else None


def write_cached(path: Path, fingerprint: str, section: dict[str, Any]) -> None:
    """Store ``section`` (JSON-ready) at ``path`` with the ``fingerprint`` of its inputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"fingerprint": fingerprint, "section": section}
    atomic_write_bytes(path, json.dumps(data).encode())
