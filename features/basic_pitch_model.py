"""The basic-pitch note transcription model: its pinned ONNX file and its input/output contract.

basic-pitch (Bittner et al., "A lightweight instrument-agnostic model for polyphonic note
transcription and multipitch estimation", ICASSP 2022; Spotify, Apache-2.0) is a small
convolutional network that turns 2 s of mono audio into three posteriorgrams. Its 0.4.0 PyPI
wheel ships the trained model as ``basic_pitch/saved_models/icassp_2022/nmp.onnx``; the package
itself pins an old TensorFlow, so stemline never installs it: :func:`fetch_basic_pitch_model`
downloads the one wheel with ``pip download --no-deps`` and extracts that file, both checked
against the sha256 pinned below (:mod:`wheelfiles`, cached under ``$MODEL_PATH/wheels``). Fetch it
ahead of time with ``stemline models fetch basic-pitch`` (or ``features``); otherwise the first
stem that needs it fetches it.

The model's contract (checked by :func:`check_model_io` when a session is created):

=========  =====================  =====================================================
tensor     shape                  meaning
=========  =====================  =====================================================
input      (batch, 43844, 1)      mono float audio at 22050 Hz, full scale 1.0: 2 s less
                                  one hop; the network computes its own CQT
onset      (batch, 172, 88)       probability that a note of MIDI pitch 21 + k starts in
                                  frame j (hop 256 samples: 86.13 frames/s, frame j
                                  centred on sample ``256 j`` of the window)
note       (batch, 172, 88)       probability that pitch 21 + k sounds in frame j
contour    (batch, 172, 264)      multipitch salience, 3 bins per semitone; bin
                                  ``3 (m - 21) + 1`` is centred on MIDI pitch m
=========  =====================  =====================================================

The network normalises the log-magnitude CQT of each window on its own, so its output does not
depend on the level of the audio (a tone at -6 and at -66 dBFS gets the same posteriors), and
faint noise in a window with nothing else reads as notes: callers gate by level
(:mod:`features.basic_pitch_notes`).

What runs it (:func:`basic_pitch_runner`): on a machine whose onnxruntime exposes the CUDA
provider, the published model on ONNX Runtime's GPU session; otherwise the same network
computed layer by layer on the CPU (:mod:`features.basic_pitch_layers`, about half the CPU time of
ONNX Runtime's CPU session, posteriors equal to 1e-3). Both have ``run(output_names, feed)``.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from features.onnx_session import gpu_available, onnx_session
from wheelfiles import WheelFile, fetch_wheel_file

log = logging.getLogger(__name__)

#: The pinned model file. The wheel's sha256 is the one PyPI lists for the release.
BASIC_PITCH_MODEL = WheelFile(
    requirement="basic-pitch==0.4.0",
    wheel="basic_pitch-0.4.0-py2.py3-none-any.whl",
    wheel_sha256="738adb503aae7fdfc7d1e1511aa0ce35052315f260a19531ef4c356708425db0",
    member="basic_pitch/saved_models/icassp_2022/nmp.onnx",
    sha256="2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec",
)

SAMPLE_RATE = 22050
HOP = 256
WINDOW_SAMPLES = 43844
WINDOW_FRAMES = 172
N_PITCHES = 88
LOWEST_MIDI = 21
CONTOUR_BINS_PER_SEMITONE = 3
N_CONTOUR_BINS = N_PITCHES * CONTOUR_BINS_PER_SEMITONE

INPUT_NAME = "serving_default_input_2:0"
#: Output tensor of each posteriorgram (the names the TensorFlow export gave them).
OUTPUT_NAMES = {
    "onset": "StatefulPartitionedCall:2",
    "note": "StatefulPartitionedCall:1",
    "contour": "StatefulPartitionedCall:0",
}
OUTPUT_WIDTHS = {"onset": N_PITCHES, "note": N_PITCHES, "contour": N_CONTOUR_BINS}


def fetch_basic_pitch_model(
    cache_dir: Path | None = None, *, pip_args: tuple[str, ...] = (), retries: int = 3
) -> Path:
    """Path of the verified ``nmp.onnx``, downloading the basic-pitch wheel when needed.

    Parameters
    ----------
    cache_dir : pathlib.Path, optional
        Cache root; default :func:`wheelfiles.default_cache_dir` (``$MODEL_PATH/wheels``).
    pip_args : tuple of str
        Extra ``pip download`` arguments (``--index-url``, ``--find-links``, ...).
    retries : int
        Attempts of ``pip download``.

    Raises
    ------
    wheelfiles.WheelFileUnavailable
        The wheel could not be downloaded or lacks the model (the message says why).
    wheelfiles.WheelFileIntegrityError
        The wheel or the model does not match its pinned sha256.
    """
    return fetch_wheel_file(BASIC_PITCH_MODEL, cache_dir, pip_args=pip_args, retries=retries)


def check_model_io(session: Any) -> None:
    """Check that a session has the input and outputs described in the module docstring.

    Raises
    ------
    ValueError
        Naming the first tensor whose name or shape differs.
    """
    inputs = {t.name: t.shape for t in session.get_inputs()}
    if list(inputs) != [INPUT_NAME] or inputs[INPUT_NAME][1:] != [WINDOW_SAMPLES, 1]:
        raise ValueError(f"basic-pitch model: expected input {INPUT_NAME} (n, 43844, 1): {inputs}")
    outputs = {t.name: t.shape for t in session.get_outputs()}
    for kind, name in OUTPUT_NAMES.items():
        shape = outputs.get(name)
        if shape is None or shape[1:] != [WINDOW_FRAMES, OUTPUT_WIDTHS[kind]]:
            raise ValueError(f"basic-pitch model: {kind} output {name} has shape {shape}")


def basic_pitch_session(threads: int = 1, cache_dir: Path | None = None) -> Any:
    """The process's ONNX Runtime session of the basic-pitch model (fetched when missing).

    The model file is re-verified on every call (a 230 kB sha256, well under a millisecond);
    the session is created on the first call in a process and reused after
    (:func:`features.onnx_session.onnx_session`).
    """
    session = onnx_session(fetch_basic_pitch_model(cache_dir), threads)
    check_model_io(session)
    return session


def basic_pitch_runner(threads: int = 1, cache_dir: Path | None = None) -> Any:
    """What computes the model in this process (fetched when missing); see the module doc.

    Returns the ONNX Runtime GPU session when the CUDA provider is available, else this
    process's :class:`features.basic_pitch_layers.LayeredBasicPitch` (created on the first call,
    reused after). The choice is logged at INFO when it is made.
    """
    path = fetch_basic_pitch_model(cache_dir)
    if gpu_available():
        return basic_pitch_session(threads, cache_dir)
    resolved = path.resolve()
    stat = resolved.stat()
    return _layered_model(str(resolved), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=2)
def _layered_model(path: str, size: int, mtime_ns: int) -> Any:
    """The layer-by-layer CPU model; ``size`` and ``mtime_ns`` only key the cache."""
    from features.basic_pitch_layers import LayeredBasicPitch

    log.info("basic-pitch runs layer by layer on the CPU (no CUDA provider in onnxruntime)")
    return LayeredBasicPitch.from_file(Path(path))
