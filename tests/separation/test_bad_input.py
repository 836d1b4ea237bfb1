"""Bad inputs fail with a message naming the file and the problem, and leave no output."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from demodata.signals import synthetic_mix
from separation import AudioError
from separation.audio import MIN_SAMPLE_RATE, probe


def write_wav(path, seconds=2.0, **kw):
    sf.write(path, synthetic_mix(seconds, seed=7), 44100, **kw)
    return path


def crafted_wav(path, rate: int, frames: int = 8, channels: int = 2):
    """A 16-bit PCM WAV written byte by byte, so its header can claim any sample rate."""
    data = bytes(frames * channels * 2)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def make(kind: str, tmp_path):
    path = tmp_path / f"{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not audio\n" * 20)
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(5000))
    elif kind == "truncated":
        full = write_wav(tmp_path / "full.wav").read_bytes()
        path.write_bytes(full[: len(full) // 2])
    elif kind == "header_only":
        full = write_wav(tmp_path / "full.wav").read_bytes()
        path.write_bytes(full[:44])
    elif kind == "dangling":
        path.symlink_to(tmp_path / "does-not-exist.wav")
    elif kind == "directory":
        path.mkdir()
    elif kind == "rate_1hz":  # 8 frames: 8 s of "audio", 352,800 samples at the model rate
        crafted_wav(path, 1)
    elif kind == "truncated_flac":
        path = tmp_path / "cut.flac"
        sf.write(path, synthetic_mix(2.0, seed=8), 44100, subtype="PCM_16")
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    return path


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("empty", "empty file"),
        ("text", "not a readable audio file"),
        ("random", "not a readable audio file"),
        ("truncated", "truncated WAV"),
        ("header_only", "no audio samples"),
        ("dangling", "no such file"),
        ("directory", "is a directory"),
        ("truncated_flac", "decoding failed"),
        ("rate_1hz", "sample rate 1 Hz is below the minimum of 4000 Hz"),
    ],
)
def test_bad_files_name_file_and_problem_and_write_nothing(
    kind, problem, tmp_path, separator_2stems
):
    path = make(kind, tmp_path)
    out = tmp_path / "out"
    with pytest.raises(AudioError, match=problem) as info:
        separator_2stems.separate_to_file(path, out)
    assert str(path) in str(info.value)
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


@pytest.mark.parametrize("rate", [1, 100, MIN_SAMPLE_RATE - 1])
def test_sample_rates_below_the_minimum_are_refused_by_probe_and_track_audio(rate, tmp_path):
    """A 1 Hz header used to be resampled and separated for hours; the pipeline's
    ``track_audio`` reads headers through the same :func:`probe`."""
    from separation.inspection import inspect_audio

    path = crafted_wav(tmp_path / f"rate{rate}.wav", rate, frames=40_000)
    message = rf"^{path}: sample rate {rate} Hz is below the minimum of 4000 Hz$"
    with pytest.raises(AudioError, match=message):
        probe(path)
    with pytest.raises(AudioError, match=message):
        inspect_audio(str(path), max_duration_s=1e9)


def test_the_minimum_sample_rate_is_accepted(tmp_path):
    assert MIN_SAMPLE_RATE == 4000
    info = probe(crafted_wav(tmp_path / "low.wav", MIN_SAMPLE_RATE, frames=400))
    assert (info.sample_rate, info.frames) == (4000, 400)


def test_nan_late_in_a_long_file_leaves_no_partial_stems(tmp_path, separator_2stems):
    x = synthetic_mix(30.0, seed=9)
    x[int(28.5 * 44100), 1] = np.nan  # after the first chunks were already written
    path = tmp_path / "nan.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    out = tmp_path / "out"
    with pytest.raises(AudioError, match=r"NaN or infinite samples \(first at sample 1256850"):
        separator_2stems.separate_to_file(path, out)
    assert list(out.rglob("*.*")) == []  # neither stems nor temporary .part files


def test_in_memory_inputs_are_validated(separator_2stems):
    with pytest.raises(AudioError, match="zero length"):
        separator_2stems.separate(np.zeros((0, 2), np.float32), 44100)
    bad = np.zeros((1000, 2), np.float32)
    bad[10, 0] = np.inf
    with pytest.raises(AudioError, match="first at sample 10"):
        separator_2stems.separate(bad, 44100)
    with pytest.raises(AudioError, match="expected shape"):
        separator_2stems.separate(np.zeros((2, 2, 2), np.float32), 44100)


def test_offset_past_the_end_is_an_error(tmp_path, separator_2stems):
    path = write_wav(tmp_path / "short.wav", seconds=1.0)
    with pytest.raises(AudioError, match="past the end"):
        separator_2stems.separate_to_file(path, tmp_path / "out", offset=5.0)


def test_loud_float_input_is_clipped_on_16bit_output_and_reported(tmp_path, separator_2stems):
    path = tmp_path / "loud.wav"
    sf.write(path, synthetic_mix(2.0, seed=10) * 4, 44100, subtype="FLOAT")
    res = separator_2stems.separate_to_file(path, tmp_path / "out")
    assert sum(res.clipped_samples.values()) > 0
    data, _ = sf.read(res.stems["accompaniment"])
    assert np.abs(data).max() <= 1.0
