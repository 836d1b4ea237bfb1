"""Pipeline wall / compute through ``stemline run`` and through the UI (issue 12's targets).

For each N of ``--songs``, N seeded songs (``demodata.render_song``, ``--song-seconds`` long;
plain FLAC mixtures, or the demo layout with reference stems and annotations) go through

* **cli**: ``stemline run --storage S AUDIO`` as a subprocess on a fresh storage root and
  ``DAGSTER_HOME`` (the whole command: interpreter, imports, scan, runs, catalogue), then
  **cli +1**: one more song (``--added-seconds``) dropped in and ``stemline run`` again;
* **ui**: ``stemline ui --storage S --audio-root A --port P`` (``dagster dev``: webserver,
  daemon, code server; the folder sensor on) on a fresh storage root and ``DAGSTER_HOME``.
  Once the sensor has ticked, the benchmark waits ``--drop-after-tick`` seconds (default: half
  the sensor's interval, the mean wait of a drop at a random moment) and moves the songs into
  the empty audio root at t0 (a rename on the same file system, so the sensor never sees half
  a file).
  It polls a read-only instance on that ``DAGSTER_HOME`` until every partition of every track
  asset is materialised and no run is queued or running; wall = the last run's end - t0.

compute = separation (the ``seconds`` metadata of ``stems`` materialisations: decode,
resample, model, encode; no model load) + features (``compute_s`` of ``stem_features``), both
read from the same runs' event log; ratio = wall / compute. Targets: 1.2 (cli), 1.5 (ui),
8 s wall (cli +1). Per run, the event log also gives where the rest went: queueing, the run
worker's start (process, imports, code load), the step process's start, the step (model load
inside the first ``stems`` materialisation), and the run's end. The load average is printed
with every figure: on a shared machine they are indicative.

Usage::

    .venv/bin/python benchmarks/pipeline_ui_vs_cli.py [--songs 6 20] [--repeats 1]
        [--paths cli ui] [--layout mixtures|demo] [--json out.json] [--workdir DIR]
        [--warm-engine]

``--warm-engine`` starts ``stemline engine start`` once before the measurements (its start-up
is printed, not counted, like ``dagster dev``'s) so that every run hands its separation to it;
without it, runs load their own model (``STEMLINE_WARM_ENGINE=0``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from orchestration.commands.ui import SENSOR_INTERVAL_S  # noqa: E402  (this tree's, no Dagster)

STEMLINE = Path(sys.executable).parent / "stemline"
TARGETS = {"cli": 1.2, "ui": 1.5}
ADDED_TARGET_S = 8.0
TRACK_ASSETS = ("track_audio", "stems", "stem_features", "separation_eval", "transcription_prep")
ACTIVE = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
#: Event types whose first (or last, for ends) timestamp marks a phase of a run.
MILESTONES = (
    "RUN_ENQUEUED", "RUN_DEQUEUED", "RUN_STARTING", "RUN_START", "STEP_WORKER_STARTING",
    "STEP_WORKER_STARTED", "RESOURCE_INIT_STARTED", "STEP_START",
)  # fmt: skip


@dataclass
class RunTiming:
    """One Dagster run: its phases (seconds) and the compute inside it."""

    job: str
    status: str
    tracks: int
    created: float
    started: float
    ended: float
    phases: dict[str, float] = field(default_factory=dict)
    separation_s: float = 0.0
    features_s: float = 0.0


@dataclass
class Measurement:
    """One path's figures for one N."""

    songs: int
    path: str
    wall_s: float
    separation_s: float = 0.0
    features_s: float = 0.0
    target: float = 0.0
    load_before: float = 0.0
    load_after: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)
    runs: list[RunTiming] = field(default_factory=list)

    @property
    def compute_s(self) -> float:
        """Separation plus features compute."""
        return self.separation_s + self.features_s

    @property
    def ratio(self) -> float:
        """Wall over compute."""
        return self.wall_s / self.compute_s if self.compute_s else float("nan")

    @property
    def met(self) -> bool:
        """Whether the target (a ratio, or wall seconds for ``cli +1``) is met."""
        return (self.wall_s if self.path == "cli +1" else self.ratio) <= self.target


