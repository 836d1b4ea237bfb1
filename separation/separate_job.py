"""One ``stemline separate`` job: its inputs probed and planned, then separated file by file.

The ``separate`` command (:mod:`separation.separate_command`) runs a job in its own process
with :class:`LocalJob`, or hands it to the warm engine (:mod:`separation.warm_engine`), whose
server runs the very same :class:`LocalJob` on the separator it loaded once: the same checks in
the same order, the same per-file messages and the same signal path, so the stems are the same
bit for bit. A job is

1. planned (:meth:`LocalJob.plan`): every input is probed (an unreadable one fails alone, with
   its :class:`~separation.audio.AudioError` line), and the batch is refused as a whole
   (:class:`JobRefused`, exit status 2) when two inputs would write one stem file or the
   requested device is missing;
2. loaded (:meth:`LocalJob.load`): the weights, once per separator;
3. separated (:meth:`LocalJob.results`): one :class:`Outcome` per file as files finish.

This module imports no array code itself; :class:`LocalJob`'s methods import what they run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .separator import Separator
    from .stream import Progress


class JobRefused(Exception):
    """The whole job is refused before anything is written; the message is one line."""


@dataclass(frozen=True)
class JobSpec:
    """What to separate and how to write it: the ``separate`` options other than the model's."""

    files: tuple[Path, ...]
    output: Path
    filename_format: str
    codec: str = "wav"
    bitrate: str = "128k"
    offset: float = 0.0
    duration: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON values (paths as strings)."""
        return {
            "files": [str(p) for p in self.files], "output": str(self.output),
            "filename_format": self.filename_format, "codec": self.codec,
            "bitrate": self.bitrate, "offset": self.offset, "duration": self.duration,
        }  # fmt: skip

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> JobSpec:
        """The spec :meth:`to_json` wrote."""
        duration = values["duration"]
        return cls(
            files=tuple(Path(p) for p in values["files"]), output=Path(values["output"]),
            filename_format=str(values["filename_format"]), codec=str(values["codec"]),
            bitrate=str(values["bitrate"]), offset=float(values["offset"]),
            duration=None if duration is None else float(duration),
        )  # fmt: skip


@dataclass
class Outcome:
    """What became of one file: its stem files, or the one line saying why it failed.

    ``error`` is the unexpected exception behind a failure (its traceback is logged with
    ``--verbose``); ``note`` says where such a traceback went when it is not in this process.
    """

    stems: dict[str, Path] = field(default_factory=dict)
    clipped_samples: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    error: BaseException | None = None
    note: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the file failed (then :attr:`message` says why)."""
        return self.message is not None


def outcome_of(path: Path, result: Any) -> Outcome:
    """The :class:`Outcome` of a :meth:`Separator.separate_files` result or exception."""
    from .audio import AudioError
    from .output import OutputError

    if isinstance(result, AudioError | OutputError):
        return Outcome(message=str(result))
    if isinstance(result, Exception):  # one broken input must not stop the batch
        return Outcome(message=f"{path}: {type(result).__name__}: {result}", error=result)
    return Outcome(stems=dict(result.stems), clipped_samples=dict(result.clipped_samples))


class LocalJob:
    """A job run on ``separator`` in this process (the warm engine's server runs it too).

    Parameters
    ----------
    spec : JobSpec
        The inputs and output options.
    separator : Separator
        The separator that runs it (loaded or not).
    params : str
        The model as the user named it, for the message of a failed load.
    """

    def __init__(self, spec: JobSpec, separator: Separator, params: str) -> None:
        self.spec = spec
        self.separator = separator
        self.params = params

    def plan(self) -> tuple[dict[Path, float], dict[Path, str]]:
        """Probe every input: ``(seconds of each usable input, failure line of each other)``.

        Raises
        ------
        JobRefused
            Two inputs would write one stem file (nothing would tell their stems apart), or
            the requested device is missing.
        """
        from .audio import AudioError, probe
        from .device import DeviceError
        from .output import OutputError
        from .stem_paths import plan_stem_paths

        spec = self.spec
        durations: dict[Path, float] = {}
        failures: dict[Path, str] = {}
        for path in spec.files:
            try:
                info = probe(path)
            except AudioError as exc:
                failures[path] = str(exc)
                continue
            if spec.duration is not None and round(spec.duration * info.sample_rate) < 1:
                failures[path] = (
                    f"{path}: duration {spec.duration:g} s is under one sample at "
                    f"{info.sample_rate} Hz"
                )
                continue
            durations[path] = info.duration_s
        try:
            # Two inputs writing one stem file would silently keep only the later one's stems.
            plan_stem_paths(
                [path for path in spec.files if path in durations], spec.output,
                self.separator.instruments, spec.filename_format, spec.codec,
            )  # fmt: skip
            self.separator.device  # noqa: B018 -- resolve now: `--device gpu` without one fails
        except (DeviceError, OutputError) as exc:
            raise JobRefused(str(exc)) from exc
        return durations, failures

    def load(self) -> None:
        """Load the model (once per separator); :class:`JobRefused` when it cannot be."""
        from .checkpoint import CheckpointError
        from .provider import IntegrityError, ModelUnavailable

        try:
            self.separator.load()
        except (CheckpointError, IntegrityError, ModelUnavailable) as exc:
            raise JobRefused(f"cannot load {self.params}: {exc}") from exc

    def results(
        self, todo: list[Path], progress_for: Callable[[Path], Progress | None]
    ) -> Iterator[tuple[Path, Outcome]]:
        """Separate ``todo`` (``batch_tracks`` at a time); yield each file's outcome as it ends."""
        spec = self.spec
        results = self.separator.separate_files(
            todo, spec.output, progress_for=progress_for,
            filename_format=spec.filename_format, codec=spec.codec, bitrate=spec.bitrate,
            offset=spec.offset, duration=spec.duration,
        )  # fmt: skip
        for path, result in results:
            yield path, outcome_of(path, result)
