"""The layer-by-layer basic-pitch network against the published model on ONNX Runtime.

Real weights from the model cache; seeded synthetic audio with known notes.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from features.basic_pitch_inference import infer_posteriors
from features.basic_pitch_layers import LayeredBasicPitch, load_weights
from features.basic_pitch_model import (
    HOP,
    INPUT_NAME,
    OUTPUT_NAMES,
    SAMPLE_RATE,
    WINDOW_SAMPLES,
    basic_pitch_runner,
    basic_pitch_session,
)
from features.basic_pitch_notes import track_notes
from features.onnx_proto import OnnxFormatError, conv_model, read_initializers
from features.settings import StemProfile
from tests.features.test_basic_pitch_notes import _melody
from tests.model_cache import require_cached

NAMES = [OUTPUT_NAMES[k] for k in ("onset", "note", "contour")]


@pytest.fixture(scope="module")
def model_path():
    return require_cached("basic-pitch")["basic-pitch"]


@pytest.fixture(scope="module")
def published(model_path):
    return basic_pitch_session()


@pytest.fixture(scope="module")
def layered(model_path):
    return LayeredBasicPitch.from_file(model_path)


@pytest.fixture(scope="module")
def melody():
    """6 s of seeded notes and dyads (some crossing window seams) and their true notes."""
    return _melody(seed=3, duration_s=6.0)


def test_posteriors_equal_the_published_model(published, layered, melody):
    audio, _ = melody
    rng = np.random.default_rng(5)
    windows = np.stack(
        [
            audio[:WINDOW_SAMPLES],
            audio[2 * SAMPLE_RATE : 2 * SAMPLE_RATE + WINDOW_SAMPLES],
            0.05 * rng.standard_normal(WINDOW_SAMPLES),  # noise: the network normalises it
            np.zeros(WINDOW_SAMPLES),  # digital silence: the log's floor everywhere
        ]
    ).astype(np.float32)[..., None]
    reference = published.run(NAMES, {INPUT_NAME: windows})
    ours = layered.run(NAMES, {INPUT_NAME: windows})
    for name, ref, out in zip(NAMES, reference, ours, strict=True):
        assert out.shape == ref.shape and out.dtype == np.float32, name
        assert np.max(np.abs(out - ref)) < 3e-3, name
        assert np.mean(np.abs(out - ref)) < 1e-4, name
    # One window alone gives what it gives in a batch (the batch is only a batch).
    alone = layered.run(NAMES, {INPUT_NAME: windows[1:2]})
    for batched, single in zip(ours, alone, strict=True):
        np.testing.assert_allclose(single[0], batched[1], atol=1e-5)


def test_notes_across_window_seams_equal_the_published_model(published, layered, melody):
    audio, truth = melody
    frame_s = HOP / SAMPLE_RATE
    found = {}
    for name, runner in (("published", published), ("layered", layered)):
        post = infer_posteriors(audio, runner, margin_frames=50)  # a seam every 0.8 s
        notes = track_notes(post.onset, post.note, StemProfile())
        found[name] = [
            (start, end, pitch)
            for start, end, pitch in notes
            if post.note[start:end, pitch].mean() >= 0.5  # the sure notes
        ]
    assert len(found["layered"]) == len(found["published"]) == len(truth)
    for (s0, e0, p0), (s1, e1, p1) in zip(found["published"], found["layered"], strict=True):
        assert p0 == p1 and abs(s0 - s1) <= 1 and abs(e0 - e1) <= 1
    for t_on, _, pitch in truth:
        assert any(
            p + 21 == pitch and abs(s * frame_s - t_on) <= 0.05 for s, _, p in found["layered"]
        ), (t_on, pitch)


def test_the_cpu_runner_is_the_layered_model_and_says_so(model_path, caplog):
    from features import basic_pitch_model

    basic_pitch_model._layered_model.cache_clear()
    with caplog.at_level(logging.INFO, logger="features.basic_pitch_model"):
        runner = basic_pitch_runner()
    assert isinstance(runner, LayeredBasicPitch)  # this machine's onnxruntime has no CUDA
    assert "layer by layer on the CPU" in caplog.text
    assert basic_pitch_runner() is runner


def test_weights_are_read_exactly_from_the_model_file(model_path):
    tensors = read_initializers(model_path)
    weights = load_weights(tensors)
    assert weights["pitch_w"].shape == (8, 8, 3, 39)
    assert weights["onset2_w"].shape == (1, 33, 3, 3)
    with pytest.raises(ValueError, match="pitch_w"):
        load_weights({k: v for k, v in tensors.items() if k != "const_fold_opt__727"})


def test_one_layer_model_computes_its_convolution(tmp_path):
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    weight = rng.standard_normal((4, 3, 5, 3)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    model = conv_model(weight, bias, (2, 1, 2, 1), (1, 2), relu=True)
    x = rng.standard_normal((2, 3, 9, 11)).astype(np.float32)
    (y,) = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)))
    expected = np.zeros((2, 4, 9, 6))
    for a in range(5):
        for d in range(3):
            window = padded[:, :, a : a + 9, d : d + 11 : 2]
            expected += np.einsum("oc,bctf->botf", weight[:, :, a, d], window)
    expected = np.maximum(expected + bias[None, :, None, None], 0.0)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    (tmp_path / "layer.onnx").write_bytes(model)
    tensors = read_initializers(tmp_path / "layer.onnx")
    np.testing.assert_array_equal(tensors["w"], weight)
    np.testing.assert_array_equal(tensors["b"], bias)


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    path = tmp_path / "not.onnx"
    path.write_bytes(b"\x3a\xff")  # field 7, length-delimited, length runs past the end
    with pytest.raises(OnnxFormatError):
        read_initializers(path)
    path.write_bytes(b"")
    with pytest.raises(OnnxFormatError, match="one graph"):
        read_initializers(path)
