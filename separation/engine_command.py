"""The ``engine`` sub-command: a warm separation engine for repeated ``stemline separate``.

::

    stemline engine start [-p spleeter:2stems --mwf ...] [--socket PATH] [--idle-timeout S]
    stemline engine status [--socket PATH]
    stemline engine stop [--socket PATH]

``start`` launches a background process (:mod:`separation.warm_engine`) that loads the model
once, compiles its first call and serves ``separate`` jobs on a Unix domain socket; it returns
when the engine answers, printing its pid, socket and log. A ``stemline separate`` with the
same model options then runs there and starts separating in well under a second. The engine
exits by itself after ``--idle-timeout`` seconds without a job (default 30 minutes). ``status``
prints what it runs and has served; ``stop`` lets the current job finish, then stops it.
Exit status 1 when there is no engine to report on, or it cannot be started; 2 for wrong
arguments.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from .cli import add_model_options
from .warm_engine.lifecycle import DEFAULT_IDLE_TIMEOUT_S

#: Seconds ``start`` waits for the engine to load and compile (the model may be fetched).
START_TIMEOUT_S = 900.0


def positive_seconds(text: str) -> float:
    """``--idle-timeout``: a finite number of seconds, more than 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds above 0, not {text!r}"
        )
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``engine start|status|stop`` to the ``stemline`` argument parser."""
    engine = subparsers.add_parser(
        "engine",
        help="a warm separation engine that `separate` uses (start, status, stop)",
        description="Keep a separation model loaded in a background process, so that "
        "`stemline separate` with the same model options starts at once.",
    )
    actions = engine.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("start", help="start an engine in the background")
    add_model_options(start)
    start.add_argument(
        "--idle-timeout", type=positive_seconds, default=DEFAULT_IDLE_TIMEOUT_S, metavar="S",
        help=f"exit after S seconds without a job (default {DEFAULT_IDLE_TIMEOUT_S:.0f})",
    )  # fmt: skip
    start.set_defaults(func=run_start)
    status = actions.add_parser("status", help="what the engine runs and has served")
    status.set_defaults(func=run_status)
    stop = actions.add_parser("stop", help="stop the engine after its current job")
    stop.set_defaults(func=run_stop)
    for parser in (start, status, stop):
        parser.add_argument(
            "--socket", default=None, metavar="PATH",
            help="the engine's socket (default $STEMLINE_ENGINE_SOCKET, else "
            "$XDG_RUNTIME_DIR/stemline/engine.sock or ~/.cache/stemline/engine/engine.sock)",
        )  # fmt: skip


def run_start(args: argparse.Namespace) -> int:
    """Start an engine and wait until it answers."""
    from .configs import ConfigError, load_config
    from .warm_engine.client import EngineRefusal, EngineUnavailable, ask
    from .warm_engine.lifecycle import (
        EngineStartError,
        clean_stale,
        engine_alive,
        engine_paths,
        read_pid,
        spawn,
        wait_until_ready,
    )

    paths = engine_paths(args.socket)
    try:
        load_config(args.params)
        paths.check()
    except (ConfigError, EngineStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        running = ask(paths, "status")
    except (EngineUnavailable, EngineRefusal):
        running = None
    if running is not None or engine_alive(read_pid(paths)):
        pid = running["pid"] if running else read_pid(paths)
        print(
            f"error: a warm engine (pid {pid}) already runs on {paths.socket}; "
            "stop it first (stemline engine stop)",
            file=sys.stderr,
        )
        return 1
    clean_stale(paths)
    settings = {
        "params": args.params, "mwf": args.mwf, "overlap": args.overlap,
        "chunk_segments": args.chunk_segments, "multichannel": args.multichannel,
        "device": args.device, "batch_tracks": args.batch_tracks, "precision": args.precision,
        "idle_timeout_s": args.idle_timeout,
    }  # fmt: skip
    pid = spawn(paths, settings, verbose=args.verbose)
    print(f"starting the warm engine (pid {pid}, {args.params}); log {paths.log}", file=sys.stderr)
    try:
        seconds = wait_until_ready(paths, pid, START_TIMEOUT_S)
    except EngineStartError as exc:
        print(f"error: {exc}{_last_line(paths.log)}", file=sys.stderr)
        return 1
    print(
        f"ready in {seconds:.1f} s on {paths.socket} (exits after {args.idle_timeout:.0f} s "
        "without a job; stemline engine stop)",
        file=sys.stderr,
    )
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print what the engine runs and has served; 1 when there is none."""
    from .warm_engine.client import EngineRefusal, EngineUnavailable, ask
    from .warm_engine.lifecycle import engine_alive, engine_paths, read_pid

    paths = engine_paths(args.socket)
    try:
        engine = ask(paths, "status")
    except EngineRefusal as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except EngineUnavailable as exc:
        pid = read_pid(paths)
        if engine_alive(pid):
            print(f"the warm engine (pid {pid}) is starting; log {paths.log}")
            return 0
        print(f"{exc} on {paths.socket}")
        return 1
    options = engine["options"]
    flags = [name for name in ("mwf", "overlap") if options[name]]
    print(f"pid         {engine['pid']}")
    print(f"model       {options['model']} {' '.join('--' + f for f in flags)}".rstrip())
    print(f"options     precision {options['precision']}, device {options['device']} "
          f"({engine['device']}), backend {options['backend']}, "
          f"multichannel {options['multichannel']}, batch tracks {engine['batch_tracks']}, "
          f"chunk segments {engine['chunk_segments']}")  # fmt: skip
    print(f"uptime      {_duration(engine['uptime_s'])}")
    print(f"jobs        {engine['jobs_served']} served ({engine['files_separated']} files), "
          f"{engine['busy']} running or queued")  # fmt: skip
    print(f"idle exit   after {_duration(engine['idle_timeout_s'])} without a job")
    print(f"socket      {engine['socket']}")
    print(f"log         {engine['log']}")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    """Stop the engine after its current job and wait until it has exited."""
    from .warm_engine.client import EngineRefusal, EngineUnavailable, ask
    from .warm_engine.lifecycle import engine_alive, engine_paths, read_pid

    paths = engine_paths(args.socket)
    try:
        engine = ask(paths, "stop")
    except (EngineRefusal, EngineUnavailable) as exc:
        pid = read_pid(paths)
        if not engine_alive(pid):
            print(f"{exc} on {paths.socket}", file=sys.stderr)
            return 0
        assert pid is not None
        # Loading (nothing to finish yet) or speaking another protocol: SIGTERM stops it as
        # `stop` does.
        os.kill(pid, signal.SIGTERM)
        engine = {"pid": pid, "busy": 0}
    pid = int(engine["pid"])
    if engine["busy"]:
        print(f"the warm engine (pid {pid}) stops after its current job", file=sys.stderr)
    while engine_alive(pid):
        time.sleep(0.1)
    print(f"stopped the warm engine (pid {pid})", file=sys.stderr)
    return 0


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _last_line(log: os.PathLike) -> str:
    """``": <the log's last line>"``, or nothing when it has none."""
    try:
        text = Path(log).read_text(errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
    except OSError:
        return ""
    return f": {lines[-1][-300:]}" if lines else ""
