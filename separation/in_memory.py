"""Separating a signal held in memory: ``Separator.separate`` (and each of ``separate_many``).

The waveform is checked (:func:`~separation.audio.validate_waveform`), mapped to stereo and
resampled to the model rate as a stream, separated chunk by chunk (:mod:`separation.stream`)
into one array per stem, and the stems are resampled back to the input's rate and length in
one go: the caller asked for arrays, so nothing is gained by streaming the way back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import soxr

from .audio import resample_blocks, resampled_length, to_stereo, validate_waveform
from .stream import iter_model_rate

if TYPE_CHECKING:
    from .batching import Membership
    from .model import SeparationModel


def separate_waveform(
    model: SeparationModel,
    waveform: np.ndarray,
    sample_rate: int | None,
    *,
    mwf: bool,
    multichannel: str,
    membership: Membership | None = None,
    read_ahead: bool = True,
) -> dict[str, np.ndarray]:
    """Separate an in-memory signal; :meth:`Separator.separate` with the separator's ``model``,
    ``mwf`` and ``multichannel`` and the track's batch ``membership`` and ``read_ahead``
    (:func:`separation.stream.iter_model_rate`).

    Returns
    -------
    dict of str to ndarray
        One float32 ``(n_samples, 2)`` array per instrument, at ``sample_rate``.
    """
    cfg = model.config
    audio = validate_waveform(waveform)
    rate = int(sample_rate or cfg.sample_rate)
    stereo = to_stereo(audio, multichannel)
    model_rate = cfg.sample_rate
    n_model = resampled_length(len(stereo), rate, model_rate)

    def source() -> Iterator[np.ndarray]:
        return resample_blocks(iter([stereo]), rate, model_rate, 2, n_model)

    out = np.zeros((len(cfg.instruments), n_model, 2), np.float32)
    blocks = iter_model_rate(
        model, source, n_model, mwf=mwf, membership=membership, read_ahead=read_ahead
    )
    with contextlib.closing(blocks):
        for start, block in blocks:
            out[:, start : start + block.shape[1]] = block
    if rate != model_rate:
        out = np.stack([_resample_exact(o, model_rate, rate, len(stereo)) for o in out])
    return {inst: out[i] for i, inst in enumerate(cfg.instruments)}


def _resample_exact(x: np.ndarray, rate_in: int, rate_out: int, n_out: int) -> np.ndarray:
    """Resample a whole ``(n, channels)`` array to exactly ``n_out`` samples."""
    y = soxr.resample(x, rate_in, rate_out, quality="HQ").astype(np.float32)
    if len(y) >= n_out:
        return y[:n_out]
    return np.concatenate([y, np.zeros((n_out - len(y), y.shape[1]), np.float32)])
