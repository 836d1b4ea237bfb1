"""The GPU-host kit and its check, on the CPU: ``stemline kit build`` and ``gpu_check.py``.

A kit is built once for the module from the real 2stems checkpoint (no wheels: nothing is
downloaded in tests), then ``benchmarks/gpu_check.py`` runs it in a child process on JAX's CPU
backend, as the host would run it on its GPU, on two 4-second synthetic tracks at batch sizes 1
and 2. The wheel checks run on wheels the test writes itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from orchestration.cli import main as stemline
from separation.host_golden import read_golden_stems, snr_db
from separation.host_kit import (
    CARRY_LIMIT_BYTES,
    Kit,
    KitError,
    build_kit,
    read_kit,
    run_command,
    working_tree_bytes,
)
from separation.host_wheels import WheelError, check_wheels

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO / "benchmarks"))  # gpu_check_phases, after the separation package
STAGES = ("decode", "resample", "stft", "model", "istft", "encode", "meter")


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    lines: list[str] = []
    built = build_kit(tmp_path_factory.mktemp("kit") / ".gpukit", REPO, wheels=None,
                      report=lines.append)  # fmt: skip
    return built, lines


@pytest.fixture(scope="module")
def check(kit, tmp_path_factory):
    """gpu_check.py on JAX's CPU backend: two 4 s tracks, batch sizes 1 and 2."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    work = tmp_path_factory.mktemp("check")
    report = work / "gpu_check.json"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "MODEL_PATH": str(work / "no-models")}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--kit", str(kit[0].root),
         "--device", "cpu", "--tracks", "2", "--seconds", "4", "--batch-sizes", "1", "2",
         "--json", str(report), "--workdir", str(work / "tracks")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=900, check=False,
    )  # fmt: skip
    return proc, json.loads(report.read_text()) if report.is_file() else None, work


def test_kit_holds_compact_weights_golden_stems_and_a_manifest(kit):
    built, lines = kit
    manifest = built.manifest
    assert read_kit(built.root).manifest == manifest  # every file checks against its sha256
    paths = {record["path"] for record in manifest["files"]}
    assert paths == {"weights/2stems.npz", "golden/vocals.flac", "golden/accompaniment.flac"}
    assert manifest["model"]["storage"] == "compact" and manifest["wheels"] == []
    golden = manifest["golden"]
    assert golden["input"] == "tests/golden/input.flac" and golden["backend"] == "tensorflow"
    assert min(golden["compact_vs_full_snr_db"].values()) >= 90.0
    assert min(golden["stored_snr_db"].values()) >= 120.0  # 24-bit FLAC of the difference
    stems = read_golden_stems(built.root, REPO, golden["stems"])
    spleeter, rate = sf.read(REPO / golden["stems"]["vocals"]["base"], dtype="float32")
    assert rate == 44100 and stems["vocals"].shape == spleeter.shape == (13 * 44100, 2)
    assert snr_db(spleeter, stems["vocals"]) >= 90.0  # stemline's stems, near Spleeter's
    size = manifest["size"]
    assert size["total_bytes"] == size["kit_bytes"] + size["tree_bytes"] <= CARRY_LIMIT_BYTES
    assert any(line.startswith("golden stems:") for line in lines)
    assert not (built.root / ".building").exists()


def test_run_command_installs_the_wheels_and_fits_a_device_call(kit):
    command = run_command(".gpukit", wheels=True)
    assert len(command) <= 2000
    assert "--target /tmp/site .gpukit/wheels/*.whl" in command
    assert "KERAS_BACKEND=jax" in command and "--kit .gpukit --device gpu" in command
    assert "pip install" not in kit[0].manifest["run"]["command"]  # built without wheels


def test_gpu_check_passes_on_the_cpu_with_every_stage(check):
    proc, report, _ = check
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert report["passed"] and report["golden"]["passed"] and report["skipped"] == []
    assert report["device"]["kind"] == "cpu" and report["environment"]["backend"] == "jax"
    assert not report["environment"]["tensorflow_imported"]
    # Same weights, same chunking, another backend: float32 rounding apart.
    assert min(report["golden"]["snr_vs_cpu_db"].values()) >= 100.0
    assert min(report["golden"]["snr_vs_spleeter_db"].values()) >= 90.0
    assert [run["batch"] for run in report["runs"]] == [1, 2]
    for run in report["runs"]:
        assert run["memory"]["xrt"] > 0 and run["file"]["xrt"] > 0
        assert run["file"]["failed"] == 0 and run["file"]["max_residual_db"] < -50.0
    stages = report["stages"]
    assert stages["tracks"] == 2 and stages["audio_s"] == pytest.approx(8.0)
    assert set(stages["stages"]) == set(STAGES)
    assert all(row["seconds"] > 0 and row["xrt"] > 0 for row in stages["stages"].values())
    assert stages["stages"]["model"]["calls"] == 1  # both tracks' chunks in one U-Net call
    assert "golden check: PASS" in proc.stdout and proc.stdout.rstrip().endswith("PASSED")
    assert list(Path(check[2], "no-models").glob("*")) == []


