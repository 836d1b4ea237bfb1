"""Global SDR and BSSEval v4 against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import EvaluationInputError, bss_eval_v4, global_sdr, global_sdr_records


def test_global_sdr_of_a_scaled_estimate_is_20_db():
    ref = np.array([1.0, -1.0, 1.0, -1.0])
    # signal 4, error 4 * 0.1**2 = 0.04, eps 1e-7 on both sides
    expected = 10 * np.log10((4 + 1e-7) / (0.04 + 1e-7))
    assert global_sdr(ref, 0.9 * ref) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(20.0, abs=1e-4)


def test_global_sdr_sums_over_channels():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((1000, 2))
    noise = rng.standard_normal((1000, 2))
    noise *= np.sqrt(np.sum(ref**2) / np.sum(noise**2)) / 10.0  # error power = 1 % of signal
    assert global_sdr(ref, ref + noise) == pytest.approx(20.0, abs=1e-6)


def test_global_sdr_of_silence():
    silent = np.zeros((100, 2))
    assert global_sdr(silent, silent) == pytest.approx(0.0)
    assert global_sdr(silent, silent + 0.1) < -20  # leakage into a silent stem is punished


@pytest.mark.parametrize(
    "ref, est, match",
    [
        (np.ones((10, 2)), np.ones((9, 2)), "differ"),
        (np.ones(10), np.full(10, np.nan), "NaN"),
        (np.ones((2, 2, 2)), np.ones((2, 2, 2)), "n_samples"),
    ],
)
def test_global_sdr_validates_inputs(ref, est, match):
    with pytest.raises(EvaluationInputError, match=match):
        global_sdr(ref, est)


def test_global_sdr_records():
    ref = {"vocals": np.ones(8), "drums": np.ones(8), "bass": np.ones(8)}
    est = {"vocals": 0.9 * np.ones(8), "drums": np.ones(8)}  # error power 8 * 0.01
    records = global_sdr_records(ref, est)
    assert [r["stem"] for r in records] == ["vocals", "drums"]
    assert records[0] == {
        "stem": "vocals",
        "metric": "global_sdr",
        "sdr_db": pytest.approx(20.0, abs=1e-4),
    }
    with pytest.raises(EvaluationInputError, match="share no stem"):
        global_sdr_records(ref, {"piano": np.ones(8)})


def test_bss_eval_v4_measures_interference():
    rng = np.random.default_rng(3)
    sr = 8000
    a = rng.standard_normal((3 * sr, 2))
    b = rng.standard_normal((3 * sr, 2))
    records = bss_eval_v4({"a": a, "b": b}, {"a": a + 0.1 * b, "b": b + 0.1 * a}, sr)
    assert [r["stem"] for r in records] == ["a", "b"]
    for r in records:
        assert r["metric"] == "bss_eval_v4" and r["n_windows"] == 3
        assert r["sir_db"] == pytest.approx(20.0, abs=1.0)  # leakage at -20 dB
        assert r["sar_db"] > 40 and r["isr_db"] > 25
        assert r["sdr_db"] == pytest.approx(20.0, abs=1.0)
    with pytest.raises(EvaluationInputError, match="same shape"):
        bss_eval_v4({"a": a, "b": b[:-1]}, {"a": a, "b": b[:-1]}, sr)
