"""One log-frequency spectrogram panel per stem, stacked on a shared time axis.

All panels share one dB reference, the loudest band of all stems, so a quiet stem looks
quiet and a silent one stays dark: the picture shows the balance of the separation, not
just each stem's shape.
"""

from __future__ import annotations

import numpy as np

from reporting.figure_png import add_colorbar, figure_png, new_figure
from reporting.pitch_axis import draw_spectrogram
from reporting.spectrogram import FLOOR_DB, log_spectrogram

PANEL_HEIGHT_IN = 1.7


def stem_spectrograms_png(
    stems: dict[str, np.ndarray], sample_rate: int, title: str = "", max_seconds: float = 30.0
) -> bytes:
    """PNG of stacked dB spectrograms of a track's stems (900 px wide).

    Parameters
    ----------
    stems : dict of str to numpy.ndarray
        Stem name to audio, ``(n,)`` or ``(n, channels)`` float; drawn in dict order.
    sample_rate : int
        Rate of every stem, Hz.
    title : str, optional
        Figure title.
    max_seconds : float, optional
        Only the first ``max_seconds`` of each stem are drawn (keeps it fast, < 1 s for
        four 30 s stems).

    Returns
    -------
    bytes
        PNG image; pass it to :func:`reporting.png_markdown` for Dagster metadata.

    Examples
    --------
    >>> png = stem_spectrograms_png({"vocals": v, "bass": b}, 44100, "ab12")  # doctest: +SKIP
    """
    if not stems:
        raise ValueError("no stems to draw")
    if max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    n_keep = round(max_seconds * sample_rate)
    specs = {
        name: log_spectrogram(np.asarray(audio)[:n_keep], sample_rate)
        for name, audio in stems.items()
    }
    reference = max(float(s.power.max()) for s in specs.values())
    figure, axes = new_figure(len(specs), PANEL_HEIGHT_IN, title=bool(title))
    longest = max(s.duration_s for s in specs.values())
    image = None
    for ax, (name, spec) in zip(axes, specs.items(), strict=True):
        image = draw_spectrogram(ax, spec, spec.db(reference if reference > 0 else None))
        ax.set_ylabel(name, fontsize=9)
    axes[0].set_xlim(0.0, longest)
    axes[-1].set_xlabel("time (s)")
    add_colorbar(figure, image, axes, f"dB re loudest stem (floor {FLOOR_DB:.0f})")
    if title:
        figure.suptitle(title, fontsize=11)
    return figure_png(figure)
