"""The phases of ``benchmarks/gpu_check.py``: golden check, throughput, stage breakdown.

Kept apart from the script's command line and reporting so that each part stays readable;
see ``gpu_check.py``'s docstring for what each phase measures and why its thresholds are what
they are. Nothing here imports Keras at module level: the script sets the JAX compilation
cache's environment before the backend is first imported.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
#: Least SNR of the host's stems against the kit's CPU golden stems, per precision.
GOLDEN_MIN_SNR_DB = {"exact": 70.0, "tf32": 40.0, "bf16": 25.0}
#: Least SNR against original Spleeter at exact precision (tests/separation/test_golden.py's).
SPLEETER_MIN_SNR_DB = 80.0
#: x real time assumed for a phase's estimate until one is measured: (in memory, file to file).
ASSUMED_XRT = {"gpu": (2000.0, 300.0), "cpu": (8.0, 6.0)}
STAGES = ("decode", "resample", "stft", "model", "istft", "encode", "meter")


def separator(kit: Any, args: argparse.Namespace, batch: int = 1, clock: Any = None) -> Any:
    """A separator with the kit's weights and the run's device, precision and chunking."""
    from separation import Separator

    model = kit.manifest["model"]
    return Separator(
        model["params"], weights=kit.root / model["weights"], device=args.device,
        precision=args.precision, chunk_segments=args.chunk_segments, batch_tracks=batch,
        stage_clock=clock,
    )  # fmt: skip


def device_info(sep: Any) -> dict:
    """Which device the separator runs on, by the backend's own name for it."""
    import keras

    device, backend = sep.device, keras.backend.backend()
    name = _cpu_name()
    if device.kind == "gpu" and backend == "jax":
        import jax

        name = jax.devices("gpu")[0].device_kind
    elif device.kind == "gpu" and backend == "torch":
        import torch

        name = torch.cuda.get_device_name(0)
    elif device.kind == "gpu":
        import tensorflow as tf

        gpu = tf.config.list_physical_devices("GPU")[0]
        name = tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
    return {"kind": device.kind, "keras_device": device.name, "name": name}


def _cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "cpu"
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "cpu")


def golden_phase(kit: Any, args: argparse.Namespace, sep: Any) -> dict:
    """Separate the golden input on the device with ``sep`` (one track at a time); SNR
    against the CPU and Spleeter stems."""
    from separation.host_golden import golden_case, read_golden_stems, snr_db
    from wheelfiles import sha256_of

    golden = kit.manifest["golden"]
    source = REPO / golden["input"]
    if sha256_of(source) != golden["input_sha256"]:
        raise SystemExit(f"{source} differs from the golden input the kit was made from")
    mix, rate = sf.read(source, dtype="float32", always_2d=True)
    mix = mix[: int(golden["seconds"] * rate)]
    started = time.perf_counter()
    stems = sep.separate(mix, rate)
    first = time.perf_counter() - started
    started = time.perf_counter()
    sep.separate(mix, rate)
    again = time.perf_counter() - started
    device = device_info(sep)
    print(f"device: {device['name']} ({device['kind']}); golden {golden['seconds']:g} s: first "
          f"call {first:.1f} s (with compiling), then {again:.2f} s")  # fmt: skip
    cpu = read_golden_stems(kit.root, REPO, golden["stems"])
    vs_cpu = {inst: round(snr_db(cpu[inst], stems[inst]), 2) for inst in cpu}
    _, seconds, spleeter = golden_case(REPO, golden["params"])
    vs_spleeter = {
        inst: round(snr_db(sf.read(path, dtype="float32", always_2d=True)[0], stems[inst]), 2)
        for inst, path in spleeter.items()
        if seconds == golden["seconds"]
    }
    floor = GOLDEN_MIN_SNR_DB[args.precision]
    passed = min(vs_cpu.values()) >= floor and (
        args.precision != "exact" or min(vs_spleeter.values(), default=99.0) >= SPLEETER_MIN_SNR_DB
    )
    for inst in vs_cpu:
        print(f"  {inst}: {vs_cpu[inst]:.1f} dB vs CPU golden (min {floor:.0f}), "
              f"{vs_spleeter.get(inst, float('nan')):.1f} dB vs Spleeter")  # fmt: skip
    if not passed:
        print("!" * 72 + "\nGOLDEN CHECK FAILED: the device's stems differ from the CPU's\n"
              + "!" * 72)  # fmt: skip
    return {
        "device": device, "seconds": golden["seconds"], "first_call_s": round(first, 3),
        "again_s": round(again, 3), "snr_vs_cpu_db": vs_cpu, "snr_vs_spleeter_db": vs_spleeter,
        "min_snr_db": floor, "precision": args.precision, "passed": passed,
    }  # fmt: skip


