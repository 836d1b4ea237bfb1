"""Where a warm engine lives and how it is started, found and cleaned up.

An engine is a socket file, a pid file and a log file side by side (:class:`EnginePaths`).
The default socket is ``$XDG_RUNTIME_DIR/stemline/engine.sock`` (a per-user, memory-backed
folder on systemd hosts), else ``$XDG_CACHE_HOME/stemline/engine/engine.sock``
(``~/.cache``); ``STEMLINE_ENGINE_SOCKET`` or ``--socket`` name another. The folder is created
private (0700) and the socket is 0600, so no other user can connect.

:func:`spawn` starts ``python -m separation.warm_engine`` in a new session (detached from the
terminal, its output appended to the log), and :func:`wait_until_ready` waits for it to
answer. A socket whose engine is gone (nothing listening, pid dead) is stale:
:func:`clean_stale` removes it and its pid file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atomicfile import process_alive

from .protocol import UNIX_PATH_MAX

SOCKET_ENV = "STEMLINE_ENGINE_SOCKET"
SOCKET_NAME = "engine.sock"
#: Seconds without a job after which an engine exits by itself (``--idle-timeout``).
DEFAULT_IDLE_TIMEOUT_S = 30 * 60


class EngineStartError(RuntimeError):
    """An engine could not be started; the message is one line and names the log."""


@dataclass(frozen=True)
class EnginePaths:
    """The socket of an engine and, beside it, its pid file and log."""

    socket: Path

    @property
    def pid_file(self) -> Path:
        """The engine's process id, written when it starts, removed when it exits."""
        return self.socket.with_name(self.socket.name + ".pid")

    @property
    def log(self) -> Path:
        """Everything the engine prints, appended run after run."""
        return self.socket.with_name(self.socket.name + ".log")

    def check(self) -> None:
        """Refuse a socket path the kernel cannot bind (:data:`UNIX_PATH_MAX`)."""
        if len(os.fsencode(self.socket)) >= UNIX_PATH_MAX:
            raise EngineStartError(
                f"socket path {self.socket} is longer than {UNIX_PATH_MAX - 1} bytes; "
                "choose a shorter one (--socket)"
            )


def default_socket() -> Path:
    """``STEMLINE_ENGINE_SOCKET``, else the per-user default described above."""
    if os.environ.get(SOCKET_ENV):
        return Path(os.environ[SOCKET_ENV]).absolute()
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime, "stemline", SOCKET_NAME)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache, "stemline", "engine", SOCKET_NAME)


def engine_paths(socket_path: str | Path | None = None) -> EnginePaths:
    """The paths of the engine on ``socket_path`` (default: :func:`default_socket`)."""
    return EnginePaths(default_socket() if socket_path is None else Path(socket_path).absolute())


def read_pid(paths: EnginePaths) -> int | None:
    """The pid in the pid file, ``None`` when there is no readable one."""
    try:
        return int(paths.pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def engine_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a running warm engine (a reused pid of another program is not)."""
    if pid is None or pid <= 0:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: trust the pid
        return process_alive(pid)
    return b"separation.warm_engine" in cmdline


def listening(paths: EnginePaths) -> bool:
    """Whether something accepts connections on the socket."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(paths.socket))
        except OSError:
            return False
    return True


def clean_stale(paths: EnginePaths) -> bool:
    """Remove the socket and pid file of an engine that is gone; whether there were any.

    Nothing is removed while the pid file's engine runs (it may still be loading its model)
    or something listens on the socket.
    """
    if engine_alive(read_pid(paths)) or listening(paths):
        return False
    removed = False
    for path in (paths.socket, paths.pid_file):
        try:
            path.unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed


def private_folder(paths: EnginePaths) -> None:
    """Create the socket's folder, readable by this user only when stemline creates it."""
    paths.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def spawn(paths: EnginePaths, settings: dict[str, Any], *, verbose: bool = False) -> int:
    """Start an engine in the background (a new session, output to the log); its pid.

    ``settings`` are :func:`separation.warm_engine.server.serve`'s keyword arguments as JSON
    values; the engine writes its pid file itself.
    """
    paths.check()
    private_folder(paths)
    command = [
        sys.executable, "-m", "separation.warm_engine",
        "--socket", str(paths.socket), "--settings", json.dumps(settings),
    ]  # fmt: skip
    if verbose:
        command.append("--verbose")
    with open(paths.log, "ab") as log:
        os.chmod(paths.log, 0o600)
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd="/",
        )  # fmt: skip
    return process.pid


def wait_until_ready(paths: EnginePaths, pid: int, timeout_s: float, poll_s: float = 0.1) -> float:
    """Wait until the engine ``pid`` accepts connections; the seconds it took.

    Raises :class:`EngineStartError` when it exits first or ``timeout_s`` passes.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if listening(paths) and read_pid(paths) == pid:
            return time.monotonic() - started
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = pid if not engine_alive(pid) else 0
        if finished:
            raise EngineStartError(f"the engine exited while starting; see {paths.log}")
        time.sleep(poll_s)
    raise EngineStartError(f"the engine did not answer within {timeout_s:.0f} s; see {paths.log}")
