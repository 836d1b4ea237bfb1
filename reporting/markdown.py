"""Markdown for Dagster asset metadata (``MetadataValue.md``): images and tables.

Images are embedded as base64 ``data:`` URIs, so the metadata needs no file store;
keep them small (the plots of :mod:`reporting` are 900 px wide, tens of kB).
Tables are GitHub-flavoured markdown with numbers right-aligned.
"""

from __future__ import annotations

import base64
import math

import polars as pl

#: The first eight bytes of every PNG file.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_markdown(png: bytes, alt: str) -> str:
    """``![alt](data:image/png;base64,...)`` for a PNG image.

    Raises
    ------
    ValueError
        If ``png`` does not start with the PNG signature.

    Examples
    --------
    >>> png_markdown(b"\\x89PNG\\r\\n\\x1a\\n", "x")
    '![x](data:image/png;base64,iVBORw0KGgo=)'
    """
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not PNG data")
    safe_alt = " ".join(alt.split()).replace("[", "(").replace("]", ")")
    return f"![{safe_alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def _cell(value: object, float_digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else f"{value:.{float_digits}f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|")


def metrics_table_markdown(df: pl.DataFrame, float_digits: int = 2) -> str:
    """A markdown table of ``df``: one header row, numbers right-aligned.

    Parameters
    ----------
    df : polars.DataFrame
        The table; nulls become empty cells, floats get ``float_digits`` decimals
        (NaN and inf are written as such), ``|`` and newlines in text are escaped.
    float_digits : int, optional
        Decimals for float columns.

    Returns
    -------
    str
        The table, rows separated by ``\\n``; only the header and rule when ``df`` is
        empty, and ``""`` when it has no columns.

    Examples
    --------
    >>> print(metrics_table_markdown(pl.DataFrame({"stem": ["bass"], "sdr_db": [7.256]})))
    | stem | sdr_db |
    | --- | ---: |
    | bass | 7.26 |
    """
    if float_digits < 0:
        raise ValueError("float_digits must be non-negative")
    if not df.columns:
        return ""
    header = "| " + " | ".join(_cell(c, float_digits) for c in df.columns) + " |"
    rule = "| " + " | ".join("---:" if dtype.is_numeric() else "---" for dtype in df.dtypes) + " |"
    rows = ["| " + " | ".join(_cell(v, float_digits) for v in row) + " |" for row in df.iter_rows()]
    return "\n".join([header, rule, *rows])
