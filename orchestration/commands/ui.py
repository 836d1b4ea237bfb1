"""``stemline ui``: the Dagster UI and daemon on this project, with the folder sensor on.

:func:`ui_command` builds the ``dagster dev`` command line and the environment of its processes
without starting anything (so it can be tested); :func:`run_ui` checks the ``--storage`` and
``--audio-root`` folders, prints where storage is, where the UI answers and what the folder
sensor scans, and replaces this process with ``dagster dev``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import command_settings

if TYPE_CHECKING:
    from resources.settings import StemlineSettings

#: How often the folder sensor scans (``orchestration.sensors.SENSOR_INTERVAL_S``, repeated here
#: so that ``stemline ui --help`` does not import Dagster; a test keeps the two equal).
SENSOR_INTERVAL_S = 10


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``ui`` to the ``stemline`` parser."""
    ui = sub.add_parser(
        "ui",
        help="start the Dagster UI on this project",
        description="Start `dagster dev` (web UI and daemon) on stemline's assets. The folder "
        f"sensor is on by default: every {SENSOR_INTERVAL_S} s it scans the audio roots, adds a "
        "partition and requests a run for each new or changed track.",
    )
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument(
        "--storage",
        type=Path,
        default=None,
        metavar="DIR",
        help="storage root, an existing folder (default: the storage_root setting, ./data)",
    )
    ui.add_argument(
        "--audio-root",
        dest="audio_roots",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="folder the sensor watches (repeatable; default: the audio_roots setting)",
    )
    ui.set_defaults(func=run_ui)


@dataclass(frozen=True)
class UiCommand:
    """What ``stemline ui`` executes: ``dagster dev`` and the environment of its processes.

    Attributes
    ----------
    argv : list of str
        The command line (``python -m dagster dev -w workspace.yaml -h HOST -p PORT``).
    env : dict of str to str
        This process's environment with ``STEMLINE_STORAGE_ROOT`` and ``STEMLINE_AUDIO_ROOTS``
        (``os.pathsep``-separated) set to absolute paths, so the webserver, the daemon, the
        code server and every run see the same settings whatever their working directory.
    settings : StemlineSettings
        The settings those processes will read.
    url : str
        Where the UI answers.
    """

    argv: list[str]
    env: dict[str, str]
    settings: StemlineSettings
    url: str

    def startup_lines(self) -> list[str]:
        """What ``stemline ui`` prints before starting: storage, UI address, the sensor."""
        roots = [Path(r) for r in self.settings.audio_roots]
        lines = [f"storage: {self.settings.layout.root}; UI: {self.url}"]
        if roots:
            shown = ", ".join(f"{r}{'' if r.is_dir() else ' (missing)'}" for r in roots)
            lines.append(
                f"folder sensor audio_folder_sensor is on (stop it under Automation): every "
                f"{SENSOR_INTERVAL_S} s it scans {shown}, adds a partition and requests a run "
                "for each new or changed track"
            )
        else:
            lines.append(
                "folder sensor audio_folder_sensor is on but no audio roots are configured, so "
                "it scans nothing (give --audio-root DIR or set STEMLINE_AUDIO_ROOTS)"
            )
        return lines


def ui_folder_error(storage: Path | None, audio_roots: list[Path] | None) -> str | None:
    """The one-line problem with ``--storage`` / ``--audio-root`` folders, or ``None``."""
    named = [("--storage", storage)] if storage is not None else []
    named += [("--audio-root", root) for root in audio_roots or []]
    for option, folder in named:
        if not folder.exists():
            return f"{option} {folder}: no such folder"
        if not folder.is_dir():
            return f"{option} {folder}: not a folder"
    return None


def ui_command(
    host: str, port: int, storage: Path | None, audio_roots: list[Path] | None
) -> UiCommand:
    """The ``dagster dev`` command and environment of ``stemline ui``; starts nothing.

    ``storage`` and ``audio_roots`` override the settings (config file, ``STEMLINE_*``
    variables) where given; the resulting storage root and audio roots are passed on as
    absolute paths.
    """
    settings = command_settings(storage, None, audio_roots)
    workspace = Path(__file__).resolve().parents[2] / "workspace.yaml"
    argv = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace)]
    argv += ["-h", host, "-p", str(port)]
    env = dict(os.environ)
    env["STEMLINE_STORAGE_ROOT"] = str(settings.layout.root)
    env["STEMLINE_AUDIO_ROOTS"] = os.pathsep.join(
        str(Path(r).absolute()) for r in settings.audio_roots
    )
    return UiCommand(argv, env, settings, f"http://{host}:{port}")


def run_ui(args: argparse.Namespace) -> int:
    """``stemline ui``: ``dagster dev`` on workspace.yaml with stemline's instance."""
    problem = ui_folder_error(args.storage, args.audio_roots)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from orchestration.instance import ensure_dagster_home

    command = ui_command(args.host, args.port, args.storage, args.audio_roots)
    home = ensure_dagster_home(command.settings)
    for line in [*command.startup_lines(), f"DAGSTER_HOME={home}"]:
        print(line, file=sys.stderr)
    sys.stderr.flush()
    os.execve(sys.executable, command.argv, {**command.env, "DAGSTER_HOME": str(home)})
    return 0  # not reached
