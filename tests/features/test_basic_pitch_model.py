"""The basic-pitch model file (fetched from a local wheel, verified, cached) and its sessions."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from features.basic_pitch_model import (
    BASIC_PITCH_MODEL,
    HOP,
    INPUT_NAME,
    OUTPUT_NAMES,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
    basic_pitch_session,
    check_model_io,
    fetch_basic_pitch_model,
)
from features.onnx_session import onnx_session
from wheelfiles import WheelFileIntegrityError, WheelFileUnavailable, download_wheel, sha256_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def wheel_dir(tmp_path_factory) -> Path:
    """A folder holding the real basic-pitch wheel, downloaded once per session with pip."""
    folder = tmp_path_factory.mktemp("wheels")
    spec = BASIC_PITCH_MODEL
    download_wheel(spec.requirement, spec.wheel, spec.wheel_sha256, folder)
    return folder


@pytest.fixture
def offline_pip(monkeypatch):
    """pip with no configured index, proxy mirror or constraints: only the given folder."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(var, raising=False)

    def args(folder: Path) -> tuple[str, ...]:
        return ("--no-index", "--find-links", str(folder), "--no-cache-dir")

    return args


def test_fetch_verifies_caches_and_replaces_a_corrupted_file(tmp_path, wheel_dir, offline_pip):
    cache = tmp_path / "cache"
    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    path = fetch_basic_pitch_model(cache, pip_args=offline_pip(wheel_dir))
    assert path.is_relative_to(cache) and path.name == "nmp.onnx"
    assert sha256_of(path) == BASIC_PITCH_MODEL.sha256
    # Cached: no source needed any more.
    assert fetch_basic_pitch_model(cache, pip_args=offline_pip(nowhere), retries=1) == path
    # A corrupted file is never returned: with no source it is an error naming the wheel ...
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(WheelFileUnavailable, match=re.escape("basic-pitch==0.4.0")):
        fetch_basic_pitch_model(cache, pip_args=offline_pip(nowhere), retries=1)
    # ... and with one it is fetched again.
    assert fetch_basic_pitch_model(cache, pip_args=offline_pip(wheel_dir)) == path
    assert sha256_of(path) == BASIC_PITCH_MODEL.sha256


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path, offline_pip):
    fake_dir = tmp_path / "fake"
    fake_dir.mkdir()
    fake = io.BytesIO()
    info = "basic_pitch-0.4.0.dist-info"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(BASIC_PITCH_MODEL.member, b"not the model")
        zf.writestr(
            f"{info}/METADATA", "Metadata-Version: 2.1\nName: basic-pitch\nVersion: 0.4.0\n"
        )
        zf.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{info}/RECORD", "")
    (fake_dir / BASIC_PITCH_MODEL.wheel).write_bytes(fake.getvalue())
    cache = tmp_path / "cache"
    with pytest.raises(WheelFileIntegrityError, match=BASIC_PITCH_MODEL.wheel_sha256[:12]):
        fetch_basic_pitch_model(cache, pip_args=offline_pip(fake_dir), retries=1)
    assert not list(cache.rglob("nmp.onnx"))


def test_the_model_has_the_documented_inputs_and_outputs():
    session = basic_pitch_session()
    check_model_io(session)
    # A 440 Hz tone from 0.5 s to 1.5 s: the onset output peaks at its start, the note output
    # holds while it sounds, and the contour peaks at the centre bin of MIDI 69.
    t = np.arange(WINDOW_SAMPLES) / SAMPLE_RATE
    x = (0.3 * np.sin(2 * np.pi * 440.0 * t) * ((t >= 0.5) & (t < 1.5))).astype(np.float32)
    names = [OUTPUT_NAMES[k] for k in ("onset", "note", "contour")]
    onset, note, contour = (o[0] for o in session.run(names, {INPUT_NAME: x[None, :, None]}))
    frame = lambda s: round(s * SAMPLE_RATE / HOP)  # noqa: E731
    a4 = 69 - 21
    assert abs(int(np.argmax(onset[:, a4])) - frame(0.5)) <= 1
    assert onset[frame(1.0), a4] < 0.2 < 0.5 < note[frame(1.0), a4]
    assert np.all(note[frame(0.6) : frame(1.4), a4] > 0.5)
    assert note[frame(1.7) :, a4].max() < 0.3 and note[: frame(0.4), a4].max() < 0.3
    assert int(np.argmax(contour[frame(1.0)])) == 3 * a4 + 1


def test_sessions_are_made_once_per_process_and_never_at_import():
    session = basic_pitch_session()
    assert basic_pitch_session() is session
    path = fetch_basic_pitch_model()
    assert onnx_session(path, threads=1) is session
    assert onnx_session(path, threads=2) is not session
    probe = (
        "import sys, features.stem, features.parallel, features.basic_pitch_notes; "
        "print('onnxruntime' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
