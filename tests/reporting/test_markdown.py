"""Markdown for metadata: base64 PNG images and tables."""

from __future__ import annotations

import base64
import re

import polars as pl
import pytest

from reporting import metrics_table_markdown, png_markdown, stem_spectrograms_png
from tests.reporting.png_image import decode_png


def test_png_markdown_round_trip():
    import numpy as np

    png = stem_spectrograms_png({"bass": np.zeros(4410, np.float32)}, 44100)
    text = png_markdown(png, "stems [ab12]\nfirst 30 s")
    match = re.fullmatch(r"!\[([^\]\n]*)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert match is not None
    assert match.group(1) == "stems (ab12) first 30 s"
    assert base64.b64decode(match.group(2)) == png
    assert decode_png(base64.b64decode(match.group(2))).shape[1] == 900


def test_png_markdown_rejects_non_png():
    with pytest.raises(ValueError, match="PNG"):
        png_markdown(b"GIF89a", "x")


def test_table_formats_numbers_nulls_and_escapes():
    df = pl.DataFrame(
        {
            "stem": ["vocals", "a|b", None],
            "sdr_db": [7.256, float("nan"), None],
            "n_notes": [12, 0, None],
            "silent": [False, True, None],
        }
    )
    assert metrics_table_markdown(df).split("\n") == [
        "| stem | sdr_db | n_notes | silent |",
        "| --- | ---: | ---: | --- |",
        "| vocals | 7.26 | 12 | false |",
        "| a\\|b | nan | 0 | true |",
        "|  |  |  |  |",
    ]


def test_table_digits_and_empty():
    df = pl.DataFrame({"x": [1.0 / 3]}, schema={"x": pl.Float32})
    assert metrics_table_markdown(df, float_digits=4).endswith("| 0.3333 |")
    assert metrics_table_markdown(df.clear()) == "| x |\n| ---: |"
    assert metrics_table_markdown(pl.DataFrame()) == ""
    with pytest.raises(ValueError):
        metrics_table_markdown(df, float_digits=-1)
