"""Content hashes of input files: SHA-256 that never blocks, stops at a deadline and resumes.

The inventory identifies a track by the SHA-256 of its bytes. Hashing is the slow part of a
scan (a 6 GB file on a 100 MB/s network share takes a minute; a sparse file can claim a
petabyte), and the folder sensor must end each tick within its budget, so :func:`hash_file`
can stop at a deadline and return the hash's intermediate state, which a later scan resumes
from (the inventory stores it). :mod:`hashlib` cannot export that state, so a hash that has to
stop drives OpenSSL's ``SHA256_*`` functions (the libcrypto that :mod:`hashlib` uses) through
:mod:`ctypes`, saving the eight chaining words and the byte count at a 64-byte block boundary;
a self-test checks a save and resume against :mod:`hashlib` before that path is used. Where it
is not available (not Linux, or a libcrypto without those functions) a hash cannot resume:
the first file a scan hashes is then hashed to its end whatever the deadline (so every file is
still hashed eventually), and any other file that misses the deadline starts over next time.

Only regular files are read. :func:`open_regular` opens without blocking (``O_NONBLOCK``: a
FIFO cannot make ``open`` wait for a writer) and checks what it opened with ``fstat``, so a
file replaced by a FIFO or a device link between the scan's ``stat`` and the ``open`` is
refused, not read. Callers ``stat`` first (:func:`not_regular`), so a device is not even opened.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import sys
import time
from dataclasses import dataclass
from typing import BinaryIO

#: Bytes read per step; a multiple of SHA-256's 64-byte block, so a stop is on a boundary.
CHUNK_BYTES = 1 << 20
_DIGEST_BYTES = 32
_LIBCRYPTO_NAMES = ("libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so")

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotRegularFile(ValueError):
    """An entry that is not a regular file (FIFO, socket, device, directory)."""


def not_regular(mode: int) -> str | None:
    """Why an entry of this ``st_mode`` is not read (``"is a FIFO (named pipe), not an audio
    file"``), or ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    return f"is {kind}, not an audio file"


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open a regular file for reading without ever blocking on a FIFO or device.

    Raises
    ------
    NotRegularFile
        What was opened is not a regular file (it is closed again unread).
    OSError
        It cannot be opened.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        problem = not_regular(os.fstat(fd).st_mode)
        if problem is not None:
            raise NotRegularFile(problem)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _version(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


@dataclass(frozen=True)
class HashProgress:
    """How far :func:`hash_file` got.

    Attributes
    ----------
    sha256 : str or None
        Hex digest, when the whole file was read (and it did not change meanwhile).
    hashed_bytes : int
        Bytes hashed so far (0 when nothing can be resumed).
    state : str or None
        Resumable state (64 hex digits) when the hash stopped at the deadline.
    changed : bool
        The file's size, mtime or ctime differed from ``expect`` or changed while it was read:
        it is being written, hash it again later.
    """

    sha256: str | None
    hashed_bytes: int = 0
    state: str | None = None
    changed: bool = False


def hash_file(
    path: str | os.PathLike,
    *,
    deadline: float | None = None,
    resume: tuple[int, str] | None = None,
    at_least_one_chunk: bool = False,
    expect: tuple[int, int, int] | None = None,
) -> HashProgress:
    """SHA-256 of a regular file's bytes, stopping at ``deadline`` and resuming from a state.

    Parameters
    ----------
    path : str or path-like
        The file (a ``str`` may hold surrogate-escaped bytes of a non-UTF-8 name).
    deadline : float, optional
        :func:`time.monotonic` value at which to stop and return the state; ``None`` reads to
        the end.
    resume : (int, str), optional
        ``(hashed_bytes, state)`` returned by an earlier call on the same file version.
    at_least_one_chunk : bool
        Read at least :data:`CHUNK_BYTES` even when the deadline has already passed, so a scan
        always makes progress; without resumable state, read the whole file instead.
    expect : (size, mtime_ns, ctime_ns), optional
        The version the caller saw with ``stat``; any other version is reported ``changed``.

    Raises
    ------
    NotRegularFile, OSError
        From :func:`open_regular`.
    """
    with open_regular(path) as fh:
        before = _version(os.fstat(fh.fileno()))
        if expect is not None and before != expect:
            return HashProgress(None, changed=True)
        lib = _libcrypto() if deadline is not None or resume else None
        hasher: _ResumableSha256 | hashlib._Hash
        if lib is not None:
            hasher = _ResumableSha256(lib, *(resume or (0, None)))
            fh.seek(hasher.done)
        else:
            hasher = hashlib.sha256()
            if at_least_one_chunk:
                deadline = None  # cannot resume: finish this one so every file gets hashed
        chunks = 0
        while True:
            due = deadline is not None and time.monotonic() >= deadline
            if due and (chunks or not at_least_one_chunk):
                if isinstance(hasher, _ResumableSha256):
                    return HashProgress(None, hasher.done, hasher.state())
                return HashProgress(None)
            block = fh.read(CHUNK_BYTES)
            hasher.update(block)
            chunks += 1
            if len(block) < CHUNK_BYTES:  # a buffered read is short only at the end
                break
        if _version(os.fstat(fh.fileno())) != before:
            return HashProgress(None, changed=True)
        size = before[0]
        return HashProgress(hasher.hexdigest(), size)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a regular file's bytes (read to the end, never blocking on a FIFO)."""
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for block in iter(lambda: fh.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


class _Sha256Ctx(ctypes.Structure):
    """OpenSSL's ``SHA256_CTX`` (``openssl/sha.h``, unchanged since OpenSSL 0.9.8)."""

    _fields_ = (
        ("h", ctypes.c_uint32 * 8),
        ("Nl", ctypes.c_uint32),
        ("Nh", ctypes.c_uint32),
        ("data", ctypes.c_uint32 * 16),
        ("num", ctypes.c_uint),
        ("md_len", ctypes.c_uint),
    )


class _ResumableSha256:
    """SHA-256 whose state at a block boundary can be saved as text and restored."""

    def __init__(self, lib: ctypes.CDLL, done: int = 0, state: str | None = None) -> None:
        self._lib = lib
        self._ctx = _Sha256Ctx()
        lib.SHA256_Init(ctypes.byref(self._ctx))
        self.done = 0
        if state is not None and done:
            words = bytes.fromhex(state)
            for i in range(8):
                self._ctx.h[i] = int.from_bytes(words[4 * i : 4 * i + 4], "big")
            bits = done * 8
            self._ctx.Nl, self._ctx.Nh = bits & 0xFFFFFFFF, bits >> 32
            self.done = done

    def update(self, data: bytes) -> None:
        self._lib.SHA256_Update(ctypes.byref(self._ctx), data, len(data))
        self.done += len(data)

    def state(self) -> str:
        if self._ctx.num:
            raise ValueError("SHA-256 state is only saved at a 64-byte block boundary")
        return b"".join(int(w).to_bytes(4, "big") for w in self._ctx.h).hex()

    def hexdigest(self) -> str:
        out = (ctypes.c_ubyte * _DIGEST_BYTES)()
        self._lib.SHA256_Final(out, ctypes.byref(self._ctx))
        return bytes(out).hex()


def _libcrypto() -> ctypes.CDLL | None:
    """OpenSSL's libcrypto with working, resumable ``SHA256_*`` functions, or ``None``.

    ``dlopen`` of a library the process already holds (hashlib's) is a lookup, so this is
    cheap to call per file and keeps no module state."""
    if not sys.platform.startswith("linux"):
        return None  # e.g. macOS aborts a process that loads its unversioned system libcrypto
    for name in _LIBCRYPTO_NAMES:
        try:
            lib = ctypes.CDLL(name)
            init, update, final = lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final
        except (OSError, AttributeError):
            continue
        init.argtypes, init.restype = [ctypes.c_void_p], ctypes.c_int
        update.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        update.restype = ctypes.c_int
        final.argtypes, final.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int
        if _resumes_correctly(lib):
            return lib
    return None


def _resumes_correctly(lib: ctypes.CDLL) -> bool:
    """Save and restore a state mid-message and compare the digest with :mod:`hashlib`."""
    message = bytes(range(256)) * 3 + b"tail"
    first = _ResumableSha256(lib)
    first.update(message[:512])
    resumed = _ResumableSha256(lib, first.done, first.state())
    resumed.update(message[512:])
    return resumed.hexdigest() == hashlib.sha256(message).hexdigest()
