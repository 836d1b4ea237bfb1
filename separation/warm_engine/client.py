"""The client side of the warm engine: find a matching engine and run a job on it.

Imports no array or model code, so ``stemline separate`` with a warm engine starts in a
fraction of a second. :func:`find_engine` connects and compares the engine's options with
the command's; :class:`EngineJob` then runs the command's job there with the interface of
:class:`~separation.separate_job.LocalJob`, so the command reports both the same way.

What happens when the engine cannot do the job:

- no engine, a stale socket (removed), an engine with other options or other code, one that
  does not answer the handshake, or one that is stopping and turns the job away before it
  starts: nothing was sent or done, so the command separates in its own process (saying why);
- an engine that fails during the job (it crashes, the connection closes): each file of the
  job without a result fails with one line naming the engine and its log; the job is not
  silently redone in the command's process, whose stems might then differ in provenance and
  whose repeat could hide a crash that recurs.

Paths travel absolute (:meth:`pathlib.Path.absolute`, so ``{foldername}`` names the same
folder); messages coming back name each file as the user gave it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..separate_job import JobRefused, JobSpec, Outcome
from .lifecycle import EnginePaths, clean_stale
from .protocol import (
    PROTOCOL_VERSION,
    EngineOptions,
    ProtocolError,
    receive,
    send,
    stems_code_digest,
)

log = logging.getLogger("separation.cli")
#: Seconds an engine has to answer the handshake (it does so even during a job).
HANDSHAKE_TIMEOUT_S = 10.0


class EngineUnavailable(RuntimeError):
    """No engine answered on the socket; the message says why in one line."""


class EngineRefusal(RuntimeError):
    """An engine answered but refused the connection or the request (one line)."""


@dataclass
class EngineConnection:
    """A connection to an engine whose handshake succeeded; ``engine`` is its description."""

    sock: socket.socket
    engine: dict[str, Any]

    def __post_init__(self) -> None:
        self.reader = self.sock.makefile("rb")

    @property
    def pid(self) -> int:
        """The engine's process id."""
        return int(self.engine["pid"])

    @property
    def options(self) -> EngineOptions:
        """The engine's stem-deciding options."""
        return EngineOptions.from_json(self.engine["options"])

    def request(self, message: dict[str, Any]) -> None:
        """Send a request (``op``: ``status``, ``stop``, ``separate``)."""
        send(self.sock, message)

    def receive(self) -> dict[str, Any]:
        """The engine's next message."""
        return receive(self.reader)

    def close(self) -> None:
        """Close the connection."""
        self.reader.close()
        self.sock.close()


def connect(paths: EnginePaths) -> EngineConnection:
    """Connect to the engine on ``paths`` and shake hands.

    Raises
    ------
    EngineUnavailable
        Nothing listens there (a stale socket is removed first).
    EngineRefusal
        The engine refused this client (other protocol or code, other user).
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(HANDSHAKE_TIMEOUT_S)
    try:
        sock.connect(str(paths.socket))
        send(sock, {"op": "hello", "protocol": PROTOCOL_VERSION, "stems_code": stems_code_digest()})
        answer = receive(sock.makefile("rb"))
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        sock.close()
        stale = clean_stale(paths)
        raise EngineUnavailable(
            "no warm engine is running" + (" (removed its stale socket)" if stale else "")
        ) from exc
    except (OSError, ProtocolError) as exc:
        sock.close()
        raise EngineUnavailable(
            f"the warm engine on {paths.socket} does not answer: {exc}"
        ) from exc
    if not answer.get("ok"):
        sock.close()
        raise EngineRefusal(str(answer.get("error")))
    sock.settimeout(None)
    return EngineConnection(sock, answer["engine"])


def ask(paths: EnginePaths, op: str) -> dict[str, Any]:
    """Send ``status`` or ``stop`` to the engine on ``paths``; its description."""
    conn = connect(paths)
    try:
        conn.request({"op": op})
        answer = conn.receive()
    finally:
        conn.close()
    if not answer.get("ok"):
        raise EngineRefusal(str(answer.get("error")))
    return answer["engine"]


def find_engine(paths: EnginePaths, wanted: EngineOptions) -> tuple[EngineConnection | None, str]:
    """A connection to an engine giving ``wanted``'s stems, or ``None`` and why not."""
    try:
        conn = connect(paths)
    except (EngineUnavailable, EngineRefusal) as exc:
        return None, str(exc)
    why = wanted.mismatch(conn.options, str(conn.engine["device"]))
    if why is None and conn.engine.get("stems_code") != stems_code_digest():
        why = (
            f"it runs other stemline separation code ({conn.engine.get('stems_code')}, this "
            f"command {stems_code_digest()}); restart it (stemline engine stop, then start)"
        )
    if why is None:
        return conn, f"using the warm engine (pid {conn.pid}, {conn.options.describe()})"
    conn.close()
    return None, f"the warm engine (pid {conn.pid}) does not match: {why}"