def write_songs(folder: Path, n: int, seconds: float, layout: str, first: int = 0) -> None:
    """Songs ``first`` .. ``first + n - 1`` of the seeded demo set, ``seconds`` long: FLAC
    mixtures, or song folders with reference stems and annotations (``layout="demo"``)."""
    import soundfile as sf

    from demodata import SAMPLE_RATE, render_song
    from demodata.songs import write_song

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + n):
        song = render_song(i, seed=12, duration_s=seconds)
        if layout == "demo":
            write_song(song, folder)
        else:
            sf.write(folder / f"{song.name}.flac", song.mixture, SAMPLE_RATE, subtype="PCM_16")


def clean_env(home: Path) -> dict[str, str]:
    """This environment without settings that would point elsewhere, with ``home``, and this
    source tree first on the import path (so a copy of the tree benchmarks itself). A warm
    engine is used only when ``--warm-engine`` started one (its socket is then in
    ``STEMLINE_ENGINE_SOCKET``); otherwise runs load their own model."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "STEMLINE_STORAGE_ROOT", "STEMLINE_AUDIO_ROOTS", "STEMLINE_CONFIG",
        "STEMLINE_WARM_ENGINE")}  # fmt: skip
    if "STEMLINE_ENGINE_SOCKET" not in env:
        env["STEMLINE_WARM_ENGINE"] = "0"
    path = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return {**env, "DAGSTER_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": path}


def run_timings(home: Path, since: float) -> list[RunTiming]:
    """Every run created after ``since`` in the instance at ``home``, oldest first."""
    import dagster as dg

    timings = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for record in reversed(instance.get_run_records()):
            created = record.create_timestamp.timestamp()
            if created < since:
                continue
            run = record.dagster_run
            first: dict[str, float] = {}
            last: dict[str, float] = {}
            timing = RunTiming(
                run.job_name, run.status.value, 0, created, record.start_time or 0,
                record.end_time or 0,
            )  # fmt: skip
            mats: list[tuple[float, str, float]] = []  # (time, asset, seconds) in order
            checks: list[float] = []
            speeds: list[tuple[float, float]] = []  # stems: (seconds, x real time)
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None:
                    continue
                kind = event.event_type.name  # RUN_START, not its stored "PIPELINE_START"
                first.setdefault(kind, entry.timestamp)
                last[kind] = entry.timestamp
                if kind == "ASSET_CHECK_EVALUATION":
                    checks.append(entry.timestamp)
                if kind != "ASSET_MATERIALIZATION":
                    continue
                mat = event.step_materialization_data.materialization
                asset, meta = mat.asset_key.to_user_string(), mat.metadata
                value = {"stems": meta.get("seconds"), "stem_features": meta.get("compute_s")}
                seconds = float(value[asset].value) if value.get(asset) is not None else 0.0
                mats.append((entry.timestamp, asset, seconds))
                if asset == "stems" and meta.get("x_realtime") is not None:
                    speeds.append((seconds, float(meta["x_realtime"].value)))
                timing.separation_s += seconds if asset == "stems" else 0.0
                timing.features_s += seconds if asset == "stem_features" else 0.0
                timing.tracks += asset == "track_audio"
            timing.phases = _phases(created, first, last, mats, checks)
            if len(speeds) >= 3:  # the first call traces and compiles the model
                usual = statistics.median(x for _, x in speeds[1:])
                seconds, speed = speeds[0]
                timing.phases["first separation's excess over the run's median speed"] = (
                    seconds - seconds * speed / usual
                )
            timings.append(timing)
    return timings


def _phases(created, first, last, mats, checks) -> dict[str, float]:
    """Where a run's time went, from the first/last timestamp of each event type."""
    marks = [("created", created)] + [(m, first[m]) for m in MILESTONES if m in first]
    phases = {f"{a} -> {b}": tb - ta for (a, ta), (b, tb) in pairwise(marks)}
    step_end = last.get("STEP_SUCCESS") or last.get("STEP_FAILURE")
    if "STEP_START" in first and mats:
        phases["step start -> first materialisation"] = mats[0][0] - first["STEP_START"]
    stems = [i for i, m in enumerate(mats) if m[1] == "stems"]
    if stems and stems[0] > 0:
        before = max([mats[stems[0] - 1][0], *(c for c in checks if c < mats[stems[0]][0])])
        phases["first stems outside separation (model load)"] = (
            mats[stems[0]][0] - before - mats[stems[0]][2]
        )
    if "STEP_START" in first and step_end:
        phases["step"] = step_end - first["STEP_START"]
    end = last.get("RUN_SUCCESS") or last.get("RUN_FAILURE")
    if step_end and end:
        phases["step end -> run end"] = end - step_end
    return phases


