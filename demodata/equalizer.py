"""Mix EQ of the demo's lead vocal, as second-order sections for :func:`scipy.signal.sosfilt`.

A lead vocal in a produced mix is rarely left flat: rumble and proximity bass are cut, the
presence region (3-5 kHz, where intelligibility and "forwardness" live) and the air above
10 kHz are lifted so the voice sits in front of the band. The EQ here is a typical, moderate
one: a 2nd-order Butterworth high-pass at 90 Hz, +3 dB peaking at 3.5 kHz (Q 1) and a +3 dB
high shelf at 10 kHz (shelf slope 1). The biquads follow R. Bristow-Johnson's "Audio EQ
Cookbook".
"""

from __future__ import annotations

import numpy as np

HIGH_PASS_HZ = 90.0
PRESENCE_HZ, PRESENCE_DB, PRESENCE_Q = 3500.0, 3.0, 1.0
AIR_HZ, AIR_DB = 10000.0, 3.0


def peaking(freq: float, gain_db: float, q: float, sr: int) -> np.ndarray:
    """One peaking-EQ biquad as a normalised section ``(b0, b1, b2, 1, a1, a2)``."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / sr
    alpha = np.sin(w0) / (2 * q)
    b = (1 + alpha * amp, -2 * np.cos(w0), 1 - alpha * amp)
    a = (1 + alpha / amp, -2 * np.cos(w0), 1 - alpha / amp)
    return np.array([*b, *a]) / a[0]


def high_shelf(freq: float, gain_db: float, sr: int) -> np.ndarray:
    """One high-shelf biquad (shelf slope 1) as a normalised section."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / sr
    cos_w, beta = np.cos(w0), 2 * np.sqrt(amp) * np.sin(w0) / 2 * np.sqrt(2.0)
    b = (
        amp * ((amp + 1) + (amp - 1) * cos_w + beta),
        -2 * amp * ((amp - 1) + (amp + 1) * cos_w),
        amp * ((amp + 1) + (amp - 1) * cos_w - beta),
    )
    a = (
        (amp + 1) - (amp - 1) * cos_w + beta,
        2 * ((amp - 1) - (amp + 1) * cos_w),
        (amp + 1) - (amp - 1) * cos_w - beta,
    )
    return np.array([*b, *a]) / a[0]


def lead_vocal_eq(sr: int) -> np.ndarray:
    """The lead-vocal EQ (module docstring) as ``(3, 6)`` second-order sections."""
    from scipy import signal  # lazy: keeps `stemline` start-up free of scipy

    high_pass = signal.butter(2, HIGH_PASS_HZ, btype="highpass", fs=sr, output="sos")
    return np.vstack(
        [
            high_pass,
            peaking(PRESENCE_HZ, PRESENCE_DB, PRESENCE_Q, sr),
            high_shelf(AIR_HZ, AIR_DB, sr),
        ]
    )
