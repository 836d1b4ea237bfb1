"""Decoding PNG bytes in tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from reporting.markdown import PNG_SIGNATURE


def decode_png(png: bytes) -> np.ndarray:
    """Pixels ``(height, width, 3)`` of PNG bytes; asserts the PNG signature."""
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))
