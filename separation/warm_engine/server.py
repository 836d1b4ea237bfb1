"""The warm engine's server: one loaded :class:`~separation.Separator`, jobs over a socket.

:class:`EngineServer` listens on a Unix domain socket (mode 0600; a peer of another user is
refused) and answers each connection in its own thread. Jobs run one at a time, in the order
they take the job lock; a status request is answered at once, even during a job. A
``separate`` request (``{"op": "separate", "job": JobSpec.to_json()}``, absolute paths) runs
:class:`~separation.separate_job.LocalJob` on the loaded separator, the code path of an
in-process ``stemline separate``, and answers with events:

- ``queued``: another job runs; this one waits for it;
- ``unavailable`` (``message``): the engine is stopping and did not start this job;
- ``refused`` (``message``): the batch as a whole is refused (exit status 2), nothing written;
- ``planned`` (``durations``, ``failures``: by file): the inputs were probed;
- ``progress`` (``file``, ``done``, ``n``): a file's segments separated so far;
- ``result`` (``file``, ``stems``, ``clipped``) or ``failed`` (``file``, ``message``,
  ``traceback``: whether the engine's log holds one): a file ended;
- ``done``: the job ended.

A ``separate_tracks`` request (a pipeline run's tracks, each into its own folder) runs on the
same lock; :mod:`separation.warm_engine.track_jobs` lists its events.

A client that goes away mid-job cancels it: the progress of each of its files raises, so each
stops at its next segment and leaves nothing half-written. ``stop`` (or SIGTERM) stops
accepting connections, lets the current job finish, turns queued jobs away with
``unavailable`` and exits; so does an engine that has had no job for its idle timeout. On exit
the socket and pid file are removed (only if they are still this engine's).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..separate_job import JobRefused, JobSpec, LocalJob
from .connection import ClientGone, Connection, peer_uid, progress_sender
from .lifecycle import EnginePaths, listening
from .protocol import PROTOCOL_VERSION, EngineOptions, ProtocolError, receive
from .track_jobs import serve_tracks

if TYPE_CHECKING:
    from ..separator import Separator

log = logging.getLogger("separation.warm_engine")
#: Requests that separate (refused to a client running other separation code).
SEPARATING = ("separate", "separate_tracks")


class EngineServer:
    """Serve ``separate``, ``status`` and ``stop`` requests with one loaded separator.

    Parameters
    ----------
    paths : EnginePaths
        The socket to listen on, the pid file and the log.
    separator : Separator
        The loaded separator every job runs on.
    options : EngineOptions
        Its stem-deciding options, which clients compare with theirs.
    idle_timeout_s : float
        Seconds without a job after which the engine exits.
    stems_code : str
        :func:`~separation.warm_engine.protocol.stems_code_digest` of this engine's code.
    """

    def __init__(
        self, paths: EnginePaths, separator: Separator, options: EngineOptions,
        idle_timeout_s: float, stems_code: str,
    ) -> None:  # fmt: skip
        self.paths = paths
        self.separator = separator
        self.options = options
        self.idle_timeout_s = idle_timeout_s
        self.stems_code = stems_code
        self.started = time.time()
        self.jobs_served = 0
        self.files_separated = 0
        self._job_lock = threading.Lock()
        self._state = threading.Lock()
        self._stopping = threading.Event()
        self._busy = 0
        self._last_job = time.monotonic()

    def description(self) -> dict[str, Any]:
        """What ``status`` and the handshake tell clients."""
        return {
            "pid": os.getpid(), "options": self.options.to_json(),
            "device": self.separator.device.kind, "batch_tracks": self.separator.batch_tracks,
            "chunk_segments": self.separator.chunk_segments,
            "checkpoint_sha256": self.separator.model_files.checkpoint_sha256,
            "socket": str(self.paths.socket), "log": str(self.paths.log),
            "started": self.started, "uptime_s": time.time() - self.started,
            "jobs_served": self.jobs_served, "files_separated": self.files_separated,
            "busy": self._busy, "idle_timeout_s": self.idle_timeout_s,
            "stopping": self._stopping.is_set(), "stems_code": self.stems_code,
        }  # fmt: skip

    def stop(self, *_: object) -> None:
        """Finish the current job, then exit (also the SIGTERM and SIGINT handler)."""
        self._stopping.set()

    def serve_forever(self) -> None:
        """Listen until stopped or idle, then wait for the current job and clean up."""
        listener = self._bind()
        identity = os.stat(self.paths.socket).st_ino
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self.stop)
        log.info("ready on %s (pid %d, %s)", self.paths.socket, os.getpid(), self.options.model)
        try:
            while not self._stopping.is_set() and not self._idle():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        finally:
            listener.close()
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.paths.socket).st_ino == identity:
                    self.paths.socket.unlink()
            self._stopping.set()
            while self._busy:
                time.sleep(0.05)
            with contextlib.suppress(OSError):
                if self.paths.pid_file.read_text().split()[0] == str(os.getpid()):
                    self.paths.pid_file.unlink()
        log.info("stopped after %d jobs (%d files)", self.jobs_served, self.files_separated)

    def _idle(self) -> bool:
        with self._state:
            idle = not self._busy and time.monotonic() - self._last_job > self.idle_timeout_s
        if idle:
            log.info("no job for %.0f s: exiting", self.idle_timeout_s)
        return idle

    def _bind(self) -> socket.socket:
        """Listen on the socket (0600), replacing a stale one, refusing a live one."""
        if listening(self.paths):
            raise RuntimeError(f"another engine listens on {self.paths.socket}")
        with contextlib.suppress(FileNotFoundError):
            self.paths.socket.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            listener.bind(str(self.paths.socket))
        finally:
            os.umask(old)
        os.chmod(self.paths.socket, 0o600)
        listener.listen(64)
        listener.settimeout(0.5)
        return listener

    def _handle(self, sock: socket.socket) -> None:
        """Answer one connection: handshake, then one request."""
        conn = Connection(sock)
        try:
            with sock:
                uid = peer_uid(sock)
                if uid != os.getuid():
                    conn.send({"ok": False, "error": f"this engine serves uid {os.getuid()} only"})
                    return
                try:
                    hello = receive(conn.reader)
                except ProtocolError:  # a probe for a listener (lifecycle.listening)
                    return
                refusal = self._refusal(hello)
                if refusal:
                    conn.send({"ok": False, "error": refusal})
                    return
                conn.send({"ok": True, "engine": self.description()})
                request = receive(conn.reader)
                op = request.get("op")
                if op == "status":
                    conn.send({"ok": True, "engine": self.description()})
                elif op == "stop":
                    self.stop()
                    conn.send({"ok": True, "engine": self.description()})
                elif op in SEPARATING and self._code_refusal(hello):
                    conn.send({"event": "unavailable", "message": self._code_refusal(hello)})
                elif op == "separate":
                    spec = JobSpec.from_json(request["job"])
                    self._separate(conn, lambda: self._run(conn, spec))
                elif op == "separate_tracks":
                    self._separate(conn, lambda: self._run_tracks(conn, request))
                else:
                    conn.send({"ok": False, "error": f"unknown request {op!r}"})
        except (ProtocolError, OSError, KeyError, TypeError, ValueError) as exc:
            log.warning("connection dropped: %s", exc)
        except Exception:  # the client sees the connection close and names this log
            log.exception("a request failed")

    def _refusal(self, hello: dict[str, Any]) -> str | None:
        """Why a client's handshake is refused, or ``None``."""
        if hello.get("op") != "hello" or hello.get("protocol") != PROTOCOL_VERSION:
            return (
                f"the warm engine (pid {os.getpid()}) speaks protocol {PROTOCOL_VERSION}, "
                f"the client {hello.get('protocol')!r}"
            )
        return None

    def _code_refusal(self, hello: dict[str, Any]) -> str | None:
        """Why a client's job is refused for running other separation code, or ``None``."""
        if hello.get("stems_code") == self.stems_code:
            return None
        return (
            f"the warm engine (pid {os.getpid()}) runs other stemline separation code "
            f"({self.stems_code}, this command {hello.get('stems_code')}); restart it "
            "(stemline engine stop, then start)"
        )

    @contextlib.contextmanager
    def _busy_with_job(self) -> Iterator[None]:
        with self._state:
            self._busy += 1
        try:
            yield
        finally:
            with self._state:
                self._busy -= 1
                self._last_job = time.monotonic()

    def _separate(self, conn: Connection, run: Callable[[], None]) -> None:
        """Run one job (``run``) when its turn comes; it streams its events to the client."""
        with self._busy_with_job():
            if not self._job_lock.acquire(blocking=False):
                conn.send({"event": "queued"})
                self._job_lock.acquire()
            try:
                if self._stopping.is_set():
                    conn.send({"event": "unavailable", "message": "the warm engine is stopping"})
                    return
                run()
            finally:
                self._job_lock.release()

    def _run_tracks(self, conn: Connection, request: dict[str, Any]) -> None:
        """A pipeline run's tracks (:mod:`separation.warm_engine.track_jobs`)."""
        started = time.perf_counter()
        separated = serve_tracks(conn, self.separator, request)
        with self._state:
            self.jobs_served += 1
            self.files_separated += separated
        log.info(
            "batch of %d tracks: %d separated, %d failed, in %.1f s%s", len(request["jobs"]),
            separated, len(request["jobs"]) - separated, time.perf_counter() - started,
            " (the client went away)" if conn.gone else "",
        )  # fmt: skip

    def _run(self, conn: Connection, spec: JobSpec) -> None:
        started = time.perf_counter()
        job = LocalJob(spec, self.separator, self.options.model)
        try:
            durations, failures = job.plan()
        except JobRefused as exc:
            conn.send({"event": "refused", "message": str(exc)})
            return
        conn.send({
            "event": "planned",
            "durations": {str(path): seconds for path, seconds in durations.items()},
            "failures": {str(path): message for path, message in failures.items()},
        })  # fmt: skip
        todo = [path for path in spec.files if path not in failures]
        separated = 0
        for path, outcome in job.results(todo, progress_sender(conn)):
            if outcome.failed:
                if outcome.error is not None and not isinstance(outcome.error, ClientGone):
                    log.warning("separating %s failed", path, exc_info=outcome.error)
                conn.send({
                    "event": "failed", "file": str(path), "message": outcome.message,
                    "traceback": outcome.error is not None,
                })  # fmt: skip
                continue
            separated += 1
            conn.send({
                "event": "result", "file": str(path),
                "stems": {inst: str(p) for inst, p in outcome.stems.items()},
                "clipped": outcome.clipped_samples,
            })  # fmt: skip
        conn.send({"event": "done"})
        with self._state:
            self.jobs_served += 1
            self.files_separated += separated
        log.info(
            "job of %d files into %s: %d separated, %d failed, in %.1f s%s", len(spec.files),
            spec.output, separated, len(spec.files) - separated, time.perf_counter() - started,
            " (the client went away)" if conn.gone else "",
        )  # fmt: skip
