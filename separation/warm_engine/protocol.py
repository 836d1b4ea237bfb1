"""The warm engine's wire protocol, identity and options, importing no array or model code.

Messages are JSON objects, one per line (UTF-8, ``\\n``-terminated), over a Unix domain
socket. Every connection opens with a handshake: the client sends ``{"op": "hello",
"protocol": N, "stems_code": D}`` and the server answers ``{"ok": true, "engine": {...}}``
(its pid, options, code digest, log, uptime, jobs served) or ``{"ok": false, "error": "one
line"}`` and closes: a different :data:`PROTOCOL_VERSION` is refused, as is a peer of another
user. Then one request: ``status``, ``stop`` or ``separate``
(:mod:`separation.warm_engine.server` lists the events a ``separate`` request answers with).
A ``separate`` request from a client whose :func:`stems_code_digest` differs (the engine was
started from other stemline code) is turned away with one line, before anything is done;
``status`` and ``stop`` still work, so an outdated engine can be stopped.

:class:`EngineOptions` are the options that decide the stems; a ``separate`` command uses an
engine only when they match its own (:meth:`EngineOptions.mismatch`).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from ..configs import ModelConfig

#: Bump when a message changes shape or meaning.
PROTOCOL_VERSION = 1
#: Longest line accepted (a job naming thousands of files fits).
MAX_LINE = 64 * 1024 * 1024
#: ``sockaddr_un``'s path limit on Linux, terminating NUL included.
UNIX_PATH_MAX = 108


class ProtocolError(RuntimeError):
    """The peer closed the connection or sent something that is not a message."""


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Write one message (a JSON line)."""
    sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")


def receive(reader: BinaryIO) -> dict[str, Any]:
    """Read one message; :class:`ProtocolError` at end of stream or on a malformed line."""
    line = reader.readline(MAX_LINE)
    if not line:
        raise ProtocolError("the connection was closed")
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not a JSON message: {line[:80]!r}") from exc
    if not isinstance(message, dict):
        raise ProtocolError(f"not a JSON object: {line[:80]!r}")
    return message


def stems_code_digest() -> str:
    """The first 16 hex digits of the sha256 of the separation package's source files.

    An engine and a client agree on it only when they run the same separation code, so a
    stems file from the engine is what this process would have written.
    """
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def config_identity(config: ModelConfig) -> str:
    """The first 16 hex digits of the sha256 of a model configuration's values.

    ``spleeter:2stems`` and a JSON file saying the same have the same identity; where the
    configuration was read from (its ``name``) does not enter it.
    """
    values = asdict(config)
    values.pop("name")
    values.pop("raw")
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def configured_backend() -> str:
    """The Keras backend a process started now would get, read as Keras reads it.

    ``KERAS_BACKEND``, else the ``backend`` of ``$KERAS_HOME/keras.json`` (``~/.keras``), else
    ``tensorflow``; keras is not imported.
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        backend = json.loads((home / "keras.json").read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    return str(backend) if backend else "tensorflow"


@dataclass(frozen=True)
class EngineOptions:
    """The options that decide the stems, as a ``separate`` command or an engine has them.

    ``device`` is the device asked for (``auto``, ``cpu``, ``gpu``); ``model_path`` is where
    the weights come from (:func:`separation.provider.default_model_path`). Tracks per batch and
    segments per chunk are absent: they change the speed, not the stems, and an engine uses
    its own.
    """

    model: str
    config_id: str
    mwf: bool
    overlap: bool
    precision: str
    device: str
    multichannel: str
    backend: str
    model_path: str

    def to_json(self) -> dict[str, Any]:
        """The options as JSON values."""
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> EngineOptions:
        """The options :meth:`to_json` wrote."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})

    def mismatch(self, engine: EngineOptions, engine_device: str) -> str | None:
        """Why an engine with ``engine`` options (running on ``engine_device``, ``cpu`` or
        ``gpu``) would not give this command's stems; ``None`` when it would."""
        if self.config_id != engine.config_id:
            return f"it runs {engine.model}, this command asks for {self.model}"
        for name in ("mwf", "overlap"):
            if getattr(self, name) != getattr(engine, name):
                engine_has = "with" if getattr(engine, name) else "without"
                ours = "without" if getattr(engine, name) else "with"
                return f"it runs {engine_has} --{name}, this command {ours}"
        if self.model_path != engine.model_path:
            return f"it loads weights from {engine.model_path}, this command from {self.model_path}"
        for name in ("precision", "multichannel", "backend"):
            ours, theirs = getattr(self, name), getattr(engine, name)
            if ours != theirs:
                return f"its {name} is {theirs}, this command's is {ours}"
        if self.device not in (engine.device, engine_device):
            return (
                f"it runs on device {engine.device} ({engine_device}), this command asks for "
                f"{self.device}"
            )
        return None

    def describe(self) -> str:
        """``spleeter:2stems`` and the options that are not the default, for messages."""
        flags = [f"--{name}" for name in ("mwf", "overlap") if getattr(self, name)]
        if self.precision != "exact":
            flags.append(f"--precision {self.precision}")
        return " ".join([self.model, *flags])