def xrt_or_assumed(results: Any, key: str, kind: str) -> float:
    """The last measured x real time of ``key`` (``memory``/``file``), else the assumption."""
    measured = [run[key]["xrt"] for run in results.data["runs"] if key in run]
    return measured[-1] if measured else ASSUMED_XRT[kind][key == "file"]


def throughput_phase(
    kit: Any, args: argparse.Namespace, results: Any, workdir: Path, single: Any
) -> Any:
    """Write the tracks, then time each batch size in memory and file to file; returns the
    largest batch's separator. ``single`` is the one-track separator (the golden phase's),
    whose stage clock every separator shares."""
    from synthetic_tracks import write_tracks

    audio = args.tracks * args.seconds
    started = time.perf_counter()
    paths = write_tracks(
        workdir / "inputs", args.tracks, args.seconds, args.rates, args.input_codec, args.seed
    )
    written = time.perf_counter() - started
    print(f"tracks: {args.tracks} x {args.seconds:g} s ({audio:.0f} s of audio) written as "
          f"{args.input_codec} at {args.rates} Hz in {written:.1f} s")  # fmt: skip
    results.data["tracks"] = {
        "count": args.tracks, "seconds": args.seconds, "rates": args.rates,
        "codec": args.input_codec, "audio_s": audio, "write_s": round(written, 2),
    }  # fmt: skip
    model_rate = single.config.sample_rate
    waves = [model_rate_wave(path, model_rate) for path in paths]
    sep = single
    for batch in args.batch_sizes:
        run: dict = {"batch": batch}
        results.data["runs"].append(run)
        try:
            sep = single if batch == 1 else separator(kit, args, batch, single.stage_clock)
            batch_runs(sep, run, waves, paths, model_rate, workdir, args, results)
        except Exception as exc:  # a batch size that fails (out of memory, say) loses no other
            run["error"] = f"{type(exc).__name__}: {exc}"[:1000]
            print(f"ERROR at batch {batch}: {run['error']}")
        results.save()
    return sep


def batch_runs(
    sep: Any,
    run: dict,
    waves: list,
    paths: list[Path],
    model_rate: int,
    workdir: Path,
    args: argparse.Namespace,
    results: Any,
) -> None:
    """Warm ``sep`` up, then time it in memory and file to file, each if the budget allows."""
    kind, audio, batch = results.data["device"]["kind"], args.tracks * args.seconds, run["batch"]
    started = time.perf_counter()
    warm_up(sep, batch, waves, model_rate)
    run["warmup_s"] = round(time.perf_counter() - started, 2)
    estimate = audio / xrt_or_assumed(results, "memory", kind)
    if results.fits(f"in memory, batch {batch}", estimate, args.budget_s):
        started = time.perf_counter()
        sep.separate_many(waves, model_rate)
        run["memory"] = _rate(audio, time.perf_counter() - started)
        print(f"batch {batch}: in memory {run['memory']['xrt']:.1f}x real time")
        results.save()
    estimate = audio / xrt_or_assumed(results, "file", kind)
    if results.fits(f"file to file, batch {batch}", estimate, args.budget_s):
        run["file"] = file_to_file(sep, paths, workdir / f"stems-{batch}", args.codec, audio)
        print(f"batch {batch}: file to file {run['file']['xrt']:.1f}x real time")


def _rate(audio: float, seconds: float) -> dict:
    return {"seconds": round(seconds, 3), "xrt": round(audio / seconds, 2)}


