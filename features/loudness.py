"""Integrated loudness (ITU-R BS.1770-4 / EBU R128) of a stem, in LUFS.

The ``integrated_lufs`` summary column. The measure, as the recommendation defines it:

1. **K-weighting** of every channel: a high shelf (+4 dB above about 1.7 kHz, the head) then a
   high-pass (RLB, below about 38 Hz), two biquads designed for the signal's own sample rate
   from the analogue prototypes behind BS.1770's 48 kHz coefficients (the form libebur128 and
   pyloudnorm use; at 48 kHz it gives the published coefficients).
2. **Blocks** of 400 ms every 100 ms (75 % overlap) from the first sample; the last block is the
   first one that reaches the end of the signal, zero-padded. A block's power is the sum over
   channels of the mean square of the weighted signal (all channel weights are 1: mono and
   stereo stems).
3. **Gating**: blocks below -70 LUFS are dropped (absolute gate); the rest give a mean power,
   and blocks more than 10 LU below it are dropped too (relative gate). The loudness is
   ``-0.691 + 10 log10`` of the mean power of the remaining blocks; -70 LUFS when none remains.

Only the integrated value is computed: the short-term (3 s) and momentary loudness that
essentia's ``LoudnessEBUR128`` also produces (every 100 ms, thirty times over the same
samples for the short-term one) are not needed here, and computing them took most of a stem's
loudness time. The two agree within about 0.1 LU on music (essentia uses 3-decimal
coefficients at 44.1 kHz and a 1:1 resampler on the way in; checked in
``tests/features/test_loudness.py``).
"""

from __future__ import annotations

import math

import numpy as np

from features.biquads import sosfilt

BLOCK_S = 0.4
STEP_S = 0.1
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
#: ``loudness = LOUDNESS_OFFSET + 10 log10(power)`` (BS.1770).
LOUDNESS_OFFSET = -0.691

# The analogue prototypes of BS.1770's K-weighting biquads (libebur128's constants).
SHELF_HZ, SHELF_GAIN_DB, SHELF_Q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
SHELF_BAND_EXPONENT = 0.4996667741545416
HIGHPASS_HZ, HIGHPASS_Q = 38.13547087602444, 0.5003270373238773


def k_weighting_sos(sample_rate: float) -> np.ndarray:
    """The two K-weighting biquads for ``sample_rate`` as second-order sections
    ``[b0, b1, b2, 1, a1, a2]`` (``scipy.signal``'s layout), shape ``(2, 6)``."""
    k = math.tan(math.pi * SHELF_HZ / sample_rate)
    vh = 10.0 ** (SHELF_GAIN_DB / 20.0)
    vb = vh**SHELF_BAND_EXPONENT
    a0 = 1.0 + k / SHELF_Q + k * k
    shelf = [
        (vh + vb * k / SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / SHELF_Q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / SHELF_Q + k * k) / a0,
    ]
    k = math.tan(math.pi * HIGHPASS_HZ / sample_rate)
    a0 = 1.0 + k / HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass])


def block_powers(audio: np.ndarray, sample_rate: float) -> np.ndarray:
    """Power of every 400 ms gating block of ``(n_samples,)`` or ``(n_samples, channels)`` audio
    after K-weighting (step 2 of the module doc)."""
    # features.biquads.sosfilt gives scipy.signal.sosfilt's result to float64 rounding without
    # importing scipy.signal (a second of every feature worker's start-up). It makes the
    # contiguous float64 rows of the channels itself (and filters such a copy in place).
    channels = np.atleast_2d(np.asarray(audio).T)
    weighted = sosfilt(k_weighting_sos(sample_rate), channels)
    power = np.einsum("cn,cn->n", weighted, weighted)  # summed over channels
    size, step = round(BLOCK_S * sample_rate), round(STEP_S * sample_rate)
    n = power.size
    n_blocks = 1 if n <= size else -(-(n - size) // step) + 1
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(n_blocks) * step
    ends = np.minimum(starts + size, n)
    return (cumulative[ends] - cumulative[starts]) / size


def integrated_loudness(audio: np.ndarray, sample_rate: float) -> float:
    """Gated integrated loudness in LUFS of ``(n_samples,)`` or ``(n_samples, channels)`` audio.

    Examples
    --------
    >>> t = np.arange(2 * 48000) / 48000
    >>> tone = 0.1 * np.sin(2 * np.pi * 997 * t)
    >>> round(integrated_loudness(np.stack([tone, tone], axis=1), 48000), 1)
    -20.0
    """
    powers = block_powers(audio, sample_rate)
    absolute = 10.0 ** ((ABSOLUTE_GATE_LUFS - LOUDNESS_OFFSET) / 10.0)
    kept = powers[powers >= absolute]
    if kept.size == 0:
        return ABSOLUTE_GATE_LUFS
    relative = max(kept.mean() * 10.0 ** (RELATIVE_GATE_LU / 10.0), absolute)
    kept = powers[powers >= relative]
    return LOUDNESS_OFFSET + 10.0 * math.log10(kept.mean())
