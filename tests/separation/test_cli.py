"""`stemline separate` end to end, as a user runs it (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import soundfile as sf

from .signals import synthetic_mix


def stemline(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(Path.cwd())},
    )  # fmt: skip


def test_separate_writes_spleeter_layout_and_reports_failures(tmp_path):
    sf.write(tmp_path / "song.wav", synthetic_mix(5.0, seed=11), 44100)
    sf.write(tmp_path / "other.flac", synthetic_mix(3.0, seed=12)[:, :1], 22050)
    (tmp_path / "broken.wav").write_text("not audio")
    proc = stemline(
        "separate", "-p", "spleeter:2stems", "-o", "out",
        "song.wav", "broken.wav", "other.flac", "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "1 file(s) failed" in proc.stderr
    assert "broken.wav: not a readable audio file" in proc.stderr
    for name, rate, frames in (("song", 44100, 5 * 44100), ("other", 22050, 3 * 44100)):
        for inst in ("vocals", "accompaniment"):
            info = sf.info(tmp_path / "out" / name / f"{inst}.wav")
            assert (info.samplerate, info.channels) == (rate, 2)
            assert info.frames == frames
    assert not list((tmp_path / "out").rglob("*.part"))


def test_codecs_format_and_duration_options(tmp_path):
    folder = tmp_path / "album"
    folder.mkdir()
    sf.write(folder / "track.wav", synthetic_mix(4.0, seed=13), 44100)
    proc = stemline(
        "separate", "album/track.wav", "-o", "out", "-c", "mp3", "-b", "192k",
        "-f", "{foldername}-{filename}_{instrument}.{codec}", "-s", "1", "-d", "2",
        "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for inst in ("vocals", "accompaniment"):
        info = sf.info(tmp_path / "out" / f"album-track_{inst}.mp3")
        assert abs(info.duration - 2.0) < 0.1
    flac = stemline(
        "separate", "album/track.wav", "-o", "out", "-c", "flac", "--no-progress", cwd=tmp_path
    )
    assert flac.returncode == 0, flac.stderr
    assert sf.info(tmp_path / "out" / "track" / "vocals.flac").format == "FLAC"


def test_usage_errors_exit_2_before_any_work(tmp_path):
    proc = stemline("separate", "x.wav", "-f", "{nope}.{codec}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown keys" in proc.stderr
    proc = stemline("separate", "x.wav", "-p", "spleeter:7stems", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown embedded configuration" in proc.stderr
