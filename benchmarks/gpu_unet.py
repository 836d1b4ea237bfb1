"""U-Net throughput on any Keras backend and device: the part of separation a GPU takes over.

The separation engine runs on TensorFlow; the lent GPU machines have JAX and PyTorch but no
TensorFlow, and the U-Net is backend-neutral, so this script measures the model itself there:
``spleeter:2stems`` (real weights from ``MODEL_PATH``'s converted cache, or ``--random``
weights when only the architecture matters), batches of ``B`` segments of 512 frames
(11.89 s of audio each) through ``predict_on_batch`` (compiled on JAX and TensorFlow), median
of ``--repeats`` calls after a warm-up. It prints seconds per call, x real time of the model
part, and the achieved GFLOP/s (the 2stems U-Net is 2 x 6.10 GMAC per segment).

Usage (pick the backend with ``KERAS_BACKEND``)::

    KERAS_BACKEND=jax   .venv/bin/python benchmarks/gpu_unet.py --batch 1 8 32
    KERAS_BACKEND=torch python benchmarks/gpu_unet.py --batch 1 8 32 --random
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEGMENT_S = 512 * 1024 / 44100
GMAC_PER_SEGMENT_PER_INSTRUMENT = 6.10


def main() -> int:
    """Measure and print the U-Net's throughput per batch size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--random", action="store_true", help="random weights (no checkpoint)")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    args = parser.parse_args()
    import keras
    import numpy as np

    from separation import Separator, load_config
    from separation.device import resolve_device
    from separation.unet import build_unet

    device = resolve_device(args.device)
    cfg = load_config("spleeter:2stems")
    if args.random:
        model = build_unet(cfg)
    else:
        model = Separator("spleeter:2stems", device=args.device).model
    n_inst = len(cfg.instruments)
    print(f"backend {keras.backend.backend()}, device {device.kind}, weights "
          f"{'random' if args.random else 'spleeter 2stems'}")  # fmt: skip
    print(f"{'batch':>6} {'s/call':>8} {'x rt':>8} {'GFLOP/s':>8}")
    rng = np.random.default_rng(0)
    for batch in args.batch:
        x = np.abs(rng.standard_normal((batch, cfg.T, cfg.F, 2))).astype(np.float32)
        model.predict_on_batch(x)  # warm-up: compiles for this shape
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            model.predict_on_batch(x)
            times.append(time.perf_counter() - t0)
        t = statistics.median(times)
        gflop = 2 * GMAC_PER_SEGMENT_PER_INSTRUMENT * n_inst * batch
        print(f"{batch:>6} {t:>8.3f} {batch * SEGMENT_S / t:>8.1f} {gflop / t:>8.1f}", flush=True)
    print("x rt = seconds of audio per second of U-Net compute (STFT, masks, iSTFT not included)")
    return 0


if __name__ == "__main__":
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
