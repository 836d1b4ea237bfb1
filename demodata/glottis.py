"""Glottal source of the demo voice: the singer's voice quality and the source of one note.

The source is the glottal flow derivative (the flow's derivative is what the lips radiate),
a function of the phase ``x`` in [0, 1) within each glottal cycle:

- opening lobe up to ``tp`` and closing lobe up to ``te`` (the open quotient), as in
  Rosenberg's pulse; the closing lobe ends at the negative peak -1, the glottal closure;
- return phase after ``te``: an exponential back to zero with time constant ``ta`` (the LF
  model's return phase). It rounds off the closure, which sets the spectral tilt (about
  -12 dB/octave above ``1 / (2 pi ta)``, -6 below) and keeps aliasing far below the signal;
- the opening lobe is scaled so each cycle integrates to zero: the flow returns to its
  baseline, so the source has no DC.

Per glottal cycle the period is perturbed (jitter) and the amplitude (shimmer); aspiration
noise is added, louder while the glottis is open. The f0 returned is the instantaneous
frequency whose running sum is the phase, jitter included: exactly the f0 of the source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Singer:
    """Voice quality of one song's singer."""

    tract_scale: float  # formant frequency factor (shorter vocal tract: higher)
    open_quotient: float  # open phase per cycle at medium effort
    return_s: float  # return phase time constant, s: smaller is brighter
    jitter: float  # per-cycle period deviation, fraction (standard deviation)
    shimmer: float  # per-cycle amplitude deviation, fraction (standard deviation)
    breathiness: float  # aspiration noise RMS per source peak
    vibrato_hz: float
    vibrato_cents: float  # peak deviation


def draw_singer(rng: np.random.Generator) -> Singer:
    """A random singer within the range of healthy trained pop voices."""
    return Singer(
        tract_scale=rng.uniform(0.92, 1.1),
        open_quotient=rng.uniform(0.5, 0.65),
        return_s=rng.uniform(0.05e-3, 0.1e-3),
        jitter=rng.uniform(0.002, 0.005),
        shimmer=rng.uniform(0.03, 0.06),
        breathiness=rng.uniform(0.02, 0.05),
        vibrato_hz=rng.uniform(5.0, 6.0),
        vibrato_cents=rng.uniform(30.0, 55.0),
    )


def flow_derivative(x: np.ndarray, te: float, tp: float, ta: np.ndarray) -> np.ndarray:
    """Glottal flow derivative at cycle phase ``x`` (see module docstring).

    Parameters
    ----------
    x : numpy.ndarray
        Phase within the cycle, in [0, 1).
    te, tp : float
        End of the closing lobe (open quotient) and of the opening lobe, ``0 < tp < te < 1``.
    ta : numpy.ndarray or float
        Return phase time constant in cycles.

    Returns
    -------
    numpy.ndarray
        The derivative, -1 at ``te``, zero mean over a cycle.
    """
    ta = np.broadcast_to(ta, x.shape)
    peak = np.pi / (2 * (te - tp))
    out = np.empty_like(x)
    opening, returning = x < tp, x >= te
    closing = ~(opening | returning)
    out[closing] = -np.sin(np.pi * (x[closing] - tp) / (2 * (te - tp)))
    ta_o, ta_r = ta[opening], ta[returning]
    tail_o, tail_r = np.exp(-(1 - te) / ta_o), np.exp(-(1 - te) / ta_r)
    area = (ta_o * (1 - tail_o) - (1 - te) * tail_o) / (1 - tail_o)  # the return phase's
    out[opening] = (1 + area * peak) * (np.pi / (2 * tp)) / peak * np.sin(np.pi * x[opening] / tp)
    out[returning] = -(np.exp(-(x[returning] - te) / ta_r) - tail_r) / (1 - tail_r)
    return out


def glottal_source(
    f0_smooth: np.ndarray, sr: int, rng: np.random.Generator, singer: Singer, effort: float
) -> tuple[np.ndarray, np.ndarray]:
    """Source of one note and its exact f0 per sample.

    Parameters
    ----------
    f0_smooth : numpy.ndarray
        The sung contour per sample, Hz (:mod:`demodata.contour`).
    sr : int
        Sampling rate in Hz.
    rng : numpy.random.Generator
        Source of jitter, shimmer and aspiration noise.
    singer : Singer
        Voice quality.
    effort : float
        Vocal effort in (0, 1] (the note's velocity): louder notes close the glottis sooner
        and faster, so they are brighter.

    Returns
    -------
    source : numpy.ndarray
        The source; the first sample is the start of a cycle (zero flow derivative).
    f0 : numpy.ndarray
        ``f0_smooth`` times each glottal cycle's jitter factor, Hz.
    """
    cycles = (np.cumsum(f0_smooth) / sr).astype(int)
    jitter = 1 + singer.jitter * rng.standard_normal(cycles[-1] + 1)
    f0 = f0_smooth * jitter[cycles]
    phase = np.cumsum(f0) / sr - f0[0] / sr
    cycle = phase.astype(int)
    x = phase - cycle
    te = singer.open_quotient - 0.1 * (effort - 0.85)
    tp = te * 2.0 / 3.0
    ta = singer.return_s * (1.3 - 0.6 * effort) * f0
    shimmer = 1 + singer.shimmer * rng.standard_normal(cycle[-1] + 1)
    wave = shimmer[cycle] * flow_derivative(x, te, tp, ta)
    noise = singer.breathiness * rng.standard_normal(f0.size) * np.where(x < te, 1.0, 0.4)
    return wave + noise, f0
