"""The stems-sum-to-mixture residual: streamed while writing equals measured from the files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from demodata.signals import synthetic_mix
from separation import Separator
from separation.configs import load_config
from separation.residual import (
    BLOCK,
    RESIDUAL_LIMIT_DB,
    SumResidual,
    band_residual_db,
    recorded_residual_db,
    residual_band_hz,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def _pieces(x: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    cuts = np.sort(rng.integers(0, len(x), 12))
    return np.split(x, cuts)


def test_streamed_residual_equals_the_whole_signal_measure(rng):
    n = 2 * BLOCK + 12345  # two full FFT blocks and a remainder
    mix = rng.standard_normal((n, 2)).astype(np.float32)
    a = (0.7 * mix + 1e-3 * rng.standard_normal((n, 2))).astype(np.float32)
    b = (0.3 * mix).astype(np.float32)
    whole = band_residual_db(mix, a + b, 44100, 10_000.0)
    meter = SumResidual(44100, 10_000.0)
    # The mixture arrives ahead of the stems and in other piece sizes, as in separate_to_file.
    for piece in _pieces(mix, rng):
        meter.add_mixture(piece)
    for start in range(0, n, 300_000):
        meter.add_stems([a[start : start + 300_000], b[start : start + 300_000]])
    assert meter.residual_db() == pytest.approx(whole, abs=1e-6)
    assert -61 < whole < -59  # the 1e-3 (-60 dB) noise, white like the mixture


def test_residual_counts_only_the_band_below_the_cutoff(rng):
    n = 44100
    t = np.arange(n) / 44100
    low = np.sin(2 * np.pi * 440 * t)
    high = np.sin(2 * np.pi * 15_000 * t)
    mix = np.stack([low + high] * 2, axis=1).astype(np.float32)
    stems = np.stack([low] * 2, axis=1).astype(np.float32)  # the 15 kHz tone is in no stem
    assert band_residual_db(mix, stems, 44100, 11_000.0) < -80
    assert band_residual_db(mix, stems, 44100, 22_050.0) > -5


def test_unequal_streams_are_refused():
    meter = SumResidual(44100, 10_000.0)
    meter.add_mixture(np.zeros((100, 2), np.float32))
    meter.add_stems([np.zeros((90, 2), np.float32)])
    with pytest.raises(ValueError, match="differ in length by 10"):
        meter.residual_db()


def test_band_edge_follows_the_mask_extension():
    zeros = load_config("spleeter:2stems")
    assert residual_band_hz(zeros, 44100) == pytest.approx(0.98 * 11025)
    raw = dict(zeros.raw, mask_extension="average")
    from separation.configs import config_from_dict

    average = config_from_dict(raw)
    assert residual_band_hz(average, 44100) == 22050
    assert residual_band_hz(average, 48000) == pytest.approx(0.9 * 24000)  # resampled
    assert residual_band_hz(zeros, 22050) == pytest.approx(0.9 * 11025)


@pytest.mark.parametrize(
    ("rate", "mwf"), [(44100, False), (22050, False), (16000, False), (44100, True)]
)
def test_separation_reports_the_residual_of_the_files_it_wrote(
    separator_2stems, tmp_path, rate, mwf
):
    import soxr

    x = synthetic_mix(5.0, seed=11)
    if rate != 44100:
        x = soxr.resample(x, 44100, rate).astype(np.float32)
    path = tmp_path / "mix.flac"
    sf.write(path, x, rate, subtype="PCM_16")
    separator = Separator("spleeter:2stems", mwf=True).load() if mwf else separator_2stems
    res = separator.separate_to_file(path, tmp_path / "out", codec="flac")
    mix, _ = sf.read(path, dtype="float32", always_2d=True)
    total = sum(sf.read(p, dtype="float32", always_2d=True)[0] for p in res.stems.values())
    from_files = band_residual_db(mix, total, rate, residual_band_hz(separator.config, rate))
    assert res.mixture_residual_db is not None
    # The written stems are rounded to 16 bits; the stream saw them before that rounding.
    assert res.mixture_residual_db == pytest.approx(from_files, abs=0.5)
    # Masks share the mixture out exactly (up to rounding); the multichannel Wiener filter's
    # iterations only approximately (about -47 dB on this signal).
    assert res.mixture_residual_db < (-40 if mwf else -60)


def test_lossy_stems_are_left_to_the_files(separator_2stems, tmp_path):
    path = tmp_path / "mix.wav"
    sf.write(path, synthetic_mix(2.0, seed=12), 44100)
    res = separator_2stems.separate_to_file(path, tmp_path / "out", codec="ogg")
    assert res.mixture_residual_db is None  # what was written is not what the files hold


def test_a_failing_stem_writer_fails_the_file_and_leaves_nothing(
    separator_2stems, tmp_path, monkeypatch
):
    """The stems are written in a background thread; its error reaches the caller."""
    from separation import output

    real_write, calls = output.StemWriter.write, {"n": 0}

    def write(self, block):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("No space left on device")
        return real_write(self, block)

    monkeypatch.setattr(output.StemWriter, "write", write)
    path = tmp_path / "mix.wav"
    sf.write(path, synthetic_mix(30.0, seed=13), 44100)
    with pytest.raises(OSError, match="No space left"):
        separator_2stems.separate_to_file(path, tmp_path / "out", codec="flac")
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


def test_the_recorded_residual_is_the_one_value_every_stem_carries():
    assert recorded_residual_db([-61.5, -61.5]) == -61.5
    assert np.isnan(recorded_residual_db([-61.5, -20.0]))  # the stems disagree
    assert np.isnan(recorded_residual_db([-61.5, None]))  # one was written without it
    assert np.isnan(recorded_residual_db([]))
    assert RESIDUAL_LIMIT_DB == -50.0
