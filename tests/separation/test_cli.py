"""`stemline separate` end to end, as a user runs it (a real subprocess).

One default run (a 4 s track to FLAC) serves the module: the codec test reads its stems, the
start-up test its console output.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from demodata.signals import synthetic_mix

REPO = Path(__file__).resolve().parents[2]
ENV = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(REPO)}
#: TensorFlow's start-up lines (absl's pre-init note, oneDNN, CPU features, CUDA, XLA, TensorRT).
CHATTER = re.compile(
    r"absl::InitializeLog|oneDNN|cpu_feature_guard|rebuild TensorFlow|port\.cc|cuda|XLA|TF-TRT"
    r"|^[IWE]\d{4} \d\d:\d\d:\d\d",
    re.MULTILINE,
)


def stemline(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=ENV,
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


@pytest.fixture(scope="module")
def album(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A folder with ``album/track.wav`` (4 s) and that track separated to FLAC with the
    default options and no progress bar: the folder and the finished command."""
    root = tmp_path_factory.mktemp("album-run")
    (root / "album").mkdir()
    sf.write(root / "album" / "track.wav", synthetic_mix(4.0, seed=13), 44100)
    flac = stemline(
        "separate", "album/track.wav", "-o", "out", "-c", "flac", "--no-progress", cwd=root
    )
    return root, flac


def test_codecs_format_and_duration_options(album):
    tmp_path, flac = album
    proc = stemline(
        "separate", "album/track.wav", "-o", "out", "-c", "mp3", "-b", "192k",
        "-f", "{foldername}-{filename}_{instrument}.{codec}", "-s", "1", "-d", "2",
        "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for inst in ("vocals", "accompaniment"):
        info = sf.info(tmp_path / "out" / f"album-track_{inst}.mp3")
        assert abs(info.duration - 2.0) < 0.1
    assert flac.returncode == 0, flac.stderr
    assert sf.info(tmp_path / "out" / "track" / "vocals.flac").format == "FLAC"


def test_usage_errors_exit_2_before_any_work(tmp_path):
    proc = stemline("separate", "x.wav", "-f", "{nope}.{codec}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown keys" in proc.stderr
    proc = stemline("separate", "x.wav", "-p", "spleeter:7stems", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unknown embedded configuration" in proc.stderr


def test_tensorflow_start_up_is_quiet_unless_verbose(album):
    _, proc = album
    assert proc.returncode == 0, proc.stderr
    assert not CHATTER.search(proc.stderr), proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("separated 1 of 1 files")


def test_dagster_step_processes_start_tensorflow_quietly(tmp_path):
    """Step processes of ``dagster dev`` load ``orchestration.definitions`` (workspace.yaml)
    and import TensorFlow when the model loads."""
    code = "import orchestration.definitions, keras; print(keras.ops.ones(2).shape)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        timeout=600, env=ENV | {"STEMLINE_STORAGE_ROOT": str(tmp_path / "data")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(2,)"
    assert not CHATTER.search(proc.stderr), proc.stderr


def test_quieting_keeps_errors_and_everything_else(tmp_path):
    """Only the start-up chatter is dropped from what the TensorFlow import writes to fd 2."""
    code = (
        "import os\n"
        "from separation.tensorflow_env import stderr_without_chatter\n"
        "with stderr_without_chatter():\n"
        "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are"
        " written to STDERR\\n')\n"
        "    os.write(2, b'I0000 00:00:1796227036.219816    4774 port.cc:153] oneDNN on\\n')\n"
        "    os.write(2, b'E0000 00:00:1796227036.3    4774 cuda_fft.cc:477] Unable to register"
        " cuFFT factory\\n')\n"
        "    os.write(2, b'E0000 00:00:1796227036.4    4774 x.cc:1] a real error\\n')\n"
        "    os.write(2, b'/x/y.py:3: DeprecationWarning: something\\n')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=ENV
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "E0000 00:00:1796227036.4    4774 x.cc:1] a real error",
        "/x/y.py:3: DeprecationWarning: something",
    ]
