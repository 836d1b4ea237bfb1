"""Per-layer and whole-model U-Net speed: the reference formulation vs the fast one.

Both models (``build_unet(cfg, fast=False)`` and ``fast=True``) are built in one process with
the same random weights. Each layer of the first instrument's U-Net (the others are copies of
it), and every layer shared by the instruments, runs alone as a traced ``tf.function`` on
random inputs of its real shape; the whole models run the same way. Repetitions are
interleaved (reference layer, fast layer, next layer, ...) so that load from other processes
on a shared machine hits both sides alike, and medians are reported.

GFLOP/s counts the *reference* arithmetic (2 FLOP per multiply-add of the direct convolution
or transposed convolution) for both models, so a faster formulation that does more
multiply-adds still shows as more GFLOP/s. One U-Net costs 6.10 GMAC per 512x1024 segment,
2.05 GFLOP per second of audio for 2stems.

Timings are wall and process CPU time; see :func:`timed` for why both. Which formulation the
fast model uses for each layer depends on TensorFlow's CPU kernels (``TF_ENABLE_ONEDNN_OPTS``),
so run it both ways. ``--track 180`` adds an end-to-end ``Separator.separate`` comparison.

Usage::

    .venv/bin/python benchmarks/unet_layers.py [--config spleeter:2stems] [--reps 7]
        [--batch 2] [--skip-layers] [--track SECONDS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def layer_flops(layer, batch: int) -> float:
    """Reference FLOPs of one call of ``layer`` on ``batch`` items (0 for non-conv layers)."""
    import keras

    if isinstance(layer, keras.layers.Conv2DTranspose):
        _, h, w, c_in = layer.input.shape
        kh, kw, c_out, _ = layer.kernel.shape
        return 2.0 * batch * h * w * kh * kw * c_in * c_out
    if isinstance(layer, keras.layers.Conv2D):
        _, h, w, c_out = layer.output.shape
        kh, kw, c_in, _ = layer.kernel.shape
        return 2.0 * batch * h * w * kh * kw * c_in * c_out
    return 0.0


def model_flops(model, batch: int) -> float:
    """Reference FLOPs of one model call: the sum over its layers."""
    return sum(layer_flops(layer, batch) for layer in model.layers)


def print_ref_fast(samples: dict[str, list[tuple[float, float]]], row) -> None:
    """One line per variant from its median (wall, cpu) seconds and fastest wall time, as
    ``row(label, wall, cpu, fastest)`` formats it, then the ref/fast ratios."""
    med = {label: medians(s) for label, s in samples.items()}
    for label, (wall, cpu) in med.items():
        print(row(label, wall, cpu, min(w for w, _ in samples[label])))
    (rw, rc), (fw, fc) = med["ref"], med["fast"]
    print(f"  ref/fast: wall {rw / fw:.3f}x, cpu {rc / fc:.3f}x")


def layer_runners(model, cfg, batch: int) -> dict[str, tuple]:
    """``{layer name: (traced call, inputs, layer)}`` for the first instrument and shared layers."""
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(1)
    others = tuple(f"{inst}_" for inst in cfg.instruments[1:])
    runners = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer) or layer.name.startswith(others):
            continue
        inputs = keras.tree.map_structure(
            lambda t: tf.constant(rng.random((batch, *t.shape[1:]), dtype=np.float32)),
            layer.input,
        )
        fn = tf.function(lambda xs, layer=layer: layer(xs, training=False))
        runners[layer.name] = (fn, inputs, layer)
    return runners


def timed(fn, *args) -> tuple[float, float]:
    """Wall and process CPU seconds of one call, with the copy of the result to the host.

    On a machine shared with other jobs, wall time varies by 2x from one call to the next;
    the CPU time the call consumed varies by a few per cent, so it is the steadier basis for
    comparing formulations (it does not show how well an op uses both cores, wall time does).
    """
    import keras

    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    keras.tree.map_structure(lambda t: t.numpy(), out)
    return time.perf_counter() - t0, time.process_time() - c0


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and median CPU seconds of ``(wall, cpu)`` samples."""
    return (
        statistics.median(wall for wall, _ in samples),
        statistics.median(cpu for _, cpu in samples),
    )


def print_layers(models: dict, cfg, batch: int, reps: int) -> None:
    """Time every layer of both models (interleaved) and print one row per layer."""
    runners = {label: layer_runners(m, cfg, batch) for label, m in models.items()}
    for table in runners.values():  # trace and warm up
        for fn, xs, _ in table.values():
            timed(fn, xs)
    names = list(dict.fromkeys(name for table in runners.values() for name in table))
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(reps):
        for name in names:
            for label, table in runners.items():
                if name in table:
                    fn, xs, _ = table[name]
                    samples.setdefault((label, name), []).append(timed(fn, xs))
    print("\nper layer (ms per call; GFLOP/s by wall time; ratios ref/fast)")
    print(f"{'layer':<26}{'GFLOP':>6} | {'wall':>7}{'cpu':>7}{'GF/s':>6} | "
          f"{'wall':>7}{'cpu':>7}{'GF/s':>6} | {'wall':>5}{'cpu':>6}")  # fmt: skip
    print(f"{'':<32} | {'reference':^20} | {'fast':^20} |")
    totals = {label: [0.0, 0.0] for label in models}
    for name in names:
        flops, row, med = 0.0, "", {}
        for label in models:
            if (label, name) in samples:
                flops = max(flops, layer_flops(runners[label][name][2], batch))
                med[label] = medians(samples[(label, name)])
                totals[label][0] += med[label][0]
                totals[label][1] += med[label][1]
        for label in models:
            if label in med:
                wall, cpu = med[label]
                rate = f"{flops / wall / 1e9:>6.1f}" if flops else f"{'':>6}"
                row += f" | {wall * 1e3:>7.1f}{cpu * 1e3:>7.1f}{rate}"
            else:
                row += f" | {'-':>7}{'-':>7}{'':>6}"
        row += " |"
        if len(med) == 2:
            row += f"{med['ref'][0] / med['fast'][0]:>5.2f}{med['ref'][1] / med['fast'][1]:>6.2f}"
        print(f"{name:<26}{flops / 1e9:>6.2f}{row}")
    ref, fast = totals["ref"], totals["fast"]
    print(f"{'sum (first instr. + shared)':<32} | {ref[0] * 1e3:>7.1f}{ref[1] * 1e3:>7.1f}"
          f"{'':>6} | {fast[0] * 1e3:>7.1f}{fast[1] * 1e3:>7.1f}{'':>6} |"
          f"{ref[0] / fast[0]:>5.2f}{ref[1] / fast[1]:>6.2f}")  # fmt: skip