def model_rate_wave(path: Path, model_rate: int) -> np.ndarray:
    """A track decoded and resampled to the model rate, for the in-memory runs."""
    import soxr

    data, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate == model_rate:
        return data
    return soxr.resample(data, rate, model_rate, quality="HQ").astype(np.float32)


def warm_up(sep: Any, batch: int, waves: list[np.ndarray], rate: int) -> None:
    """Compile every shape the timed runs use: a whole track alone (one track's chunks are
    as long as the track), a short excerpt per track of a batch (batched chunks are always
    ``chunk_segments`` long)."""
    if batch == 1:
        sep.separate(waves[0], rate)
    else:
        sep.separate_many([waves[0][: 2 * rate]] * batch, rate)


def file_to_file(sep: Any, paths: list[Path], out: Path, codec: str, audio: float) -> dict:
    """Separate ``paths`` into ``out`` (removed after); x real time, failures, residuals."""
    started = time.perf_counter()
    outcomes = list(sep.separate_files(paths, out, codec=codec))
    seconds = time.perf_counter() - started
    failures = [(path, result) for path, result in outcomes if isinstance(result, Exception)]
    for path, error in failures[:3]:
        print(f"FAILED {path.name}: {error}")
    residuals = [
        result.mixture_residual_db
        for _, result in outcomes
        if not isinstance(result, Exception) and result.mixture_residual_db is not None
    ]
    shutil.rmtree(out, ignore_errors=True)
    return {
        **_rate(audio, seconds), "failed": len(failures),
        "max_residual_db": round(max(residuals), 2) if residuals else None,
    }  # fmt: skip


def stage_phase(sep: Any, args: argparse.Namespace, workdir: Path) -> dict:
    """One batch separated stage by stage (host stages on this thread, device stages waited
    for by ``sep``'s stage clock); busy seconds and x real time per stage."""
    from separation.audio import ExactResampler, probe, read_blocks, resample_blocks, to_stereo
    from separation.output import StemWriter
    from separation.residual import SumResidual, residual_band_hz

    cfg, model_rate, clock = sep.config, sep.config.sample_rate, sep.stage_clock
    paths = sorted((workdir / "inputs").iterdir())[: args.stage_tracks]
    clock.reset()
    tracks = []
    for path in paths:
        info = probe(path)
        with clock.time("decode"):
            mix = np.concatenate([to_stereo(b) for b in read_blocks(info)])
        n_model = round(len(mix) * model_rate / info.sample_rate)
        with clock.time("resample"):
            wave = np.concatenate(
                list(resample_blocks(iter([mix]), info.sample_rate, model_rate, 2, n_model))
            )
        tracks.append((info, mix, wave))
    with clock.recording():
        started = time.perf_counter()
        separated = sep.separate_many([wave for _, _, wave in tracks], model_rate)
        device_wall = time.perf_counter() - started
    residuals = []
    out = workdir / "stage-stems"
    for i, ((info, mix, _), stems) in enumerate(zip(tracks, separated, strict=True)):
        rate, written = info.sample_rate, []
        for inst in cfg.instruments:
            with clock.time("resample"):
                back = ExactResampler(model_rate, rate, 2, len(mix))
                stem = np.concatenate([back.push(stems[inst]), *back.finish()])
            with clock.time("encode"):
                writer = StemWriter(out / f"{i}-{inst}.{args.codec}", rate, 2, args.codec)
                written.append(writer.write(stem))
                writer.commit()
        with clock.time("meter"):
            meter = SumResidual(rate, residual_band_hz(cfg, rate))
            meter.add_mixture(mix)
            meter.add_stems(written)
            residuals.append(meter.residual_db())
    shutil.rmtree(out, ignore_errors=True)
    audio = sum(info.duration_s for info, _, _ in tracks)
    seconds, calls = clock.seconds(), clock.calls()
    return {
        "tracks": len(tracks), "audio_s": round(audio, 2),
        "device_part_wall_s": round(device_wall, 3), "max_residual_db": round(max(residuals), 2),
        "stages": {
            name: {"seconds": round(seconds.get(name, 0.0), 4), "calls": calls.get(name, 0),
                   "xrt": round(audio / seconds[name], 1) if seconds.get(name) else None}
            for name in STAGES
        },
    }  # fmt: skip
