"""Plots and markdown for the Dagster UI (asset metadata), with matplotlib's Agg canvas.

- :func:`stem_spectrograms_png`: stacked log-frequency dB spectrograms of a track's stems.
- :func:`pitch_contour_png`: a stem's voiced f0 contour and notes over its spectrogram.
- :func:`png_markdown`: a PNG as a markdown image (base64 data URI) for ``MetadataValue.md``.
- :func:`metrics_table_markdown`: a polars table as a markdown table.
- :func:`log_spectrogram`: the band-power matrix behind the plots (MIDI-pitch rows,
  seconds columns), for tests and other figures.

The dataset report's example section lives in submodules, imported on use (they read the
catalogue with DuckDB): :mod:`reporting.example_track` chooses the track to draw (the most
voiced vocals) and :mod:`reporting.example_plots` draws it, naming it by path.

The plotting functions import matplotlib when first used, so the definitions that only need
the markdown helpers load without it.

Spectrogram rows are MIDI pitches (A4 = 69 = 440 Hz, three bands per semitone from C1),
times are seconds. This package never imports Dagster and never uses pyplot.
"""

from reporting.markdown import metrics_table_markdown, png_markdown
from reporting.spectrogram import LogSpectrogram, log_spectrogram

#: The plotting functions and the modules that hold them: matplotlib loads on first use (see
#: :func:`__getattr__`), not with the asset definitions that only need the markdown tables.
_PLOTS = {
    "pitch_contour_png": "reporting.pitch_contour",
    "stem_spectrograms_png": "reporting.stem_spectrograms",
}

__all__ = [
    "LogSpectrogram",
    "log_spectrogram",
    "metrics_table_markdown",
    "pitch_contour_png",
    "png_markdown",
    "stem_spectrograms_png",
]


def __getattr__(name: str):
    """The plotting functions of :data:`_PLOTS`, imported when first asked for (PEP 562)."""
    if name in _PLOTS:
        import importlib

        return getattr(importlib.import_module(_PLOTS[name]), name)
    raise AttributeError(f"module 'reporting' has no attribute {name!r}")