def print_whole(models: dict, cfg, batch: int, reps: int) -> None:
    """Time both whole models (interleaved calls) and print time, GFLOP/s, real-time factor."""
    import numpy as np
    import tensorflow as tf

    x = tf.constant(np.random.default_rng(2).random((batch, cfg.T, cfg.F, 2), np.float32))
    calls = {label: tf.function(lambda v, m=m: m(v, training=False)) for label, m in models.items()}
    outs = {label: fn(x).numpy() for label, fn in calls.items()}
    diff = float(np.abs(outs["ref"] - outs["fast"]).max())
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in calls}
    for _ in range(reps):
        for label, fn in calls.items():
            samples[label].append(timed(fn, x))
    flops = model_flops(models["ref"], batch)
    audio_s = batch * cfg.segment_seconds
    print(f"\nwhole model, one call of {batch} segments ({flops / 1e9:.1f} GFLOP, "
          f"{audio_s:.1f} s of audio); max |ref - fast| = {diff:.2e}")  # fmt: skip
    print_ref_fast(samples, lambda label, wall, cpu, fastest: (
        f"  {label:<5} wall {wall * 1e3:7.1f} ms (min {fastest * 1e3:.1f}) "
        f"{flops / wall / 1e9:6.1f} GFLOP/s {audio_s / wall:5.1f}x real time | "
        f"cpu {cpu * 1e3:7.1f} ms, {flops / cpu / 1e9:5.1f} GFLOP per CPU-s"))  # fmt: skip


def print_track(cfg, seconds: float, reps: int) -> None:
    """Time ``Separator.separate`` on a synthetic track with each model, interleaved.

    Both separators load the real checkpoint (through ``separation.provider``); the reference
    one builds its U-Net with ``fast=False``. Prints median wall and CPU seconds, real-time
    factors and the largest difference between the two separators' stems.
    """
    import functools

    import numpy as np

    from demodata.signals import synthetic_mix
    from separation import Separator, unet

    block = synthetic_mix(min(seconds, 60.0), seed=0)
    wave = np.tile(block, (int(np.ceil(seconds / 60.0)), 1))[: int(seconds * 44100)]
    build = unet.build_unet
    try:
        unet.build_unet = functools.partial(build, fast=False)
        seps = {"ref": Separator(cfg.name).load()}
    finally:
        unet.build_unet = build
    seps["fast"] = Separator(cfg.name).load()
    for sep in seps.values():  # warm-up: traces the graphs
        sep.separate(wave[:44100], 44100)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in seps}
    stems = {}
    for _ in range(reps):
        for label, sep in seps.items():
            c0, t0 = time.process_time(), time.perf_counter()
            stems[label] = sep.separate(wave, 44100)
            samples[label].append((time.perf_counter() - t0, time.process_time() - c0))
    diff = max(float(np.abs(stems["ref"][k] - stems["fast"][k]).max()) for k in stems["ref"])
    print(f"\nSeparator.separate, {seconds:.0f} s synthetic track, {reps} interleaved reps; "
          f"max |ref - fast| over stems = {diff:.1e}")  # fmt: skip
    print_ref_fast(samples, lambda label, wall, cpu, fastest: (
        f"  {label:<5} wall {wall:6.2f} s (min {fastest:.2f}) "
        f"{seconds / wall:5.1f}x real time (best {seconds / fastest:.1f}x) | "
        f"cpu {cpu:6.2f} s"))  # fmt: skip


def main() -> int:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="spleeter:2stems")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--batch", type=int, default=2, help="segments per call (engine: 2)")
    parser.add_argument("--skip-layers", action="store_true", help="whole models only")
    parser.add_argument(
        "--track", type=float, default=0.0, metavar="SECONDS",
        help="also time Separator.separate on a synthetic track this long (real checkpoint)",
    )  # fmt: skip
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    import numpy as np

    from demodata.checkpoints import randomize_weights
    from separation.configs import load_config
    from separation.fast_layers import onednn_enabled
    from separation.unet import build_unet, fast_deconvs

    cfg = load_config(args.config)
    models = {"ref": build_unet(cfg, fast=False), "fast": build_unet(cfg, fast=True)}
    for model in models.values():
        randomize_weights(model, np.random.default_rng(0), scale=0.05)
    print(f"{cfg.name}: T={cfg.T} F={cfg.F}, {len(cfg.instruments)} instruments, "
          f"batch {args.batch}, {args.reps} interleaved reps, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"TF oneDNN kernels: {onednn_enabled()}; fast decoder layers: {fast_deconvs()}")
    if not args.skip_layers:
        print_layers(models, cfg, args.batch, args.reps)
    print_whole(models, cfg, args.batch, args.reps)
    if args.track:
        print_track(cfg, args.track, args.reps)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # not benchmarks/separation.py
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
