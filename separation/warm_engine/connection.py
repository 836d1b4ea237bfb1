"""One client connection of the warm engine's server, and what a job sends through it.

Progress comes from the separation's threads and results from the job's own thread, so
:class:`Connection` writes each message under a lock. Once the client has gone (a write
failed), writing is a no-op and each file's progress raises :class:`ClientGone`, which stops
that file at its next segment (its stems are never left half-written).
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .protocol import send


class ClientGone(Exception):
    """The client of a job closed its connection; its remaining files are not separated."""


class Connection:
    """One client connection: messages written under a lock (progress comes from threads)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.gone = False
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        """Send ``message``; after the client went away, sending is a no-op."""
        with self._lock:
            if self.gone:
                return
            try:
                send(self.sock, message)
            except OSError:
                self.gone = True


def progress_sender(conn: Connection) -> Callable[[Path], Callable[[int, int], None]]:
    """``progress_for`` of a job: each file's progress goes to the client, and stops the file
    (:class:`ClientGone`) once the client has gone."""

    def progress_for(path: Path) -> Callable[[int, int], None]:
        def progress(done: int, n: int) -> None:
            if conn.gone:
                raise ClientGone(f"{path}: the client went away")
            conn.send({"event": "progress", "file": str(path), "done": done, "n": n})

        return progress

    return progress_for


def peer_uid(sock: socket.socket) -> int:
    """The user id of the process at the other end (``SO_PEERCRED``: pid, uid, gid)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]