class EngineJob:
    """A ``separate`` job run by an engine, with :class:`LocalJob`'s interface.

    Raises :class:`EngineUnavailable` from :meth:`plan` when the engine turns the job away
    before starting it (it is stopping): the caller may then run it in its own process.
    """

    def __init__(self, conn: EngineConnection, spec: JobSpec) -> None:
        self.conn = conn
        self.spec = spec
        self._given = {str(path.absolute()): path for path in spec.files}

    def _path(self, sent: str) -> Path:
        return self._given[sent]

    def _as_given(self, message: str) -> str:
        """``message`` naming each file as the user gave it, not as it was sent."""
        for sent in sorted(self._given, key=len, reverse=True):
            message = message.replace(sent, str(self._given[sent]))
        return message

    def _broken(self, path: Path, exc: Exception) -> str:
        return (
            f"{path}: the warm engine (pid {self.conn.pid}) failed during this job ({exc}); "
            f"see {self.conn.engine['log']}"
        )

    def plan(self) -> tuple[dict[Path, float], dict[Path, str]]:
        """Send the job and wait for its plan (see :meth:`LocalJob.plan`)."""
        sent = replace(
            self.spec,
            files=tuple(path.absolute() for path in self.spec.files),  # duplicates included
            output=self.spec.output.absolute(),
        )
        try:
            self.conn.request({"op": "separate", "job": sent.to_json()})
            while True:
                event = self.conn.receive()
                kind = event.get("event")
                if kind == "queued":
                    log.info("the warm engine is busy; this job waits for the current one")
                elif kind == "unavailable":
                    self.conn.close()
                    raise EngineUnavailable(str(event.get("message")))
                elif kind == "refused":
                    raise JobRefused(self._as_given(str(event["message"])))
                elif kind == "planned":
                    break
                else:
                    raise ProtocolError(f"unexpected event {kind!r}")
        except (OSError, ProtocolError) as exc:
            return {}, {path: self._broken(path, exc) for path in self.spec.files}
        durations = {self._path(p): float(s) for p, s in event["durations"].items()}
        failures = {self._path(p): self._as_given(m) for p, m in event["failures"].items()}
        return durations, failures

    def load(self) -> None:
        """Nothing to load: the engine's model is loaded."""

    def results(
        self, todo: list[Path], progress_for: Callable[[Path], Any]
    ) -> Iterator[tuple[Path, Outcome]]:
        """The engine's outcome of each file of ``todo`` as it ends (see :class:`LocalJob`)."""
        pending = list(todo)
        progress: dict[Path, Any] = {}
        try:
            while pending:
                event = self.conn.receive()
                kind = event.get("event")
                if kind == "progress":
                    path = self._path(event["file"])
                    if path not in progress:
                        progress[path] = progress_for(path)
                    if progress[path] is not None:
                        progress[path](int(event["done"]), int(event["n"]))
                    continue
                if kind not in ("result", "failed"):
                    raise ProtocolError(f"unexpected event {kind!r}")
                path = self._path(event["file"])
                pending.remove(path)
                yield path, self._outcome(event)
            self.conn.receive()  # "done": the engine logs the job as complete
        except (OSError, ProtocolError, KeyError, ValueError) as exc:
            for path in pending:
                yield path, Outcome(message=self._broken(path, exc))
        finally:
            with contextlib.suppress(OSError):
                self.conn.close()

    def _outcome(self, event: dict[str, Any]) -> Outcome:
        if event["event"] == "result":
            return Outcome(
                stems={inst: Path(p) for inst, p in event["stems"].items()},
                clipped_samples={inst: int(n) for inst, n in event["clipped"].items()},
            )
        note = None
        if event.get("traceback"):
            note = f"its traceback is in the warm engine's log {self.conn.engine['log']}"
        return Outcome(message=self._as_given(str(event["message"])), note=note)
