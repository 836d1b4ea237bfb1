"""Drawing a :class:`~reporting.spectrogram.LogSpectrogram` on a MIDI-pitch y axis.

The y axis is in MIDI pitch units (so f0 contours and note bars share it) and labelled
with note names and frequencies, e.g. ``C4 262 Hz``: every C over a wide range, every
natural note (white key) when the axis spans at most :data:`NATURALS_MAX_SPAN`
semitones.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.image import AxesImage

from reporting.spectrogram import FLOOR_DB, LogSpectrogram, midi_to_hz

COLORMAP = "magma"
NATURALS_MAX_SPAN = 30.0
NATURAL_NAMES = {0: "C", 2: "D", 4: "E", 5: "F", 7: "G", 9: "A", 11: "B"}


def note_label(midi: int) -> str:
    """Label of a natural note: name, octave and frequency (``C4 262 Hz``, ``A4 440 Hz``)."""
    return f"{NATURAL_NAMES[midi % 12]}{midi // 12 - 1} {midi_to_hz(midi):.0f} Hz"


def label_pitch_axis(ax: Axes, low: float, high: float) -> None:
    """Limit the y axis to MIDI ``[low, high]`` and label Cs (or all naturals if narrow)."""
    ax.set_ylim(low, high)
    names = (0,) if high - low > NATURALS_MAX_SPAN else tuple(NATURAL_NAMES)
    ticks = [m for m in range(int(np.ceil(low)), int(np.floor(high)) + 1) if m % 12 in names]
    ax.set_yticks(ticks, [note_label(m) for m in ticks], fontsize=7)


def draw_spectrogram(
    ax: Axes, spec: LogSpectrogram, db: np.ndarray, floor_db: float = FLOOR_DB
) -> AxesImage:
    """Draw ``db`` (``(n_bands, n_frames)``, from ``spec``) as an image on ``ax``.

    Cells are centred on the frame times and band pitches; the colour scale runs from
    ``floor_db`` to 0 dB. Returns the image (for a colour bar).
    """
    dt = float(spec.times_s[1] - spec.times_s[0]) if spec.times_s.size > 1 else spec.duration_s
    dm = spec.band_width_semitones
    extent = (
        float(spec.times_s[0]) - dt / 2,
        float(spec.times_s[-1]) + dt / 2,
        float(spec.midi[0]) - dm / 2,
        float(spec.midi[-1]) + dm / 2,
    )
    image = ax.imshow(
        db,
        origin="lower",
        aspect="auto",
        extent=extent,
        cmap=COLORMAP,
        vmin=floor_db,
        vmax=0.0,
        interpolation="nearest",
    )
    ax.set_xlim(0.0, max(spec.duration_s, dt))
    label_pitch_axis(ax, extent[2], extent[3])
    return image