def summed(m: Measurement, runs: list[RunTiming]) -> Measurement:
    """``m`` with the runs and their compute."""
    m.runs = runs
    m.separation_s = sum(r.separation_s for r in runs)
    m.features_s = sum(r.features_s for r in runs)
    return m


def measure_cli(n: int, staging: Path, added: Path, work: Path) -> list[Measurement]:
    """``stemline run`` on the N songs, then again with one more song."""
    storage, home, audio = work / "data", work / "dagster_home", work / "audio"
    storage.mkdir(parents=True)
    shutil.copytree(staging, audio)
    env = clean_env(home)
    out = []
    for path in ("cli", "cli +1"):
        if path == "cli +1":
            shutil.copytree(added, audio, dirs_exist_ok=True)
        cmd = [str(STEMLINE), "run", "--no-progress", "--storage", str(storage), str(audio)]
        load, cpu, began = os.getloadavg()[0], _children_cpu_s(), time.time()
        proc = subprocess.run(cmd, env=env, cwd=work, capture_output=True, text=True)
        wall = time.time() - began
        cpu = _children_cpu_s() - cpu
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
        target = ADDED_TARGET_S if path == "cli +1" else TARGETS["cli"]
        m = Measurement(n, path, wall, target=target, load_before=load)
        m.load_after = os.getloadavg()[0]
        summed(m, run_timings(home, began))
        m.extra["CPU seconds of the command and its workers"] = cpu
        tracks = [r for r in m.runs if r.job == "process_tracks"]
        if tracks:
            m.extra["start -> first run (imports, scan, staleness)"] = tracks[0].created - began
            refresh = [r for r in m.runs if r.job == "refresh_catalogue"]
            m.extra["catalogue refresh + exit"] = began + wall - tracks[-1].ended
            if refresh:
                m.extra["catalogue refresh run"] = refresh[-1].ended - refresh[-1].created
        out.append(m)
    return out


def _children_cpu_s() -> float:
    """CPU seconds of this process's exited (waited-for) descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_sensor_tick(instance) -> float | None:
    """End time of the folder sensor's latest finished tick, or ``None``."""
    from dagster._core.scheduler.instigation import InstigatorType

    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        if ticks and ticks[0].end_timestamp:
            return ticks[0].end_timestamp
    return None


