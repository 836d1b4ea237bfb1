"""Stacked stem spectrograms: a decodable 900 px PNG, one panel per stem.

Their speed (under 1 s for four 30 s stems) is measured by ``benchmarks/report_plots.py``, not
asserted here: a timing assertion fails on a loaded machine.
"""

from __future__ import annotations

import numpy as np
import pytest

from demodata.signals import four_stems
from reporting import stem_spectrograms_png
from tests.reporting.png_image import decode_png

SR = 44100


def test_four_30s_stems_small():
    png = stem_spectrograms_png(four_stems(30.0), SR, title="ab12 — 4stems")
    pixels = decode_png(png)
    assert pixels.shape[1] == 900
    assert len(png) < 200_000


def test_height_grows_with_stems_and_max_seconds_cuts():
    stems = four_stems(3.0)
    one = decode_png(stem_spectrograms_png({"vocals": stems["vocals"]}, SR))
    four = decode_png(stem_spectrograms_png(stems, SR, max_seconds=1.0))
    assert four.shape[0] > 3 * one.shape[0] * 0.6
    assert one.shape[1] == four.shape[1] == 900


def test_silent_stems_only_still_draw():
    png = stem_spectrograms_png({"vocals": np.zeros(SR, np.float32)}, SR, title="silent")
    assert decode_png(png).shape[1] == 900


def test_bad_input_rejected():
    with pytest.raises(ValueError, match="no stems"):
        stem_spectrograms_png({}, SR)
    with pytest.raises(ValueError, match="max_seconds"):
        stem_spectrograms_png({"a": np.zeros(10)}, SR, max_seconds=0)
