"""The separation on every installed Keras backend, from a converted weights file.

The test process runs TensorFlow (the default backend). Every other installed backend (JAX in
the dev install; PyTorch where it is installed) runs in one child process per backend with
``KERAS_BACKEND`` set and ``MODEL_PATH`` pointing at an empty folder, so its weights can only
come from the converted file: it must separate without importing TensorFlow, give the same
stems as TensorFlow to 1e-5 and match original Spleeter's golden stems.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from demodata.signals import RATE, synthetic_mix
from separation import CheckpointError, Separator
from separation.backends import BackendError, select_backend
from separation.configs import load_config
from separation.precision import Precision
from separation.provider import ModelProvider
from separation.signal import WINDOW_COMPENSATION, hann_window, inverse_stft, stft
from separation.weights_file import (
    WeightsFileError,
    convert_checkpoint,
    read_weights,
    write_weights,
)

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text())
OTHER_BACKENDS = ("jax", "torch")
#: Same weights, same graph, another backend's float32 kernels.
CROSS_BACKEND_ATOL = 1e-5
#: Original Spleeter's golden stems: the mask path to 90 dB; MWF's nearly singular 2x2
#: inversions to 50 dB, as on TensorFlow (tests/separation/test_golden.py).
GOLDEN_MIN_SNR_DB = {"2stems": 90.0, "2stems-16kHz": 90.0, "2stems-mwf": 50.0}

CHILD = r"""
import json, sys
import numpy as np
job = json.loads(sys.argv[1])
from separation.tensorflow_env import configure_tensorflow
configure_tensorflow()
import keras
assert keras.backend.backend() == job["backend"], keras.backend.backend()
from separation import Separator
from separation.device import DeviceError, resolve_device
from separation.precision import Precision

inputs = {name: np.load(path) for name, path in job["inputs"].items()}
stems = {}
for run, spec in job["runs"].items():
    sep = Separator(spec["params"], weights=job["weights"], device="cpu",
                    mwf=spec["mwf"], overlap=spec["overlap"])
    for inst, wave in sep.separate(inputs[spec["input"]], spec["rate"]).items():
        stems[f"{run}/{inst}"] = wave
np.savez(job["out"], **stems)
try:
    resolve_device("gpu")
    gpu_error = None
except DeviceError as exc:
    gpu_error = str(exc)
matmul = None
if job["backend"] == "jax":
    import jax
    with Precision("exact").scope():
        matmul = jax.config.jax_default_matmul_precision
