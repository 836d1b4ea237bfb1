"""``--device``, segment batching across tracks, and the model on another Keras backend."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from demodata.signals import RATE, synthetic_mix
from separation import AudioError, Separator
from separation.batching import ModelBatcher
from separation.device import DeviceError, resolve_device

HAS_GPU = bool(tf.config.list_physical_devices("GPU"))
REPO = Path(__file__).resolve().parents[2]


def test_device_resolution_follows_what_tensorflow_sees():
    assert resolve_device("cpu").name == "cpu:0"
    assert resolve_device("auto").kind == ("gpu" if HAS_GPU else "cpu")
    with pytest.raises(ValueError, match="tpu"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="device must be one of"):
        Separator(device="cuda")


@pytest.mark.skipif(HAS_GPU, reason="checks the error on a machine without a GPU")
def test_gpu_without_a_gpu_is_a_clear_error_not_a_cpu_fallback(tmp_path):
    with pytest.raises(DeviceError, match="no GPU is visible to TensorFlow"):
        resolve_device("gpu")
    song = tmp_path / "song.wav"
    sf.write(song, synthetic_mix(1.0), RATE)
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "separate", "--device", "gpu",
         "-o", str(tmp_path / "out"), str(song)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "device 'gpu' requested but no GPU is visible to TensorFlow" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_device_default_chunking():
    sep = Separator(device="cpu")
    assert sep.chunk_segments == 1
    assert Separator(device="cpu", chunk_segments=5).chunk_segments == 5


def test_batched_tracks_equal_tracks_separated_alone(separator_2stems):
    # Two, six and one chunks of one segment, all in flight at once.
    mixes = [synthetic_mix(s, seed=i) for i, s in enumerate((20.0, 60.0, 7.0))]
    alone = [separator_2stems.separate(m, RATE) for m in mixes]
    batched_sep = Separator("spleeter:2stems", device="cpu", batch_tracks=3)
    batched = batched_sep.separate_many(mixes, RATE)
    for one, many in zip(alone, batched, strict=True):
        for stem in one:
            assert many[stem].shape == one[stem].shape
            np.testing.assert_allclose(many[stem], one[stem], atol=2e-5)
    batcher = batched_sep._processor(1).batcher
    # Rounds of three, two, then the long track's last four chunks alone.
    assert batcher.items == 9
    assert batcher.calls == 6
    assert batcher.active == 0


def test_separate_files_batches_and_isolates_bad_inputs(tmp_path, separator_2stems):
    good = []
    for i, seconds in enumerate((12.0, 30.0)):
        path = tmp_path / f"good{i}.wav"
        sf.write(path, synthetic_mix(seconds, seed=10 + i), RATE)
        good.append(path)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    sep = Separator("spleeter:2stems", device="cpu", batch_tracks=3)
    results = dict(sep.separate_files([good[0], bad, good[1]], tmp_path / "out", codec="wav"))
    assert isinstance(results[bad], AudioError)
    assert str(bad) in str(results[bad])
    for path in good:
        result = results[path]
        alone = separator_2stems.separate_to_file(path, tmp_path / "alone", codec="wav")
        for stem, out in result.stems.items():
            mine, ref = sf.read(out)[0], sf.read(alone.stems[stem])[0]
            np.testing.assert_allclose(mine, ref, atol=1e-4)
    assert not list((tmp_path / "out").glob("bad/*"))
    assert sep._processor(sep.chunk_segments).batcher.active == 0


def _run_tracks(batcher: ModelBatcher, tracks: list[list[int]]) -> dict[int, object]:
    """Feed each track's inputs from its own thread; every input's result or error."""
    results: dict[int, object] = {}

    def track(values):
        with batcher.join():
            for v in values:
                try:
                    results[v] = batcher(v)
                except RuntimeError as exc:
                    results[v] = exc

    threads = [threading.Thread(target=track, args=(vals,)) for vals in tracks]
    holds = [batcher.join() for _ in threads]  # hold the rounds open until all have started
    for t in threads:
        t.start()
    time.sleep(0.2)
    for hold in holds:
        hold.leave()
    for t in threads:
        t.join(timeout=10)
        assert not t.is_alive(), "batcher deadlocked"
    return results


def test_batcher_runs_one_call_per_round_and_shares_failures():
    calls: list[list[int]] = []

    def run(items):
        calls.append(list(items))
        if -1 in items:
            raise RuntimeError("model failed")
        return [i * 10 for i in items]

    # Three tracks of different lengths: rounds of 3, then 2, then 1 inputs.
    results = _run_tracks(ModelBatcher(run, max_items=4), [[1, 2, 3], [4, 5], [6]])
    assert results == {1: 10, 2: 20, 3: 30, 4: 40, 5: 50, 6: 60}
    assert sorted(len(c) for c in calls) == [1, 2, 3]

    # A failing model call reaches every track in that batch, and the batcher keeps going.
    results = _run_tracks(ModelBatcher(run, max_items=2), [[-1, 7], [8]])
    assert isinstance(results[-1], RuntimeError)
    assert results[7] == 70
    assert isinstance(results[8], RuntimeError)


JAX_SCRIPT = """
import sys
import numpy as np
import keras
assert keras.backend.backend() == "jax", keras.backend.backend()
from separation import Separator

