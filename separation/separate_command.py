"""The ``separate`` sub-command: separate audio files into stem files, reporting per file.

Wrong arguments are refused before the model loads, with one line and exit status 2: a
filename format that cannot name files inside the output folder, a bitrate unlike ``128k``, an
output folder that is a file, an unknown model, ``--device gpu`` without a GPU, and a batch in
which two inputs would write the same stem file (numbers are checked by :mod:`separation.cli`'s
types). Every input is then processed even when another one fails; the exit status is 1 when
any input failed (with a per-file error summary) and 0 when all succeeded. Outputs of a failed
input are never left half-written. Tracebacks of unexpected errors are logged with
``--verbose`` only.

When a warm engine (``stemline engine start``, :mod:`separation.warm_engine`) with the same
model options listens, the job runs there, with the same checks, messages and stems, and the
command says once which engine it used; otherwise, or with ``--no-engine``, it runs in this
process (see :mod:`separation.warm_engine.client` for when it falls back and when files fail).
Up to that choice the command imports no model code, no Keras backend and no SciPy (NumPy and
soundfile come with the output checks), so a job for a warm engine starts in a fraction of a
second.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .separate_job import JobRefused, JobSpec

if TYPE_CHECKING:
    from .configs import ModelConfig
    from .separate_job import LocalJob
    from .warm_engine.client import EngineJob

#: Named after the command line (``separation.cli``), as the log lines users see say.
log = logging.getLogger("separation.cli")


def run_separate(args: argparse.Namespace) -> int:
    """Separate every file; report failures per file and return 1 if any failed."""
    from .configs import ConfigError, load_config
    from .output import OutputError, parse_bitrate
    from .stem_paths import check_destination, check_filename_format

    try:
        check_filename_format(args.filename_format)
        parse_bitrate(args.bitrate)
        check_destination(args.output)
        config = load_config(args.params)
    except (ConfigError, OutputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spec = JobSpec(
        files=tuple(args.files), output=args.output, filename_format=args.filename_format,
        codec=args.codec, bitrate=args.bitrate, offset=args.offset, duration=args.duration,
    )  # fmt: skip
    job = None if args.no_engine else _engine_job(args, config, spec)
    if job is not None:
        code = _report(args, job)
        if code is not None:
            return code
    try:
        job = _local_job(args, spec)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    code = _report(args, job)
    assert code is not None  # a local job is never turned away
    return code


def _local_job(args: argparse.Namespace, spec: JobSpec) -> LocalJob:
    """The job run in this process, on a new separator."""
    from .separate_job import LocalJob
    from .separator import Separator

    separator = Separator(
        args.params, mwf=args.mwf, overlap=args.overlap,
        chunk_segments=args.chunk_segments, multichannel=args.multichannel,
        device=args.device, batch_tracks=args.batch_tracks, precision=args.precision,
    )  # fmt: skip
    return LocalJob(spec, separator, args.params)


def _engine_job(args: argparse.Namespace, config: ModelConfig, spec: JobSpec) -> EngineJob | None:
    """The job on a warm engine with this command's model options, or ``None`` (said why)."""
    from .precision import Precision
    from .provider import default_model_path
    from .warm_engine.client import EngineJob, find_engine
    from .warm_engine.lifecycle import engine_paths
    from .warm_engine.protocol import EngineOptions, config_identity, configured_backend

    wanted = EngineOptions(
        model=args.params, config_id=config_identity(config), mwf=args.mwf,
        overlap=args.overlap, precision=Precision(args.precision).name, device=args.device,
        multichannel=args.multichannel, backend=configured_backend(),
        model_path=str(default_model_path().absolute()),
    )  # fmt: skip
    conn, why = find_engine(engine_paths(), wanted)
    if conn is None:
        if why.startswith("no warm engine is running"):
            log.info("%s (stemline engine start); separating in this process", why)
        else:
            print(f"{why}; separating in this process", file=sys.stderr)
        return None
    print(why, file=sys.stderr)
    return EngineJob(conn, spec)


def _report(args: argparse.Namespace, job: LocalJob | EngineJob) -> int | None:
    """Run ``job`` with a progress bar and the per-file report; the exit status, or ``None``
    when an engine turned the job away before starting it."""
    from tqdm import tqdm

    from .warm_engine.client import EngineUnavailable

    try:
        durations, failures = job.plan()
    except JobRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except EngineUnavailable as exc:
        print(f"{exc}; separating in this process", file=sys.stderr)
        return None
    total = sum(durations.values())
    bar = tqdm(
        total=round(total, 1), unit="s", unit_scale=True, desc="separating",
        disable=args.no_progress or None, file=sys.stderr,
    )  # fmt: skip
    bar_lock = threading.Lock()

    def progress_for(path: Path) -> Callable[[int, int], None]:
        seconds = durations[path]
        if args.duration is not None:
            seconds = max(0.0, min(seconds - args.offset, args.duration))
        credited = 0.0

        def progress(done: int, n: int) -> None:
            nonlocal credited
            target = seconds * done / n
            with bar_lock:
                bar.update(round(target - credited, 3))
                bar.set_postfix_str(path.name[-30:])
            credited = target

        return progress

    written = 0
    started = time.perf_counter()
    todo = [path for path in args.files if path not in failures]
    if todo:
        try:
            job.load()
        except JobRefused as exc:
            bar.close()
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        for path, outcome in job.results(todo, progress_for):
            if outcome.failed:
                if outcome.error is not None:  # the trace with --verbose
                    log.info("separating %s failed", path, exc_info=outcome.error)
                if outcome.note is not None:
                    log.info("separating %s failed: %s", path, outcome.note)
                failures[path] = str(outcome.message)
                continue
            written += 1
            for inst, n in outcome.clipped_samples.items():
                log.warning("%s: %s stem clipped at full scale in %d samples", path, inst, n)
            tqdm.write(
                f"{path} -> {', '.join(str(p) for p in outcome.stems.values())}", file=sys.stderr
            )
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    print(
        f"separated {written} of {len(args.files)} files ({total:.1f} s of audio) "
        f"in {elapsed:.1f} s",
        file=sys.stderr,
    )
    if failures:
        print(f"{len(failures)} file(s) failed:", file=sys.stderr)
        for path in args.files:
            if path in failures:
                message = failures[path]
                print(f"  {path}: {message.removeprefix(str(path) + ': ')}", file=sys.stderr)
        return 1
    return 0