files = sep.model_files
print(json.dumps({
    "tensorflow_imported": "tensorflow" in sys.modules,
    "auto_device": resolve_device("auto").kind, "gpu_error": gpu_error,
    "checkpoint_sha256": files.checkpoint_sha256, "source": files.source,
    "exact_matmul_precision": matmul,
}))
"""


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


def installed(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


@pytest.fixture(scope="module")
def weights_files(tmp_path_factory) -> dict[str, Path]:
    """The 2stems checkpoint converted to float32 and compact weights files."""
    folder = tmp_path_factory.mktemp("weights")
    cfg = load_config("spleeter:2stems")
    return {
        storage: convert_checkpoint(cfg, ModelProvider(), folder / f"2stems-{storage}.npz", storage)
        for storage in ("float32", "compact")
    }


@pytest.fixture(scope="module")
def mix() -> np.ndarray:
    """14 s of seeded music-like stereo: two segments, one seam."""
    return synthetic_mix(14.0, seed=5)


def golden_case_inputs() -> dict[str, np.ndarray]:
    data, rate = sf.read(GOLDEN / MANIFEST["input"], dtype="float32", always_2d=True)
    assert rate == RATE
    seconds = {entry["seconds"] for entry in MANIFEST["cases"].values()}
    return {f"golden-{s:g}s": data[: int(s * rate)] for s in seconds}


@pytest.fixture(scope="module", params=OTHER_BACKENDS)
def backend_run(request, tmp_path_factory, weights_files, mix):
    """One child process separating on ``backend`` from the float32 weights file alone."""
    backend = request.param
    if not installed(backend):
        pytest.skip(f"{backend} is not installed")
    work = tmp_path_factory.mktemp(backend)
    inputs = {"mix": mix, **golden_case_inputs()}
    for name, wave in inputs.items():
        np.save(work / f"{name}.npy", wave)
    runs = {
        "mix": {"params": "spleeter:2stems", "input": "mix", "mwf": False, "overlap": False},
        "overlap": {"params": "spleeter:2stems", "input": "mix", "mwf": False, "overlap": True},
    }
    for case, entry in MANIFEST["cases"].items():
        runs[f"golden-{case}"] = {
            "params": entry["params"], "input": f"golden-{entry['seconds']:g}s",
            "mwf": entry["mwf"], "overlap": False,
        }  # fmt: skip
    for spec in runs.values():
        spec["rate"] = RATE
    empty = work / "no-models"
    empty.mkdir()
    job = {
        "backend": backend, "weights": str(weights_files["float32"]), "runs": runs,
        "inputs": {name: str(work / f"{name}.npy") for name in inputs},
        "out": str(work / "stems.npz"),
    }  # fmt: skip
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "MODEL_PATH": str(empty)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(job)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=1200,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    with np.load(job["out"]) as data:
        stems = {key: data[key] for key in data.files}
    assert list(empty.iterdir()) == []  # nothing fetched: the weights file was enough
    return backend, report, stems


def test_other_backends_separate_from_the_weights_file_without_tensorflow(
    backend_run, weights_files
):
    backend, report, _ = backend_run
    assert report["tensorflow_imported"] is False, backend
    assert str(weights_files["float32"]) in report["source"]
    assert report["checkpoint_sha256"] == ModelProvider().get("2stems").checkpoint_sha256
    assert report["auto_device"] == "cpu"
    runtime = {"jax": "JAX", "torch": "PyTorch"}[backend]
    assert f"device 'gpu' requested but no GPU is visible to {runtime}" in report["gpu_error"]
    if backend == "jax":
        assert report["exact_matmul_precision"] == "float32"


@pytest.mark.parametrize("overlap", [False, True])
def test_stems_are_equal_across_backends(backend_run, separator_2stems, mix, overlap):
    backend, _, stems = backend_run
    reference = Separator(overlap=True).separate(mix, RATE) if overlap else (
        separator_2stems.separate(mix, RATE)
    )  # fmt: skip
    run = "overlap" if overlap else "mix"
    for inst, expected in reference.items():
        got = stems[f"{run}/{inst}"]
        assert got.shape == expected.shape == mix.shape
        assert np.abs(expected).max() > 0.05
        assert np.abs(got - expected).max() <= CROSS_BACKEND_ATOL, (backend, inst)


@pytest.mark.parametrize("case", sorted(MANIFEST["cases"]))
def test_other_backends_match_original_spleeter(backend_run, case):
    backend, _, stems = backend_run
    for inst, name in MANIFEST["cases"][case]["stems"].items():
        reference, _ = sf.read(GOLDEN / name, dtype="float32", always_2d=True)
        got = stems[f"golden-{case}/{inst}"]
        assert got.shape == reference.shape
        assert snr_db(reference, got) >= GOLDEN_MIN_SNR_DB[case], (backend, case, inst)


# -- the signal path's conventions ------------------------------------------------------------


def test_stft_and_inverse_follow_tf_signal_exactly():
    rng = np.random.default_rng(11)
    length, step, frames = 4096, 1024, 40
    x = rng.normal(0, 0.3, (2, (frames - 1) * step + length)).astype(np.float32)
    real, imag = stft(keras.ops.convert_to_tensor(x), length, step)
    window = tf.signal.hann_window
    expected = tf.signal.stft(x, length, step, window_fn=window, pad_end=False).numpy()
    assert real.shape == expected.shape == (2, frames, length // 2 + 1)
    scale = np.abs(expected).max()
    assert np.abs(np.asarray(real) - expected.real).max() <= 1e-6 * scale
    assert np.abs(np.asarray(imag) - expected.imag).max() <= 1e-6 * scale
    np.testing.assert_allclose(hann_window(length), window(length, periodic=True), atol=1e-7)
    # The inverse uses the forward window, without inverse_stft_window_fn's normalisation.
    back = np.asarray(inverse_stft(real, imag, length, step))
    expected_back = tf.signal.inverse_stft(expected, length, step, window_fn=window).numpy()
    assert back.shape == expected_back.shape == x.shape
    assert np.abs(back - expected_back).max() <= 1e-5
    # Away from the ends, where fewer than four windows overlap, 2/3 makes it the identity.
    inner = slice(length, -length)
    assert np.abs(back[:, inner] * WINDOW_COMPENSATION - x[:, inner]).max() <= 1e-5


# -- converted weights files --------------------------------------------------------------------


def test_weights_file_holds_the_checkpoint_and_says_what_it_is(weights_files, separator_2stems):
    cfg = load_config("spleeter:2stems")
    found = read_weights(weights_files["float32"], cfg)
    assert found.model == "spleeter:2stems" and found.instruments == cfg.instruments
    assert found.checkpoint_sha256 == separator_2stems.model_files.checkpoint_sha256
    model_weights = {w.path: np.asarray(w) for w in separator_2stems.model.weights}
    assert len(found.weights) == len(model_weights)
    kernel = found.weights["vocals_conv1/kernel"]
    np.testing.assert_array_equal(kernel, model_weights["vocals_conv1/kernel"])
    # The 16 kHz variant runs its base model's checkpoint, hence its weights file too.
    assert read_weights(weights_files["float32"], load_config("spleeter:2stems-16kHz"))
    compact = read_weights(weights_files["compact"], cfg)
    assert compact.storage == "compact"
    for key, exact in found.weights.items():
        assert compact.weights[key].dtype == np.float32
        # float32 rounded to 17 mantissa bits: a relative change of at most 2^-18.
        np.testing.assert_allclose(compact.weights[key], exact, rtol=2.0**-18, atol=0)
    size = {storage: path.stat().st_size for storage, path in weights_files.items()}
    assert size["float32"] > 74 * 2**20  # 19.6 million float32 values
    assert size["compact"] < 0.7 * size["float32"] and size["compact"] < 52 * 2**20


def test_compact_weights_give_the_same_stems_to_90_db(weights_files, separator_2stems, mix):
    compact = Separator(weights=weights_files["compact"]).separate(mix, RATE)
    full = separator_2stems.separate(mix, RATE)
    for inst in full:
        assert snr_db(full[inst], compact[inst]) >= 90.0, inst


def test_weights_file_for_another_model_is_a_one_line_error(weights_files):
    path = weights_files["float32"]
    with pytest.raises(WeightsFileError) as caught:
        read_weights(path, load_config("spleeter:4stems"))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert "made for spleeter:2stems (vocals, accompaniment)" in message
    assert "does not fit spleeter:4stems (vocals, drums, bass, other)" in message
    with pytest.raises(CheckpointError, match="does not fit spleeter:4stems"):
        Separator("spleeter:4stems", weights=path).load()


def test_weights_file_from_another_checkpoint_is_refused(weights_files, tmp_path):
    cfg = load_config("spleeter:2stems")
    with pytest.raises(WeightsFileError, match=r"converted from checkpoint \w+, expected 0000"):
        read_weights(weights_files["float32"], cfg, expected_checkpoint_sha256="0" * 64)
    # The same weights recorded as another checkpoint: the published 2stems digest is known.
    weights = read_weights(weights_files["float32"], cfg).weights
    other = write_weights(tmp_path / "other.npz", cfg, weights, checkpoint_sha256="ab" * 32)
    with pytest.raises(WeightsFileError, match="converted from checkpoint abababab") as caught:
        Separator(weights=other).load()
    assert "\n" not in str(caught.value)


def test_damaged_or_foreign_weights_files_are_refused(weights_files, tmp_path):
    cfg = load_config("spleeter:2stems")
    raw = bytearray(weights_files["float32"].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    flipped = tmp_path / "flipped.npz"
    flipped.write_bytes(bytes(raw))
    with pytest.raises(WeightsFileError, match=r"unreadable weights file|damaged"):
        read_weights(flipped, cfg)
    # Arrays edited and the archive rewritten consistently: only the recorded digest tells.
    with np.load(weights_files["float32"]) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["vocals_conv1/bias"] = arrays["vocals_conv1/bias"] + 1e-3
    np.savez(tmp_path / "edited.npz", **arrays)
    with pytest.raises(WeightsFileError, match="do not match their recorded sha256"):
        read_weights(tmp_path / "edited.npz", cfg)
    np.savez(tmp_path / "foreign.npz", kernel=np.zeros(3))
    with pytest.raises(WeightsFileError, match="not a stemline weights file"):
        read_weights(tmp_path / "foreign.npz", cfg)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(WeightsFileError, match="unreadable weights file"):
        read_weights(tmp_path / "text.npz", cfg)
    with pytest.raises(WeightsFileError, match="no such weights file"):
        read_weights(tmp_path / "missing.npz", cfg)
    assert zipfile.is_zipfile(weights_files["float32"])  # a plain NumPy archive


# -- precision and backend selection ------------------------------------------------------------


def test_precision_reaches_the_model_and_the_tensorflow_switch(separator_2stems, mix):
    with pytest.raises(ValueError, match="precision must be one of exact, tf32, bf16"):
        Separator(precision="fp8")
    assert separator_2stems._core.precision == Precision("exact")
    separator_2stems.separate(mix[:RATE], RATE)
    assert tf.config.experimental.tensor_float_32_execution_enabled() is False
    try:
        tf32 = Separator(precision="tf32")
        assert tf32.precision == "tf32" and tf32._core.precision.allow_tf32
        stems = tf32.separate(mix, RATE)
        assert tf.config.experimental.tensor_float_32_execution_enabled() is True
        # A CPU has no TF32: the same stems as exact.
        exact = separator_2stems.separate(mix, RATE)
        for inst in exact:
            assert np.abs(stems[inst] - exact[inst]).max() <= 1e-6
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(False)


def test_bf16_computes_the_unet_in_bfloat16(separator_2stems, mix):
    bf16 = Separator(precision="bf16")
    assert {layer.dtype_policy.name for layer in bf16.model.layers if layer.weights} == {
        "mixed_bfloat16"
    }
    assert bf16.model.get_layer("vocals_conv1").kernel.dtype == "float32"
    stems = bf16.separate(mix, RATE)
    exact = separator_2stems.separate(mix, RATE)
    for inst in exact:
        assert stems[inst].dtype == np.float32
        assert 20.0 <= snr_db(exact[inst], stems[inst]) < 80.0, inst


def test_backend_is_chosen_before_keras_is_imported(tmp_path):
    assert keras.backend.backend() == "tensorflow"
    select_backend("tensorflow")  # already the one running: nothing to do
    with pytest.raises(BackendError, match="keras already runs on 'tensorflow'"):
        select_backend("jax")
    with pytest.raises(BackendError, match="keras already runs on 'tensorflow'"):
        Separator(backend="jax")
    with pytest.raises(BackendError, match="backend must be one of tensorflow, jax, torch"):
        select_backend("mxnet")
    code = (
        "from separation.backends import select_backend\n"
        "select_backend('jax')\n"
        "import keras, sys\n"
        "print(keras.backend.backend(), 'tensorflow' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["jax", "False"]
