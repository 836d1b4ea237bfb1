"""`stemline separate` with wrong arguments: one line naming the problem, exit 2, no traceback,
nothing written, and the model never loaded (so every case answers in about a second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]


def separate(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "separate", "--no-progress", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(REPO)},
    )  # fmt: skip


@pytest.fixture
def song(tmp_path: Path) -> Path:
    """A real, short, valid WAV in ``tmp_path`` (the cwd of the command)."""
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(4410) / 44100)
    sf.write(tmp_path / "song.wav", np.stack([tone, tone], axis=1), 44100)
    return tmp_path / "song.wav"


def assert_usage_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(error_lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in error_lines[0], proc.stderr


NUMBERS = [
    (("-s", "nan"), "--offset", "finite"),
    (("-s", "inf"), "--offset", "finite"),
    (("-s", "-3"), "--offset", "0 or more"),
    (("-s", "abc"), "--offset", "not a number"),
    (("-d", "inf"), "--duration", "finite"),
    (("-d", "nan"), "--duration", "finite"),
    (("-d", "0"), "--duration", "more than 0"),
    (("-d", "-1"), "--duration", "more than 0"),
    (("--batch-tracks", "0"), "--batch-tracks", "1 or more"),
    (("--batch-tracks", "-2"), "--batch-tracks", "1 or more"),
    (("--batch-tracks", "1.5"), "--batch-tracks", "not a whole number"),
    (("--chunk-segments", "0"), "--chunk-segments", "1 or more"),
]


@pytest.mark.parametrize(("option", "name", "problem"), NUMBERS, ids=lambda v: str(v))
def test_bad_numbers_are_usage_errors(option, name, problem, song, tmp_path):
    proc = separate(song.name, "-o", "out", *option, cwd=tmp_path)
    assert_usage_error(proc, name, problem)
    assert not (tmp_path / "out").exists()


FORMATS = [
    ("{filename:>300}/{instrument}.{codec}", "300 bytes", "255"),
    ("/".join(["{filename:>200}"] * 25) + "/{instrument}.{codec}", "bytes long", "4096"),
    ("{filename:d}/{instrument}.{codec}", "filename format", "Unknown format code"),
    ("{nope}/{instrument}.{codec}", "unknown keys", "nope"),
    ("{filename}/{instrument}.{codec}{", "filename format", "Single '{'"),
    ("{filename!x}/{instrument}.{codec}", "filename format", "Unknown conversion"),
    ("../{filename}/{instrument}.{codec}", "'..'", "inside the output folder"),
    ("{filename}/../../{instrument}.{codec}", "'..'", "inside the output folder"),
    ("/tmp/{filename}/{instrument}.{codec}", "absolute", "inside the output folder"),
    ("{filename}.{codec}", "must contain {instrument}", ""),
]


@pytest.mark.parametrize(("fmt", "problem", "detail"), FORMATS, ids=range(len(FORMATS)))
def test_bad_filename_formats_are_usage_errors(fmt, problem, detail, song, tmp_path):
    proc = separate(song.name, "-o", "out", "-f", fmt, cwd=tmp_path)
    assert_usage_error(proc, problem, detail)
    assert not (tmp_path / "out").exists()
    assert not Path("/tmp", "song").exists()


def test_bad_bitrate_is_a_usage_error(song, tmp_path):
    proc = separate(song.name, "-o", "out", "-c", "mp3", "-b", "nonsense", cwd=tmp_path)
    assert_usage_error(proc, "bitrate 'nonsense'")
    proc = separate(song.name, "-o", "out", "-c", "mp3", "-b", "0k", cwd=tmp_path)
    assert_usage_error(proc, "must be positive")
    assert not (tmp_path / "out").exists()


def test_an_empty_output_folder_is_a_usage_error(song, tmp_path):
    """``-o "$OUT"`` with OUT unset used to write the stems into the current folder."""
    proc = separate(song.name, "-o", "", cwd=tmp_path)
    assert_usage_error(proc, "--output", "empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.wav"]


def test_a_duration_under_one_sample_fails_that_file(song, tmp_path):
    """``-d 1e-9`` used to write header-only stems and exit 0."""
    proc = separate(song.name, "-o", "out", "-d", "1e-9", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "song.wav: duration 1e-09 s is under one sample at 44100 Hz" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("output", ["taken.txt", "taken.txt/below"])
def test_output_on_an_existing_file_is_a_usage_error(output, song, tmp_path):
    (tmp_path / "taken.txt").write_text("keep me")
    proc = separate(song.name, "-o", output, cwd=tmp_path)
    assert_usage_error(proc, "taken.txt", "not a folder")
    assert (tmp_path / "taken.txt").read_text() == "keep me"


def test_inputs_sharing_output_paths_are_refused_before_writing(tmp_path):
    """Item 6: ``a/song.wav b/song.wav`` both map to out/song/; b used to overwrite a."""
    for folder, seed in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        noise = 0.1 * np.random.default_rng(seed).standard_normal((4410, 2))
        sf.write(tmp_path / folder / "song.wav", noise, 44100)
    proc = separate("a/song.wav", "b/song.wav", "-o", "out", cwd=tmp_path)
    assert_usage_error(proc, "a/song.wav", "b/song.wav", "out/song/vocals.wav")
    assert "-f '{foldername}/{filename}/{instrument}.{codec}'" in proc.stderr
    assert not (tmp_path / "out").exists()
    # A format without {filename} maps two songs of one folder onto the same stems too.
    sf.write(tmp_path / "a" / "other.wav", np.zeros((4410, 2)), 44100)
    proc = separate(
        "a/song.wav", "a/other.wav", "-o", "out", "-f", "{foldername}/{instrument}.{codec}",
        cwd=tmp_path,
    )  # fmt: skip
    assert_usage_error(proc, "a/song.wav", "a/other.wav", "out/a/vocals.wav")
    assert not (tmp_path / "out").exists()


def test_the_same_input_twice_is_refused(song, tmp_path):
    (tmp_path / "link.wav").symlink_to(song.name)
    for second in ("song.wav", "./song.wav"):  # one path, as argparse's Path reads it
        proc = separate("song.wav", second, "-o", "out", cwd=tmp_path)
        assert_usage_error(proc, "song.wav is given twice")
    for second in (f"../{tmp_path.name}/song.wav", "link.wav", str(song)):
        proc = separate("song.wav", second, "-o", "out", cwd=tmp_path)
        assert_usage_error(proc, "song.wav and", second, "are the same file")
        assert not (tmp_path / "out").exists()
