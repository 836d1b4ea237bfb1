"""How far the written stems are from adding back up to the mixture.

Spleeter's masks share the mixture's energy out between the stems, so in the band the masks
cover the stems sum back to the mixture up to rounding: a residual far above that (the
pipeline's limit is -50 dB) means chunks were stitched, resampled or written wrongly. With
``mask_extension: zeros`` (the released models) everything above the model's cutoff is removed
from every stem by design, so only the band below it is compared; with ``average`` the whole
band is.

:class:`SumResidual` measures it while the stems are written, from the mixture samples read
and the stem samples handed to the writers, so nothing has to be decoded again;
:func:`band_residual_db` measures it from whole signals (the reference the streamed
measurement is tested against).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np

from separation.configs import ModelConfig

#: Samples per FFT block: long enough that the band edge is sharp, short enough that memory
#: stays bounded on hour-long tracks (about 24 s at 44.1 kHz).
BLOCK = 1 << 20
#: The largest residual, in dB, at which the stems still sum to the mixture (the
#: ``stems_sum_to_mixture`` check's limit).
RESIDUAL_LIMIT_DB = -50.0
#: The compared band stops this fraction below the model's cutoff, clear of the mask edge.
CUTOFF_MARGIN = 0.98


#: Inputs at another rate than the model's go through two resamplers, whose low-pass filters
#: take away the top few percent below the input's Nyquist frequency (measured: the round trip
#: 22.05 kHz -> 44.1 kHz -> 22.05 kHz leaves -68 dB up to 0.90 of Nyquist, -53 dB at 0.95).
RESAMPLED_PASSBAND = 0.9


def residual_band_hz(config: ModelConfig, sample_rate: int) -> float:
    """Upper edge of the band where the stems of ``config``, written at ``sample_rate``, must
    sum to the mixture."""
    edge = sample_rate / 2
    if sample_rate != config.sample_rate:
        edge *= RESAMPLED_PASSBAND
    if config.mask_extension == "zeros":
        edge = min(edge, CUTOFF_MARGIN * config.cutoff_hz)
    return edge


def _energy(spectrum: np.ndarray) -> float:
    return float(
        np.sum(np.square(spectrum.real), dtype=np.float64)
        + np.sum(np.square(spectrum.imag), dtype=np.float64)
    )


def _block_energies(
    mix: np.ndarray, total: np.ndarray, rate: int, cutoff_hz: float
) -> tuple[float, float]:
    """In-band energy of ``mix - total`` and of ``mix`` for one block. The FFTs run in float32
    (energies summed in float64): within about 1e-7 dB of float64, at half the cost."""
    import scipy.fft  # here, not at import: `stemline separate` starts faster without it

    m = np.asarray(mix, np.float32)
    keep = int(np.count_nonzero(np.fft.rfftfreq(len(m), 1 / rate) < cutoff_hz))
    diff = np.asarray(m - total, np.float32)
    return (
        _energy(scipy.fft.rfft(diff, axis=0)[:keep]),
        _energy(scipy.fft.rfft(m, axis=0)[:keep]),
    )


def _to_db(err: float, ref: float) -> float:
    return float(10 * np.log10(max(err, 1e-30) / max(ref, 1e-30)))


def band_residual_db(mix: np.ndarray, total: np.ndarray, rate: int, cutoff_hz: float) -> float:
    """Energy of ``mix - total`` relative to ``mix`` below ``cutoff_hz``, in dB."""
    err = ref = 0.0
    for start in range(0, len(mix), BLOCK):
        e, r = _block_energies(
            mix[start : start + BLOCK], total[start : start + BLOCK], rate, cutoff_hz
        )
        err, ref = err + e, ref + r
    return _to_db(err, ref)


class _Fifo:
    """Samples pushed in arbitrary pieces, taken out in blocks of a fixed length."""

    def __init__(self) -> None:
        self._pieces: list[np.ndarray] = []
        self.size = 0

    def push(self, piece: np.ndarray) -> None:
        if len(piece):
            self._pieces.append(piece)
            self.size += len(piece)

    def take(self, n: int) -> np.ndarray:
        joined = np.concatenate(self._pieces) if len(self._pieces) > 1 else self._pieces[0]
        head, rest = joined[:n], joined[n:]
        self._pieces = [rest] if len(rest) else []
        self.size = len(rest)
        return head


class SumResidual:
    """:func:`band_residual_db` measured on streams: the mixture as it is read and the sum of
    the stems as they are written, which may arrive in pieces of any length and lag.

    The mixture may come from another thread than the stems (the reader's); the FFTs run in
    the stems' thread (:meth:`add_stems`, then :meth:`residual_db`), block after block in
    order, outside the lock, so pushing the mixture never waits for them.
    """

    def __init__(self, sample_rate: int, cutoff_hz: float) -> None:
        self.sample_rate = sample_rate
        self.cutoff_hz = cutoff_hz
        self._lock = threading.Lock()  # guards the two queues
        self._mix = _Fifo()
        self._total = _Fifo()
        self._err = self._ref = 0.0

    def add_mixture(self, block: np.ndarray) -> None:
        """The next mixture samples ``(n, channels)``."""
        with self._lock:
            self._mix.push(np.array(block, np.float32))

    def add_stems(self, blocks: list[np.ndarray]) -> None:
        """The next samples of every stem, as written (equal lengths); measures every block
        of :data:`BLOCK` samples both streams now hold."""
        total = np.sum(blocks, axis=0, dtype=np.float32)
        with self._lock:
            self._total.push(total)
        self._drain(final=False)

    def _drain(self, final: bool) -> None:
        """Measure the blocks both streams hold (and the last, shorter one when ``final``)."""
        while True:
            with self._lock:
                n = min(BLOCK, self._mix.size, self._total.size)
                if n == 0 or (n < BLOCK and not final):
                    return
                mix, total = self._mix.take(n), self._total.take(n)
            e, r = _block_energies(mix, total, self.sample_rate, self.cutoff_hz)
            self._err, self._ref = self._err + e, self._ref + r

    def residual_db(self) -> float:
        """The residual over everything pushed, in dB; call once both streams are complete."""
        with self._lock:
            if self._mix.size != self._total.size:
                raise ValueError(
                    f"mixture and stems differ in length by {self._mix.size - self._total.size} "
                    "samples"
                )
        self._drain(final=True)
        return _to_db(self._err, self._ref)


def recorded_residual_db(recorded: Iterable[float | None]) -> float:
    """The one residual a track's stems were written with, from the value each stem's record
    carries (:class:`SumResidual` measures one per track, recorded on every stem's row).

    Returns NaN, which no limit accepts, when the records do not agree on one value or lack it.
    """
    values = set(recorded)
    if len(values) != 1 or None in values:
        return float("nan")
    return float(values.pop())
