"""A stem's f0 contour (voiced frames only) and notes drawn over its spectrogram.

The contour uses the ``pitch`` table of :mod:`features.pitch` (``time_s``, ``f0_hz``,
``voiced``); unvoiced frames are gaps, never lines to zero. Notes (``notes`` table of
:mod:`features.notes`: ``onset_s``, ``offset_s``, ``midi_pitch``) are outlined bars one
semitone high. The pitch axis zooms to the sung/played range plus half an octave.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from reporting.figure_png import add_colorbar, figure_png, new_figure
from reporting.pitch_axis import draw_spectrogram, label_pitch_axis
from reporting.spectrogram import hz_to_midi, log_spectrogram

HEIGHT_IN = 3.0
ZOOM_MARGIN_SEMITONES = 6.0
CONTOUR_COLOUR = "#37d7ff"
NOTE_COLOUR = "#ffffff"


def voiced_contour_midi(pitch: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Frame times (s) and pitch (MIDI) of a ``pitch`` table, NaN on unvoiced frames."""
    times = pitch["time_s"].to_numpy().astype(np.float64)
    voiced = pitch["voiced"].to_numpy().astype(bool) & (pitch["f0_hz"].to_numpy() > 0)
    midi = np.where(voiced, hz_to_midi(pitch["f0_hz"].to_numpy()), np.nan)
    return times, midi


def pitch_contour_png(
    audio: np.ndarray,
    sample_rate: int,
    pitch: pl.DataFrame,
    notes: pl.DataFrame | None = None,
    title: str = "",
    max_seconds: float = 30.0,
) -> bytes:
    """PNG of the stem's spectrogram with its voiced f0 contour and notes (900 px wide).

    Parameters
    ----------
    audio : numpy.ndarray
        The stem, ``(n,)`` or ``(n, channels)`` float.
    sample_rate : int
        Rate of ``audio``, Hz.
    pitch : polars.DataFrame
        ``pitch`` table (needs ``time_s``, ``f0_hz``, ``voiced``); may be empty.
    notes : polars.DataFrame, optional
        ``notes`` table (needs ``onset_s``, ``offset_s``, ``midi_pitch``).
    title : str, optional
        Figure title.
    max_seconds : float, optional
        Only the first ``max_seconds`` are drawn, so a contour stays readable.

    Returns
    -------
    bytes
        PNG image.
    """
    if max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    clip = np.asarray(audio)[: round(max_seconds * sample_rate)]
    spec = log_spectrogram(clip, sample_rate)
    figure, (ax,) = new_figure(1, HEIGHT_IN, title=bool(title))
    image = draw_spectrogram(ax, spec, spec.db())
    end_s = spec.duration_s
    times, midi = voiced_contour_midi(pitch.filter(pl.col("time_s") <= end_s))
    shown = midi[np.isfinite(midi)]
    if shown.size:
        ax.plot(times, midi, color=CONTOUR_COLOUR, linewidth=1.2, label="f0 (voiced)")
    if notes is not None and notes.height:
        kept = notes.filter(pl.col("onset_s") < end_s)
        if kept.height:
            ax.barh(
                kept["midi_pitch"].to_numpy(),
                (kept["offset_s"] - kept["onset_s"]).to_numpy(),
                left=kept["onset_s"].to_numpy(),
                height=1.0,
                fill=False,
                edgecolor=NOTE_COLOUR,
                linewidth=0.9,
                label="notes",
            )
            shown = np.concatenate([shown, kept["midi_pitch"].to_numpy().astype(float)])
    if shown.size:
        low = max(float(spec.midi[0]), float(shown.min()) - ZOOM_MARGIN_SEMITONES)
        high = min(float(spec.midi[-1]), float(shown.max()) + ZOOM_MARGIN_SEMITONES)
        label_pitch_axis(ax, low, high)
        ax.legend(loc="upper right", fontsize=8, framealpha=0.6)
    else:
        ax.text(
            0.5,
            0.5,
            "no voiced frames",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="white",
            fontsize=12,
        )
    ax.set_xlabel("time (s)")
    add_colorbar(figure, image, [ax], "dB re stem peak")
    if title:
        ax.set_title(title, fontsize=11)
    return figure_png(figure)
