"""Separating many tracks with one model: the several-track half of :class:`Separator`.

:class:`ManyTracks` is mixed into :class:`~separation.separator.Separator`, which holds the
model (``_core``) and the options these methods pass on. Every method runs up to
``batch_tracks`` tracks at a time in threads that feed one shared model batcher
(:mod:`separation.multitrack`), so their chunks share model calls, and every track's result or
exception is its own: one bad file never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .file_separation import SeparationResult, separate_to_file
from .in_memory import separate_waveform
from .multitrack import run_concurrently
from .stem_paths import DEFAULT_FILENAME_FORMAT, check_distinct_outputs, plan_stem_paths

if TYPE_CHECKING:
    from .batching import Membership
    from .model import SeparationModel
    from .stream import Progress


class ManyTracks:
    """:meth:`separate_many`, :meth:`separate_files` and :meth:`separate_into` of a
    :class:`~separation.separator.Separator`."""

    _core: SeparationModel
    mwf: bool
    multichannel: str
    host_threads: bool
    batch_tracks: int
    instruments: tuple[str, ...]
    chunk_segments: int

    def separate_many(
        self, waveforms: Sequence[np.ndarray], sample_rate: int | None = None
    ) -> list[dict[str, np.ndarray]]:
        """Separate several in-memory signals, ``batch_tracks`` at a time in shared model calls.

        Returns one :meth:`separate` result per waveform, in order; each equals what
        :meth:`separate` gives for that waveform alone.
        """

        def one(i: int, membership: Membership) -> dict[str, np.ndarray]:
            return separate_waveform(
                self._core, waveforms[i], sample_rate,
                mwf=self.mwf, multichannel=self.multichannel, membership=membership,
                read_ahead=self.host_threads,
            )  # fmt: skip

        results = dict(self._concurrently(range(len(waveforms)), one))
        for i in range(len(waveforms)):
            if isinstance(results[i], Exception):
                raise results[i]
        return [results[i] for i in range(len(waveforms))]

    def separate_files(
        self,
        audio_descriptors: Sequence[str | Path],
        destination: str | Path,
        *,
        progress_for: Callable[[Path], Progress | None] | None = None,
        **options,
    ) -> Iterator[tuple[Path, SeparationResult | Exception]]:
        """Separate many files, ``batch_tracks`` at a time in shared model calls.

        Yields ``(path, result)`` as files finish, where ``result`` is the
        :class:`SeparationResult` or the exception that file raised: one bad file never stops
        the others. ``options`` are :meth:`separate_to_file`'s keyword arguments;
        ``progress_for(path)`` gives a file's progress callback.

        Raises
        ------
        OutputError
            Before anything is written, when two inputs would write the same stem file or one
            file is given twice (:func:`separation.stem_paths.plan_stem_paths`): one input's stems
            must never silently replace another's.
        """
        paths = [Path(p) for p in audio_descriptors]
        plan_stem_paths(
            paths, Path(destination), self.instruments,
            options.get("filename_format", DEFAULT_FILENAME_FORMAT), options.get("codec", "wav"),
        )  # fmt: skip
        jobs = [(path, destination) for path in paths]
        for i, result in self.separate_into(jobs, progress_for=progress_for, **options):
            yield paths[i], result

    def separate_into(
        self,
        jobs: Sequence[tuple[str | Path, str | Path]],
        *,
        progress_for: Callable[[Path], Progress | None] | None = None,
        **options,
    ) -> Iterator[tuple[int, SeparationResult | Exception]]:
        """:meth:`separate_files` for inputs that each have their own output folder.

        ``jobs`` are ``(input file, output folder)`` pairs (a pipeline's batch of tracks, each
        with its track's folder), separated ``batch_tracks`` at a time in shared model calls.
        Yields ``(index in jobs, result)`` as jobs finish; ``result`` is the
        :class:`SeparationResult` or the exception that job raised, so one bad file never stops
        the others.

        Raises
        ------
        OutputError
            Before anything is written, when two jobs would write the same stem file
            (:func:`separation.stem_paths.check_distinct_outputs`).
        """
        pairs = [(Path(source), Path(folder)) for source, folder in jobs]
        check_distinct_outputs(
            pairs, self.instruments,
            options.get("filename_format", DEFAULT_FILENAME_FORMAT), options.get("codec", "wav"),
        )  # fmt: skip

        def one(i: int, membership: Membership) -> SeparationResult:
            source, folder = pairs[i]
            progress = progress_for(source) if progress_for is not None else None
            return separate_to_file(
                self._core, source, folder, mwf=self.mwf, multichannel=self.multichannel,
                progress=progress, membership=membership, host_threads=self.host_threads,
                **options,
            )  # fmt: skip

        yield from self._concurrently(range(len(pairs)), one)

    def _concurrently(self, keys: Sequence, work: Callable) -> Iterator[tuple]:
        """Run ``work(key, membership)`` for every key, ``batch_tracks`` tracks at a time,
        yielding ``(key, result or exception)`` as they finish (:mod:`separation.multitrack`).
        """
        batcher = self._core.processor(self.chunk_segments).batcher
        return run_concurrently(batcher, keys, work, self.batch_tracks)
