"""Which execution provider the feature models' ONNX Runtime sessions get, and that it is logged."""

from __future__ import annotations

import logging

import numpy as np

from features import onnx_session as sessions
from features.onnx_proto import conv_model


def test_cuda_is_preferred_when_onnxruntime_exposes_it(monkeypatch):
    monkeypatch.delenv(sessions.PROVIDER_ENV, raising=False)
    gpu_build = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert sessions.preferred_providers(gpu_build) == [sessions.CUDA, sessions.CPU]
    assert sessions.preferred_providers(["CPUExecutionProvider"]) == [sessions.CPU]
    monkeypatch.setenv(sessions.PROVIDER_ENV, "cpu")
    assert sessions.preferred_providers(gpu_build) == [sessions.CPU]


def test_a_session_logs_the_provider_it_runs_on(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv(sessions.PROVIDER_ENV, raising=False)
    path = tmp_path / "layer.onnx"
    path.write_bytes(conv_model(np.ones((1, 1, 1, 1), np.float32), np.zeros(1, np.float32),
                                (0, 0, 0, 0)))  # fmt: skip
    with caplog.at_level(logging.INFO, logger="features.onnx_session"):
        session = sessions.onnx_session(path)
    expected = sessions.preferred_providers()[0]  # CPU here: this onnxruntime has no CUDA
    assert session.get_providers()[0] == expected
    assert f"layer.onnx runs on {expected}" in caplog.text
    assert sessions.onnx_session(path) is session  # cached: logged once
    (y,) = session.run(None, {"x": np.full((1, 1, 2, 2), 3.0, np.float32)})
    np.testing.assert_allclose(y, 3.0)
    sessions.clear_onnx_sessions()
