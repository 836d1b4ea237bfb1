"""Figures rendered off-screen with matplotlib's Agg canvas, returned as small PNG bytes.

No pyplot: each figure is a standalone :class:`matplotlib.figure.Figure` on its own
:class:`FigureCanvasAgg`, so plotting is thread-safe, leaves no global state behind and
needs no display. Widths are 900 px (9 in at 100 dpi), sized for Dagster's asset page.
Margins are fixed in inches (constrained layout doubled the drawing time), with room on
the left for pitch labels and on the right for a colour bar. The rendered image is
reduced to a 256-colour palette before PNG encoding: spectrograms are noisy and compress
badly in RGBA, and the image travels base64-encoded inside asset metadata (about 70 kB
instead of 280 kB for four stems).
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colorbar import Colorbar
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from PIL import Image

DPI = 100
WIDTH_IN = 9.0
LEFT_IN = 1.0
RIGHT_IN = 1.0
TOP_IN = 0.4
BOTTOM_IN = 0.5
COLORBAR_GAP_IN = 0.12
COLORBAR_WIDTH_IN = 0.12
PALETTE_COLOURS = 256


def new_figure(rows: int, row_height_in: float, *, title: bool) -> tuple[Figure, list[Axes]]:
    """A 900 px wide figure with ``rows`` stacked axes sharing the x axis.

    Parameters
    ----------
    rows : int
        Number of panels.
    row_height_in : float
        Height of each panel, inches (100 px per inch).
    title : bool
        Whether to leave room at the top for a title.
    """
    top = TOP_IN if title else 0.15
    height = rows * row_height_in + top + BOTTOM_IN
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(
        left=LEFT_IN / WIDTH_IN,
        right=1 - RIGHT_IN / WIDTH_IN,
        top=1 - top / height,
        bottom=BOTTOM_IN / height,
        hspace=0.08,
    )
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return figure, list(axes)


def add_colorbar(figure: Figure, image: AxesImage, axes: list[Axes], label: str) -> Colorbar:
    """A thin colour bar right of ``axes``, spanning their full height."""
    first, last = axes[0].get_position(), axes[-1].get_position()
    width_frac = 1.0 / WIDTH_IN
    cax = figure.add_axes(
        (
            first.x1 + COLORBAR_GAP_IN * width_frac,
            last.y0,
            COLORBAR_WIDTH_IN * width_frac,
            first.y1 - last.y0,
        )
    )
    colorbar = figure.colorbar(image, cax=cax)
    colorbar.set_label(label, fontsize=8)
    colorbar.ax.tick_params(labelsize=7)
    return colorbar


def figure_png(figure: Figure) -> bytes:
    """The figure as a palette PNG (256 colours) at :data:`DPI`."""
    canvas = figure.canvas
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    palette = Image.fromarray(rgb).quantize(
        colors=PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE
    )
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG")
    return buffer.getvalue()