sep = Separator("spleeter:2stems", device="cpu")
x = np.load(sys.argv[1])
np.save(sys.argv[2], np.asarray(sep.model(x, training=False)))
assert "tensorflow" not in sys.modules, "the JAX run imported TensorFlow"
"""


def test_unet_gives_the_same_masks_on_the_jax_backend(tmp_path, separator_2stems):
    rng = np.random.default_rng(7)
    mix = synthetic_mix(12.0, seed=3)
    # Real magnitudes: the model's input is an STFT magnitude, not noise.
    spec = np.abs(
        tf.signal.stft(mix.T, 4096, 1024, window_fn=tf.signal.hann_window).numpy()
    )  # (2, frames, 2049)
    frames = np.zeros((512, 1024, 2), np.float32)
    n = min(512, spec.shape[1])
    frames[:n] = spec[:, :n, :1024].transpose(1, 2, 0)
    x = np.stack([frames, frames * rng.uniform(0.5, 1.5)]).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    expected = np.asarray(separator_2stems.model(x, training=False))
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = np.load(tmp_path / "y.npy")
    assert got.shape == expected.shape == (2, 512, 1024, 2, 2)
    scale = np.abs(expected).max()
    assert scale > 0.1
    # Same weights, same graph, another backend's kernels: float32 rounding only.
    assert np.abs(got - expected).max() <= 1e-4 * scale


def test_separate_files_refuses_inputs_that_would_share_stems_before_writing(tmp_path):
    """Two ``song.wav`` in different folders map to one ``out/song/`` with the default format:
    the library refuses the batch before the model loads or anything is written."""
    from separation import OutputError, Separator

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "song.wav", np.zeros((800, 2), np.float32), 8000)
    separator = Separator("spleeter:2stems", batch_tracks=2)
    inputs = [tmp_path / "a" / "song.wav", tmp_path / "b" / "song.wav"]
    with pytest.raises(OutputError, match="would both write"):
        list(separator.separate_files(inputs, tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    assert separator._core._keras is None  # refused before the model was even loaded


def test_separate_into_refuses_jobs_that_would_share_stems_before_writing(tmp_path):
    """Each job has its own output folder; two jobs naming one folder with the same stem names
    are refused like ``separate_files``' inputs, before the model loads."""
    from separation import OutputError, Separator

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "song.wav", np.zeros((800, 2), np.float32), 8000)
    separator = Separator("spleeter:2stems", batch_tracks=2)
    jobs = [(tmp_path / folder / "song.wav", tmp_path / "out") for folder in ("a", "b")]
    with pytest.raises(OutputError, match=r"a/song\.wav and .*b/song\.wav would both write"):
        list(separator.separate_into(jobs, filename_format="{instrument}.{codec}"))
    assert not (tmp_path / "out").exists()
    assert separator._core._keras is None
