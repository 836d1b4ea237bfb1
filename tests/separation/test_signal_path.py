"""The signal path: STFT/iSTFT round trip, chunked = whole-file, overlap, long input."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from demodata.signals import synthetic_mix
from separation.chunking import ChunkPlan, SampleWindow, stitch_chunks
from separation.configs import config_from_dict, load_config
from separation.engine import ChunkProcessor, grid_weights


def identity_model(cfg):
    """Instrument 0 gets the whole mix, instrument 1 nothing: masks of exactly 1 and 0."""
    inp = keras.Input(shape=(cfg.T, cfg.F, 2))
    out = keras.layers.Lambda(lambda x: keras.ops.stack([x, keras.ops.zeros_like(x)], axis=-1))(inp)
    return keras.Model(inp, out)


def run(cfg, model, signal, segments=2, overlap=False):
    plan = ChunkPlan(len(signal), cfg.frame_length, cfg.frame_step, cfg.T, segments, overlap)
    proc = ChunkProcessor(cfg, model, plan)
    window = SampleWindow(iter([signal]), len(signal), 2)

    def outputs():
        for c in range(plan.n_chunks):
            s = plan.input_start(c)
            yield proc(window.take(s, s + plan.input_length))

    out = np.zeros((2, len(signal), 2), np.float32)
    for start, block in stitch_chunks(plan, outputs()):
        out[:, start : start + block.shape[1]] = block
    return out


@pytest.mark.parametrize("overlap", [False, True])
def test_identity_masks_reconstruct_the_input_exactly(overlap):
    raw = dict(load_config("spleeter:2stems").raw, mask_extension="average", T=64)
    cfg = config_from_dict(raw)
    x = np.random.default_rng(0).normal(0, 0.3, (5 * 44100 + 123, 2)).astype(np.float32)
    out = run(cfg, identity_model(cfg), x, segments=2, overlap=overlap)
    # The 4096-sample front pad and 2/3 window compensation make the edges exact too.
    assert np.abs(out[0] - x).max() < 2e-6
    assert np.abs(out[1]).max() < 1e-6


def test_zeros_extension_removes_content_above_the_cutoff():
    raw = dict(load_config("spleeter:2stems").raw, T=64)
    cfg = config_from_dict(raw)
    t = np.arange(3 * 44100) / 44100
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 15000 * t)
    x = np.stack([low + high] * 2, axis=1).astype(np.float32) * 0.3
    out = run(cfg, identity_model(cfg), x)[0]
    spectrum = np.abs(np.fft.rfft(out[:, 0]))
    freqs = np.fft.rfftfreq(len(out), 1 / 44100)
    assert spectrum[np.argmin(np.abs(freqs - 15000))] < 1e-3 * spectrum.max()
    # Away from the abrupt start and end (broadband clicks), the 1 kHz tone passes untouched.
    np.testing.assert_allclose(out[4096:-4096, 0], 0.3 * low[4096:-4096], atol=2e-3)


def test_grid_weights_cross_fade_to_one():
    w = grid_weights(512)
    shifted = np.roll(w, 256)
    np.testing.assert_allclose(w + shifted, 1.0, atol=1e-6)
    assert w[0] < 0.01 and w[255] > 0.99


@pytest.mark.parametrize("overlap", [False, True])
def test_chunked_equals_whole_file(separator_2stems, overlap):
    from separation import Separator

    x = synthetic_mix(26.0, seed=3)  # 3 segments
    whole = Separator(chunk_segments=3, overlap=overlap).separate(x, 44100)
    small = Separator(chunk_segments=1, overlap=overlap).separate(x, 44100)
    for inst in whole:
        assert np.abs(whole[inst] - small[inst]).max() < 1e-5


def test_overlap_changes_output_mostly_near_segment_seams(separator_2stems):
    from separation import Separator

    x = synthetic_mix(26.0, seed=4)
    plain = separator_2stems.separate(x, 44100)["vocals"]
    smooth = Separator(overlap=True).separate(x, 44100)["vocals"]
    seam_s = 512 * 1024 / 44100
    seams = [round((k * seam_s) * 44100) - 4096 for k in (1, 2)]
    hop = 1024
    near = np.zeros(len(x), bool)
    for s in seams:
        near[max(0, s - 8 * hop) : s + 8 * hop] = True
    diff = (plain - smooth) ** 2
    ref = plain**2
    rel_near = np.sum(diff[near]) / np.sum(ref[near])
    rel_far = np.sum(diff[~near]) / np.sum(ref[~near])
    assert rel_near > 2 * rel_far > 0


def test_sample_window_zero_fills_and_drops_read_data():
    data = np.arange(20, dtype=np.float32).reshape(10, 2)
    blocks = iter([data[:3], data[3:7], data[7:]])
    w = SampleWindow(blocks, 10, 2)
    np.testing.assert_array_equal(w.take(-2, 2)[:, 0], [0, 0, 0, 2])
    np.testing.assert_array_equal(w.take(8, 12)[:, 0], [16, 18, 0, 0])
    with pytest.raises(ValueError, match="forward"):
        w.take(1, 3)


def test_plan_covers_long_audio_without_truncation():
    plan = ChunkPlan(n_samples=44100 * 3600)  # one hour
    assert plan.n_chunks * plan.chunk_frames >= plan.n_frames
    assert plan.input_length == (1024 - 1) * 1024 + 4096
