"""A pipeline run's tracks on the warm engine: each track into its own folder, with its measures.

A run's ``stems`` step separates its tracks with :meth:`~separation.Separator.separate_into`:
each track into its own stems folder, with what the stems table records (levels, clipped
samples, the mixture residual, the seconds it took). A ``separate_tracks`` request does the
same on an engine's loaded model, so a run whose model options match a running engine pays
neither the Keras import, nor the model build, nor the first call's compilation.

Request: ``{"op": "separate_tracks", "jobs": [[input, folder], ...], "filename_format": F,
"codec": C}`` with absolute paths. Events, after ``queued`` when another job runs:

- ``unavailable`` (``message``): the engine is stopping and did not start the batch;
- ``refused`` (``message``): two tracks would write one stem file; nothing was written;
- ``started``: the batch runs; ``progress`` (``file``, ``done``, ``n``) as segments end;
- ``track`` (``index``, ``result``: :func:`result_to_json`) or ``track_failed`` (``index``,
  ``message``, ``audio_error``: the input itself is bad, ``traceback``: whether the engine's
  log holds one), as each track ends;
- ``done``.

A track that fails fails alone, as in the run's own process. An engine that dies mid-batch
fails each track without a result with one line naming the engine and its log; nothing is
redone silently in the run (its stems would have another provenance and a crash that recurs
would be hidden).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..audio import AudioError
from ..file_separation import SeparationResult
from .client import EngineConnection, EngineRefusal, EngineUnavailable
from .connection import ClientGone, Connection, progress_sender
from .protocol import ProtocolError

if TYPE_CHECKING:
    from ..separator import Separator

log = logging.getLogger("separation.warm_engine")


def result_to_json(result: SeparationResult) -> dict[str, Any]:
    """A :class:`SeparationResult` as JSON values (paths as strings, level pairs as lists)."""
    return {
        "source": str(result.source),
        "stems": {inst: str(path) for inst, path in result.stems.items()},
        "sample_rate": result.sample_rate,
        "n_samples": result.n_samples,
        "seconds": result.seconds,
        "clipped_samples": dict(result.clipped_samples),
        "levels_dbfs": {inst: list(pair) for inst, pair in result.levels_dbfs.items()},
        "mixture_residual_db": result.mixture_residual_db,
    }


def result_from_json(values: dict[str, Any]) -> SeparationResult:
    """The :class:`SeparationResult` :func:`result_to_json` wrote."""
    residual = values["mixture_residual_db"]
    return SeparationResult(
        source=Path(values["source"]),
        stems={inst: Path(path) for inst, path in values["stems"].items()},
        sample_rate=int(values["sample_rate"]),
        n_samples=int(values["n_samples"]),
        seconds=float(values["seconds"]),
        clipped_samples={inst: int(n) for inst, n in values["clipped_samples"].items()},
        levels_dbfs={
            inst: (float(pair[0]), float(pair[1])) for inst, pair in values["levels_dbfs"].items()
        },
        mixture_residual_db=None if residual is None else float(residual),
    )


def serve_tracks(conn: Connection, separator: Separator, request: dict[str, Any]) -> int:
    """Run a ``separate_tracks`` request on the engine's ``separator`` (its job lock held),
    streaming its events; the number of tracks separated."""
    from ..output import OutputError
    from ..stem_paths import check_distinct_outputs

    jobs = [(Path(source), Path(folder)) for source, folder in request["jobs"]]
    options = {"filename_format": str(request["filename_format"]), "codec": str(request["codec"])}
    try:
        check_distinct_outputs(
            jobs, separator.instruments, options["filename_format"], options["codec"]
        )
    except OutputError as exc:
        conn.send({"event": "refused", "message": str(exc)})
        return 0
    conn.send({"event": "started"})
    separated = 0
    # Per-segment progress lets a batch whose client has gone stop at its next segment.
    results = separator.separate_into(jobs, progress_for=progress_sender(conn), **options)
    with contextlib.closing(results):
        for index, result in results:
            if isinstance(result, SeparationResult):
                separated += 1
                conn.send({"event": "track", "index": index, "result": result_to_json(result)})
                continue
            audio_error = isinstance(result, AudioError)
            if not audio_error and not isinstance(result, ClientGone):
                log.warning("separating %s failed", jobs[index][0], exc_info=result)
            conn.send({
                "event": "track_failed", "index": index, "audio_error": audio_error,
                "message": str(result) if audio_error else f"{type(result).__name__}: {result}",
                "traceback": not audio_error,
            })  # fmt: skip
    conn.send({"event": "done"})
    return separated


class EngineTracks:
    """A run's tracks separated by an engine, with :meth:`Separator.separate_into`'s results.

    Parameters
    ----------
    conn : EngineConnection
        A connection whose handshake succeeded, to an engine whose options match the run's;
        one batch is sent through it, then it is closed.
    """

    def __init__(self, conn: EngineConnection) -> None:
        self.conn = conn

    @property
    def checkpoint_sha256(self) -> str:
        """The sha256 of the checkpoint the engine loaded (recorded with the stems)."""
        return str(self.conn.engine["checkpoint_sha256"])

    def start(
        self, jobs: Sequence[tuple[str | Path, str | Path]], *, filename_format: str, codec: str
    ) -> Iterator[tuple[int, SeparationResult | Exception]]:
        """Send the batch and wait until the engine starts it; then its results as tracks end.

        Raises
        ------
        EngineUnavailable
            The engine turned the batch away before starting it (it is stopping), or did not
            answer: nothing was done, the caller may separate the batch itself.
        EngineRefusal
            Two tracks would write one stem file (nothing was written).
        """
        sources = [Path(source).absolute() for source, _ in jobs]
        folders = [str(Path(folder).absolute()) for _, folder in jobs]
        request = {
            "op": "separate_tracks", "filename_format": filename_format, "codec": codec,
            "jobs": [[str(s), f] for s, f in zip(sources, folders, strict=True)],
        }  # fmt: skip
        try:
            self.conn.request(request)
            while True:
                event = self.conn.receive()
                kind = event.get("event")
                if kind == "started":
                    break
                if kind == "queued":
                    log.info("the warm engine is busy; this batch waits for its current job")
                elif kind in ("unavailable", "refused"):
                    self.conn.close()
                    error = EngineUnavailable if kind == "unavailable" else EngineRefusal
                    raise error(str(event.get("message")))
                else:
                    raise ProtocolError(f"unexpected event {kind!r}")
        except (OSError, ProtocolError) as exc:
            self.conn.close()
            raise EngineUnavailable(f"the warm engine did not start the batch: {exc}") from exc
        return self._results(sources)

    def _results(self, sources: list[Path]) -> Iterator[tuple[int, SeparationResult | Exception]]:
        pending = set(range(len(sources)))
        try:
            while pending:
                event = self.conn.receive()
                kind = event.get("event")
                if kind == "progress":
                    continue
                if kind == "track":
                    outcome: SeparationResult | Exception = result_from_json(event["result"])
                elif kind == "track_failed":
                    outcome = self._failure(event, sources[int(event["index"])])
                else:
                    raise ProtocolError(f"unexpected event {kind!r}")
                index = int(event["index"])
                pending.remove(index)
                yield index, outcome
            self.conn.receive()  # "done"
        except (OSError, ProtocolError, KeyError, ValueError) as exc:
            for index in sorted(pending):
                yield (
                    index,
                    RuntimeError(
                        f"{sources[index]}: the warm engine (pid {self.conn.pid}) failed during "
                        f"this batch ({exc}); see {self.conn.engine['log']}"
                    ),
                )
        finally:
            with contextlib.suppress(OSError):
                self.conn.close()

    def _failure(self, event: dict[str, Any], source: Path) -> Exception:
        """The exception a track failed with: an :class:`AudioError` (the message names the
        file) for a bad input, else one line naming the file, the error and the engine's log."""
        message = str(event["message"])
        if event.get("audio_error"):
            return AudioError(message)
        return RuntimeError(
            f"{source}: the warm engine (pid {self.conn.pid}) failed on it: {message}; its "
            f"traceback is in {self.conn.engine['log']}"
        )
