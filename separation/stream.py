"""Separating a stereo stream at the model rate, chunk by chunk: the loop every API shares.

In-memory (:mod:`separation.in_memory`) and file separation (:mod:`separation.file_separation`)
both resample their input to the model rate and hand it here as a re-readable stream. The
stream is cut into chunks of whole U-Net segments (:mod:`separation.chunking`), each chunk goes
through the model's :class:`~separation.engine.ChunkProcessor`, and the outputs are
overlap-added into consecutive blocks, so memory stays flat in duration and the result equals
processing the whole signal at once.

Multichannel Wiener filtering (MWF) needs statistics of the whole signal before it can filter
any chunk, so with MWF the stream is read twice: a first pass accumulates the statistics from
the U-Net estimates, a second pass filters and inverts each chunk.

A track's :class:`~separation.batching.Membership` in the processor's batcher is left as soon
as its last chunk has been through the model (or on failure), so tracks batched with it never
wait for its writing or clean-up.

With ``read_ahead`` the next chunk's input (decoded, metered and resampled by ``source``) is
prepared in a thread of its own (:class:`~separation.background.ReadAhead`) while the model
works on the current one; the chunks, hence the outputs, are the same either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from .background import ReadAhead
from .chunking import ChunkPlan, SampleWindow, stitch_chunks
from .wiener import WienerStatistics, wiener_filter

if TYPE_CHECKING:
    from .batching import Membership
    from .engine import ChunkProcessor
    from .model import SeparationModel

#: Returns a fresh iterator over the same stereo model-rate blocks each time it is called.
BlockSource = Callable[[], Iterator[np.ndarray]]
#: Called with ``(chunks done, chunks in total)`` after each chunk (each pass, with MWF).
Progress = Callable[[int, int], None]


def iter_model_rate(
    model: SeparationModel,
    source: BlockSource,
    n_samples: int,
    *,
    mwf: bool,
    progress: Progress | None = None,
    membership: Membership | None = None,
    read_ahead: bool = True,
) -> Iterator[tuple[int, np.ndarray]]:
    """Separate a stereo model-rate stream; yields ``(start, (n_instr, len, 2))`` blocks.

    Parameters
    ----------
    model : SeparationModel
        The loaded model.
    source : callable
        Called once (twice with MWF) and must return an iterator over the same ``n_samples``
        stereo samples each time.
    n_samples : int
        Length of the stream in samples.
    mwf : bool
        Wiener-filter the U-Net estimates (two passes over ``source``).
    progress : callable, optional
        See :data:`Progress`.
    membership : Membership, optional
        The track's place in the batcher of the processor for ``model.chunk_segments``
        (:mod:`separation.multitrack`). It is left when this loop ends; a membership of
        another processor's batcher (a short track planned with fewer segments) is left
        before the loop starts. Without one (or with one already left) the loop joins the
        processor's batcher itself.
    read_ahead : bool
        Read the next chunk in a thread of its own while the model works on this one
        (``source``'s iterators are then advanced in that thread).
    """
    plan = model.plan(n_samples)
    proc = model.processor(plan.chunk_segments)
    if membership is not None and membership.batcher is not proc.batcher:
        membership.leave()  # the other batcher must not wait for this track
    if membership is None or not membership.active:
        membership = proc.batcher.join()
    with membership:  # the other tracks in a batch must not wait for this one any more
        yield from _iter_chunks(model, proc, plan, source, n_samples, mwf, progress, read_ahead)


def _iter_chunks(
    model: SeparationModel,
    proc: ChunkProcessor,
    plan: ChunkPlan,
    source: BlockSource,
    n_samples: int,
    mwf: bool,
    progress: Progress | None,
    read_ahead: bool,
) -> Iterator[tuple[int, np.ndarray]]:
    total = plan.n_chunks * (2 if mwf else 1)
    done = 0

    def read() -> Iterator[np.ndarray]:
        window = SampleWindow(source(), n_samples, 2)
        for c in range(plan.n_chunks):
            start = plan.input_start(c)
            yield window.take(start, start + plan.input_length)

    def inputs() -> contextlib.AbstractContextManager[Iterator[np.ndarray]]:
        """One pass over the chunks' inputs, to be used in a ``with`` block, which stops the
        reading thread however the pass ends."""
        if read_ahead:
            return ReadAhead(read(), depth=1, name="stemline-read-ahead")
        return contextlib.closing(read())

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    if not mwf:

        def outputs() -> Iterator[np.ndarray]:
            with inputs() as chunks:
                for chunk in chunks:
                    out = proc(chunk)
                    tick()
                    yield out

    else:
        stats = WienerStatistics(model.config.n_bins, len(model.config.instruments))
        with inputs() as chunks:
            for chunk in chunks:
                stats.update(*proc.estimates(chunk))
                tick()

        def outputs() -> Iterator[np.ndarray]:
            with inputs() as chunks:
                for chunk in chunks:
                    stft, est = proc.estimates(chunk)
                    out = proc.inverse(wiener_filter(stft, est, stats))
                    tick()
                    yield out

    with contextlib.closing(outputs()) as outs:
        yield from stitch_chunks(plan, outs)