def changed_copy(kit, folder: Path) -> Path:
    """A copy of the kit whose vocals golden stem is 40 dB off (its manifest unchanged)."""
    for record in kit.manifest["files"]:
        (folder / record["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kit.root / record["path"], folder / record["path"])
    (folder / "manifest.json").write_text(json.dumps(kit.manifest))
    stem = folder / "golden" / "vocals.flac"
    data, rate = sf.read(stem)
    noise = np.random.default_rng(0).standard_normal(data.shape)
    sf.write(stem, data + 1e-3 * noise, rate, subtype="PCM_24")
    return folder


def test_a_changed_kit_is_refused(kit, tmp_path):
    changed = changed_copy(kit[0], tmp_path)
    with pytest.raises(KitError, match=r"golden/vocals\.flac: missing or of another size"):
        read_kit(changed)
    shutil.copyfile(kit[0].root / "golden" / "vocals.flac", changed / "golden" / "vocals.flac")
    raw = bytearray((changed / "golden" / "accompaniment.flac").read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (changed / "golden" / "accompaniment.flac").write_bytes(raw)
    with pytest.raises(KitError, match=r"golden/accompaniment\.flac: sha256 differs"):
        read_kit(changed)


def test_golden_check_fails_loudly_when_the_stems_differ(kit, tmp_path, capsys, separator_2stems):
    from gpu_check_phases import golden_phase

    changed = Kit(changed_copy(kit[0], tmp_path), kit[0].manifest)
    args = argparse.Namespace(device="cpu", precision="exact", chunk_segments=None)
    result = golden_phase(changed, args, separator_2stems)  # full weights: 111 dB from compact
    assert not result["passed"]
    assert (
        result["snr_vs_cpu_db"]["vocals"] < 50.0 <= 100.0 < result["snr_vs_cpu_db"]["accompaniment"]
    )
    assert "GOLDEN CHECK FAILED" in capsys.readouterr().out


def test_a_kit_that_would_not_fit_is_refused_and_leaves_the_old_one(kit, tmp_path):
    out = tmp_path / ".gpukit"
    out.mkdir()
    (out / "earlier").write_text("an earlier kit")
    limit = working_tree_bytes(REPO) + 2**20  # the tree fits, the weights do not
    with pytest.raises(KitError, match=r"MiB, over the \d+ MiB a device call carries"):
        build_kit(out, REPO, wheels=None, limit_bytes=limit, report=lambda line: None)
    assert [p.name for p in out.iterdir()] == ["earlier"]


def test_kit_inside_the_repository_must_be_ignored(tmp_path):
    with pytest.raises(KitError, match="not ignored"):
        build_kit(REPO / "not-ignored-kit", REPO, wheels=None, report=lambda line: None)
    assert not (REPO / "not-ignored-kit").exists()


def test_kit_show_checks_and_prints_the_run_command(kit, capsys):
    assert stemline(["kit", "show", "--out", str(kit[0].root)]) == 0
    out = capsys.readouterr().out
    assert "weights/2stems.npz" in out and kit[0].manifest["run"]["command"] in out
    assert stemline(["kit", "show", "--out", str(kit[0].root.parent / "nothing")]) == 1
    assert "no readable kit manifest" in capsys.readouterr().err


# -- wheels ----------------------------------------------------------------------------------


def fake_wheel(folder: Path, name: str, version: str, tag: str, requires=()) -> Path:
    """A minimal wheel: metadata only."""
    path = folder / f"{name}-{version}-{tag}.whl"
    meta = "\n".join([f"Name: {name}", f"Version: {version}",
                      *(f"Requires-Dist: {r}" for r in requires)])  # fmt: skip
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"{name}-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\n{meta}\n")
    return path


def test_wheels_for_the_host_pass_the_check(tmp_path):
    wheels = [
        fake_wheel(tmp_path, "keras", "3.15.1", "py3-none-any",
                   ["numpy", "namex", "optree", 'tensorflow; extra == "tf"']),
        fake_wheel(tmp_path, "namex", "0.1.0", "py3-none-any"),
        fake_wheel(tmp_path, "optree", "0.20.0", "cp312-cp312-manylinux_2_17_x86_64",
                   ["typing-extensions>=4.6"]),
        fake_wheel(tmp_path, "cffi", "2.1.1", "cp312-cp312-manylinux2014_x86_64",
                   ['pycparser; implementation_name == "pypy"']),
    ]  # fmt: skip
    assert check_wheels(wheels) == {
        "keras": "3.15.1", "namex": "0.1.0", "optree": "0.20.0", "cffi": "2.1.1"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("tag", "requires", "message"),
    [
        ("cp311-cp311-manylinux_2_17_x86_64", [], "does not install on CPython 3.12"),
        ("cp312-cp312-macosx_11_0_arm64", [], "does not install on CPython 3.12"),
        ("py3-none-any", ["polars"], "requires polars, which neither the kit nor the host"),
        ("py3-none-any", ["namex>=0.2"], "the kit has namex 0.1.0"),
    ],
)
def test_wheels_the_host_cannot_use_are_refused(tmp_path, tag, requires, message):
    wheels = [fake_wheel(tmp_path, "namex", "0.1.0", "py3-none-any"),
              fake_wheel(tmp_path, "extra_pkg", "1.0", tag, requires)]  # fmt: skip
    with pytest.raises(WheelError, match=message):
        check_wheels(wheels)
