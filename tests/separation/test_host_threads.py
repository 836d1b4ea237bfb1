"""The host work beside the model (reader, stem writer and residual meter in threads of their
own, :mod:`separation.file_separation`) writes exactly what the same work in the model's
thread writes, and a failure stops every one of those threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf
import soxr

from demodata.signals import RATE, synthetic_mix
from separation import AudioError
from separation.file_separation import separate_to_file

#: The names of the threads a file's separation starts (:mod:`separation.background`).
HOST_THREADS = ("stemline-read-ahead", "stemline-stem-writer", "stemline-residual-meter")


def host_threads_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in HOST_THREADS]


@pytest.fixture(scope="module")
def mono_48k(tmp_path_factory):
    """12 s of mono at 48 kHz: two chunks at the model rate, resampled both ways."""
    path = tmp_path_factory.mktemp("in") / "mono48k.flac"
    mix = synthetic_mix(12.0, seed=21)[:, 0]
    sf.write(path, soxr.resample(mix, RATE, 48000), 48000, subtype="PCM_16")
    return path


@pytest.mark.parametrize("mwf", [False, True])
def test_host_threads_write_the_same_stems_and_residual(separator_2stems, mono_48k, tmp_path, mwf):
    model = separator_2stems._core
    options = {"mwf": mwf, "multichannel": "first-two", "codec": "flac"}
    results = {
        threaded: separate_to_file(
            model, mono_48k, tmp_path / f"threads-{threaded}", host_threads=threaded, **options
        )
        for threaded in (True, False)
    }
    threaded, inline = results[True], results[False]
    assert threaded.mixture_residual_db == inline.mixture_residual_db
    assert mwf or threaded.mixture_residual_db < -50  # MWF's stems do not sum to the mixture
    assert threaded.levels_dbfs == inline.levels_dbfs
    assert threaded.clipped_samples == inline.clipped_samples
    for stem, path in threaded.stems.items():
        mine, rate = sf.read(path, dtype="int16")
        ref, _ = sf.read(inline.stems[stem], dtype="int16")
        assert rate == 48000 and mine.shape == ref.shape == (12 * 48000, 2)
        np.testing.assert_array_equal(mine, ref)
    assert host_threads_alive() == []


def test_a_decoding_error_mid_file_stops_every_host_thread(separator_2stems, tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, synthetic_mix(30.0, seed=22), RATE, subtype="PCM_16")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) * 6 // 10])  # fails in the second of three chunks
    with pytest.raises(AudioError, match=r"cut\.flac"):
        separate_to_file(
            separator_2stems._core, path, tmp_path / "out", mwf=False,
            multichannel="first-two", codec="flac",
        )  # fmt: skip
    assert host_threads_alive() == []
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.*"))