def stop_group(proc: subprocess.Popen, marker: str) -> None:
    """Stop ``proc``'s process group as Ctrl-C would, then any process left with ``marker``
    (this measurement's DAGSTER_HOME) in its environment, by pid."""
    for sig, wait in ((signal.SIGINT, 40), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
    exact = f"\0DAGSTER_HOME={marker}\0".encode()
    for pid_dir in Path("/proc").glob("[0-9]*"):
        try:
            if exact in b"\0" + (pid_dir / "environ").read_bytes():
                os.kill(int(pid_dir.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass


def measure_ui(n: int, staging: Path, work: Path, drop_after: float, timeout: float):
    """The songs dropped into the audio root of a running ``stemline ui``."""
    import dagster as dg

    storage, home, audio = work / "data", work / "dagster_home", work / "audio"
    for folder in (storage, audio):
        folder.mkdir(parents=True)
    shutil.copytree(staging, work / "incoming")  # the same file system as `audio`
    port, env = free_port(), clean_env(home)
    cmd = [str(STEMLINE), "ui", "--storage", str(storage), "--audio-root", str(audio)]
    log = (work / "ui.log").open("w")
    started = time.time()
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, cwd=work, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        ready = tick = None
        while tick is None:
            if proc.poll() is not None or time.time() - started > timeout:
                raise RuntimeError(f"stemline ui did not start; see {work / 'ui.log'}")
            time.sleep(1.0)
            if ready is None:
                try:  # the instance's schema exists once the webserver answers
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info"):
                        ready = time.time() - started
                    instance = dg.DagsterInstance.from_config(str(home))
                except OSError:
                    continue
            tick = last_sensor_tick(instance)
        time.sleep(max(0.0, tick + drop_after - time.time()))
        load, t0 = os.getloadavg()[0], time.time()
        for item in sorted((work / "incoming").iterdir()):
            item.rename(audio / item.name)
        while True:
            time.sleep(1.0)
            keys = instance.get_dynamic_partitions("tracks")
            runs = instance.get_runs(filters=dg.RunsFilter(created_after=_utc(t0)))
            if any(r.status.value == "FAILURE" for r in runs):
                raise RuntimeError(f"a run failed; see the UI's runs in {home}")
            done = len(keys) >= n and all(
                set(keys) <= instance.get_materialized_partitions(dg.AssetKey(a))
                for a in TRACK_ASSETS
            )
            if done and not any(r.status.value in ACTIVE for r in runs):
                break
            if time.time() - t0 > timeout:
                raise RuntimeError(f"not done after {timeout:.0f} s; see {home}")
        instance.dispose()
        runs = run_timings(home, t0)
        m = summed(Measurement(n, "ui", max(r.ended for r in runs) - t0, target=TARGETS["ui"]),
                   runs)  # fmt: skip
        m.load_before, m.load_after = load, os.getloadavg()[0]
        m.extra = {
            "ui start to first sensor tick": tick - started,
            "ui start to webserver answering": ready,
            "t0 -> first run created (sensor latency)": runs[0].created - t0,
            "t0 -> first run started": runs[0].started - t0,
            "runs": len(runs),
        }  # fmt: skip
        return [m]
    finally:
        stop_group(proc, str(home))
        log.close()


#: What every run of the UI pays before its first track, each timed in a fresh process.
PROBES = {
    "interpreter": "pass",
    "import dagster": "import dagster",
    "code location (import orchestration.definitions)": "import orchestration.definitions",
    "stemline run's imports (orchestration.pipeline)": "import orchestration.pipeline",
    "import tensorflow": "import tensorflow",
    "separation model load (import + build + weights)": (
        "from resources.separation_engine import SeparationEngine\nSeparationEngine().separator()"
    ),
    "dataset report's plots module": "import reporting.example_plots",
}


def probe_imports(repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each of :data:`PROBES` in a fresh interpreter."""
    env = clean_env(Path(tempfile.gettempdir()))
    out = {}
    for name, code in PROBES.items():
        walls, cpus = [], []
        for _ in range(repeats):
            cpu, began = _children_cpu_s(), time.time()
            subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=REPO)
            walls.append(time.time() - began)
            cpus.append(_children_cpu_s() - cpu)
        out[name] = (statistics.median(walls), statistics.median(cpus))
        print(f"probe: {name}: {out[name][0]:.1f} s wall, {out[name][1]:.1f} s CPU", flush=True)
    return out


def _utc(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, UTC)


def report(results: list[Measurement]) -> None:
    """The table (medians over repeats) and each measurement's breakdown."""
    groups: dict[tuple[int, str], list[Measurement]] = {}
    for m in results:
        groups.setdefault((m.songs, m.path), []).append(m)
    print(f"\n{'N':>3}  {'path':<7} {'wall s':>8} {'compute s':>10} {'ratio':>6} "
          f"{'target':>9} {'met?':>5}  load")  # fmt: skip
    for (n, path), ms in groups.items():
        wall = statistics.median(m.wall_s for m in ms)
        compute = statistics.median(m.compute_s for m in ms)
        ratio = statistics.median(m.ratio for m in ms)
        target = f"<= {ms[0].target:g}" + (" s" if path == "cli +1" else "")
        met = (wall if path == "cli +1" else ratio) <= ms[0].target
        loads = ", ".join(f"{m.load_before:.1f}-{m.load_after:.1f}" for m in ms)
        print(f"{n:>3}  {path:<7} {wall:8.1f} {compute:10.1f} {ratio:6.2f} {target:>9} "
              f"{'yes' if met else 'NO':>5}  {loads}")  # fmt: skip
    for m in results:
        print(f"\n{m.path}, N={m.songs}: wall {m.wall_s:.1f} s = separation "
              f"{m.separation_s:.1f} s + features {m.features_s:.1f} s + "
              f"{m.wall_s - m.compute_s:.1f} s else")  # fmt: skip
        for name, value in m.extra.items():
            print(f"    {name}: {value:.1f}")
        for i, r in enumerate(m.runs):
            print(f"  run {i + 1} {r.job} ({r.status}, {r.tracks} tracks): "
                  f"{r.ended - r.created:.1f} s created to end; compute "
                  f"{r.separation_s + r.features_s:.1f} s")  # fmt: skip
            for name, value in r.phases.items():
                print(f"      {name}: {value:.1f}")


def start_engine(work: Path) -> dict[str, str]:
    """Start a warm engine on a socket in ``work`` (``stemline engine start``, the defaults);
    every process started afterwards finds it through ``STEMLINE_ENGINE_SOCKET``."""
    work.mkdir(parents=True, exist_ok=True)
    os.environ["STEMLINE_ENGINE_SOCKET"] = str(work / "engine.sock")
    env = clean_env(work / "engine_home")
    began = time.time()
    subprocess.run([str(STEMLINE), "engine", "start", "--idle-timeout", "7200"], env=env,
                   cwd=work, check=True, capture_output=True, text=True)  # fmt: skip
    print(f"warm engine started in {time.time() - began:.1f} s (once; not in any figure below)")
    return env


def stop_engine(env: dict[str, str]) -> None:
    """Stop the engine :func:`start_engine` started; print what it served."""
    status = subprocess.run([str(STEMLINE), "engine", "status"], env=env, capture_output=True,
                            text=True)  # fmt: skip
    print(status.stderr.strip() or status.stdout.strip())
    subprocess.run([str(STEMLINE), "engine", "stop"], env=env, capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    """Measure each path for each N; print the table and the breakdowns; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, nargs="+", default=[6, 20])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--paths", nargs="*", choices=["cli", "ui"], default=["cli", "ui"])
    parser.add_argument("--song-seconds", type=float, default=30.0)
    parser.add_argument("--added-seconds", type=float, default=20.0)
    parser.add_argument("--layout", choices=["mixtures", "demo"], default="mixtures",
                        help="plain FLAC mixtures, or demo folders with references")  # fmt: skip
    parser.add_argument("--drop-after-tick", type=float, default=SENSOR_INTERVAL_S / 2, metavar="S")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per UI measurement")
    parser.add_argument("--workdir", type=Path, default=None, help="kept (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH")
    parser.add_argument("--probes", action="store_true",
                        help="also time imports and the model load in fresh processes")  # fmt: skip
    parser.add_argument("--warm-engine", action="store_true",
                        help="start a warm engine first (timed alone); runs use it")  # fmt: skip
    args = parser.parse_args(argv)

    work = args.workdir or Path(tempfile.mkdtemp(prefix="stemline-pipeline-"))
    settings = {k: v for k, v in os.environ.items() if k.startswith("STEMLINE_")}
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()}; settings from the environment: "
          f"{settings or 'none'}; work in {work}")  # fmt: skip
    results: list[Measurement] = []
    probes = probe_imports(args.repeats) if args.probes else {}
    engine = start_engine(work) if args.warm_engine else None
    try:
        added = work / "added"
        if not added.exists():
            write_songs(added, 1, args.added_seconds, args.layout, first=1000)
        for n in args.songs:
            staging = work / f"songs-{n}"
            if not staging.exists():
                write_songs(staging, n, args.song_seconds, args.layout)
            for rep in range(args.repeats):
                for path in args.paths:
                    out = work / f"{path}-{n}-{rep}"
                    shutil.rmtree(out, ignore_errors=True)
                    if path == "cli":
                        new = measure_cli(n, staging, added, out)
                    else:
                        new = measure_ui(n, staging, out, args.drop_after_tick, args.timeout)
                    for m in new:
                        print(f"N={n} {m.path}: wall {m.wall_s:.1f} s, compute "
                              f"{m.compute_s:.1f} s, ratio {m.ratio:.2f}", flush=True)  # fmt: skip
                    results += new
    finally:
        if engine is not None:
            stop_engine(engine)
        if results:
            report(results)
        if args.json and (results or probes):
            data = [{**asdict(m), "compute_s": m.compute_s, "ratio": m.ratio, "met": m.met}
                    for m in results]  # fmt: skip
            args.json.write_text(json.dumps({"results": data, "probes": probes}, indent=1))
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if results and all(m.met for m in results) else 1


if __name__ == "__main__":
    sys.exit(main())
