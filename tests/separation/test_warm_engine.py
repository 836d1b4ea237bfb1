"""The warm engine: ``stemline engine start`` with the real 2stems weights, ``separate`` through
it (the CLI and the client API) with stems equal bit for bit to in-process separation, bad
files failing alone, fallbacks that say so, status, stop, stale sockets, idle exit, and a
client that imports no model code.

One engine process serves the whole module (it loads and compiles once, ~10 s).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import soundfile as sf

from demodata.signals import synthetic_mix
from separation.provider import default_model_path
from separation.separate_job import JobSpec
from separation.warm_engine.client import EngineJob, find_engine
from separation.warm_engine.lifecycle import engine_paths, read_pid
from separation.warm_engine.protocol import (
    EngineOptions,
    config_identity,
    configured_backend,
    receive,
    send,
    stems_code_digest,
)
from separation.warm_engine.server import EngineServer

REPO = Path(__file__).resolve().parents[2]
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONPATH": str(REPO)}
#: What the ``separate`` client must never import: the model, its backends, heavy numerics.
HEAVY = (
    "tensorflow", "keras", "jax", "torch", "scipy", "soxr",
    "separation.separator", "separation.model", "separation.engine",
)  # fmt: skip


def stemline(*args: str, cwd: Path, socket_path: Path) -> subprocess.CompletedProcess:
    env = BASE_ENV | {"STEMLINE_ENGINE_SOCKET": str(socket_path)}
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    """A stereo 44.1 kHz song, a mono 22.05 kHz one and a file that is not audio."""
    folder = tmp_path_factory.mktemp("songs")
    sf.write(folder / "song.wav", synthetic_mix(6.0, seed=31), 44100)
    sf.write(folder / "other.flac", synthetic_mix(3.0, seed=32)[:, :1], 22050)
    (folder / "junk.wav").write_text("not audio")
    return folder


@pytest.fixture(scope="module")
def engine_and_reference(songs, tmp_path_factory, request):
    """A real engine (2stems, defaults) started with the CLI, and the stems an in-process
    ``stemline separate`` writes (the same ``separate_files``), computed while the engine
    starts; the engine is stopped, and checked gone, after the module."""
    folder = tmp_path_factory.mktemp("engine")
    sock = folder / "engine.sock"
    env = BASE_ENV | {"STEMLINE_ENGINE_SOCKET": str(sock)}
    starting = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "engine", "start", "--idle-timeout", "600"],
        cwd=folder, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    reference = tmp_path_factory.mktemp("in_process")
    separator = request.getfixturevalue("separator_2stems")
    for path, result in separator.separate_files(
        [songs / "song.wav", songs / "other.flac"], reference
    ):
        assert not isinstance(result, Exception), (path, result)
    _, stderr = starting.communicate(timeout=600)
    assert starting.returncode == 0, stderr
    assert "ready in" in stderr and str(sock) in stderr
    paths = engine_paths(sock)
    pid = read_pid(paths)
    yield paths, reference
    stopped = stemline("engine", "stop", cwd=folder, socket_path=sock)
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped the warm engine (pid {pid})" in stopped.stderr
    assert not sock.exists() and not paths.pid_file.exists()
    assert not Path(f"/proc/{pid}").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.fixture(scope="module")
def engine(engine_and_reference):
    """The paths of the module's engine."""
    return engine_and_reference[0]


@pytest.fixture(scope="module")
def reference(engine_and_reference) -> Path:
    """The in-process stems of ``song.wav`` and ``other.flac``."""
    return engine_and_reference[1]


def assert_same_stems(out: Path, reference: Path) -> None:
    for name in ("song", "other"):
        for inst in ("vocals", "accompaniment"):
            ours, theirs = out / name / f"{inst}.wav", reference / name / f"{inst}.wav"
            assert ours.read_bytes() == theirs.read_bytes(), ours


def test_separate_uses_the_engine_and_writes_in_process_stems_bit_for_bit(engine, songs, reference):
    proc = stemline(
        "separate", "song.wav", "junk.wav", "other.flac", "-o", "out", "--no-progress",
        cwd=songs, socket_path=engine.socket,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == f"using the warm engine (pid {read_pid(engine)}, spleeter:2stems)"
    assert sum("warm engine" in line for line in lines) == 1
    assert "separated 2 of 3 files" in proc.stderr
    assert lines[-2:] == [
        "1 file(s) failed:",
        "  junk.wav: not a readable audio file (Format not recognised.)",
    ]
    assert_same_stems(songs / "out", reference)
    assert not list((songs / "out").rglob("*.part"))


def test_client_api_streams_progress_and_results(engine, songs, reference, tmp_path):
    wanted = EngineOptions(
        model="spleeter:2stems", config_id=engine_config_id(), mwf=False, overlap=False,
        precision="exact", device="auto", multichannel="first-two", backend=configured_backend(),
        model_path=str(default_model_path().absolute()),
    )  # fmt: skip
    conn, why = find_engine(engine, wanted)
    assert conn is not None, why
    files = (songs / "other.flac", songs / "song.wav", songs / "missing.wav")
    job = EngineJob(conn, JobSpec(files, tmp_path, "{filename}/{instrument}.{codec}"))
    durations, failures = job.plan()
    assert durations == {songs / "other.flac": 6.0, songs / "song.wav": 6.0}
    assert failures == {
        songs / "missing.wav": f"{songs / 'missing.wav'}: no such file (or a dangling link)"
    }
    seen: dict[Path, list[tuple[int, int]]] = {}

    def progress_for(path: Path):
        return lambda done, n: seen.setdefault(path, []).append((done, n))

    outcomes = dict(job.results(list(durations), progress_for))
    assert set(outcomes) == set(durations)
    assert all(not o.failed for o in outcomes.values())
    for path, calls in seen.items():
        assert calls[-1][0] == calls[-1][1] >= 1, (path, calls)
    assert_same_stems(tmp_path, reference)


def test_jobs_of_two_clients_queue_and_both_succeed(engine, songs, tmp_path):
    wanted = EngineOptions(
        "spleeter:2stems", engine_config_id(), False, False, "exact", "auto", "first-two",
        configured_backend(), str(default_model_path().absolute()),
    )  # fmt: skip
    jobs = []
    for name in ("first", "second"):
        conn, why = find_engine(engine, wanted)
        assert conn is not None, why
        spec = JobSpec((songs / "song.wav",), tmp_path / name, "{filename}/{instrument}.{codec}")
        jobs.append(EngineJob(conn, spec))
    outcomes: dict[int, list] = {}

    def run(i: int) -> None:
        durations, _ = jobs[i].plan()
        outcomes[i] = [o for _, o in jobs[i].results(list(durations), lambda p: None)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [len(outcomes[i]) for i in range(2)] == [1, 1]
    assert not any(o.failed for i in range(2) for o in outcomes[i])
    first, second = (tmp_path / n / "song" / "vocals.wav" for n in ("first", "second"))
    assert first.read_bytes() == second.read_bytes()


def engine_config_id() -> str:
    from separation.configs import load_config

    return config_identity(load_config("spleeter:2stems"))


def test_other_options_or_no_engine_run_in_process_and_say_so(engine, songs):
    # Both in-process runs import the model code: side by side, on JAX (imported in half
    # TensorFlow's time); the mismatch named first is the option's.
    env = BASE_ENV | {"STEMLINE_ENGINE_SOCKET": str(engine.socket), "KERAS_BACKEND": "jax"}
    commands = {
        "mismatch": ["separate", "junk.wav", "--mwf"],
        "forced": ["separate", "junk.wav", "--no-engine"],
    }
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", *args],
            cwd=songs,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, args in commands.items()
    }
    done = {name: proc.communicate(timeout=600) for name, proc in running.items()}
    assert {name: proc.returncode for name, proc in running.items()} == {
        "mismatch": 1,
        "forced": 1,
    }
    mismatch, forced = done["mismatch"][1], done["forced"][1]
    assert mismatch.splitlines()[0] == (
        f"the warm engine (pid {read_pid(engine)}) does not match: it runs without --mwf, "
        "this command with; separating in this process"
    )
    assert "junk.wav: not a readable audio file" in mismatch
    assert "warm engine" not in forced
    assert "junk.wav: not a readable audio file" in forced


def test_usage_errors_are_refused_in_the_client_before_the_engine(engine, songs):
    proc = stemline(
        "separate", "x.wav", "-f", "{nope}.{codec}", cwd=songs, socket_path=engine.socket
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: filename format '{nope}.{codec}' uses unknown keys ['nope']; "
        "available: ['codec', 'filename', 'foldername', 'instrument']"
    ]
    clash = stemline(
        "separate", "song.wav", "song.wav", "-o", "out2", cwd=songs, socket_path=engine.socket
    )  # refused by the engine's plan, as in-process: exit 2, one line
    assert clash.returncode == 2
    assert clash.stderr.splitlines()[-1] == "error: song.wav is given twice; give each input once"


def test_status_reports_the_engine(engine, songs):
    proc = stemline("engine", "status", cwd=songs, socket_path=engine.socket)
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert fields["pid"] == str(read_pid(engine))
    assert fields["model"] == "spleeter:2stems"
    assert fields["socket"] == str(engine.socket)
    assert "backend" in fields["options"] and "device auto (cpu)" in fields["options"]


def test_client_imports_no_model_code(engine, songs):
    code = (
        "import json, sys\n"
        "from orchestration.cli import main\n"
        "status = main(['separate', 'song.wav', '-o', 'light', '--no-progress'])\n"
        f"print(json.dumps([status, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    env = BASE_ENV | {"STEMLINE_ENGINE_SOCKET": str(engine.socket)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=songs, capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == [0, []]
    assert (songs / "light" / "song" / "vocals.wav").exists()


def test_a_stale_socket_is_removed(songs, tmp_path):
    sock = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(sock))  # a socket file nobody listens on
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "stale.sock.pid").write_text(f"{gone.pid}\n")
    status = stemline("engine", "status", cwd=songs, socket_path=sock)
    assert status.returncode == 1
    assert status.stdout.strip() == (
        f"no warm engine is running (removed its stale socket) on {sock}"
    )
    assert not sock.exists() and not (tmp_path / "stale.sock.pid").exists()
    again = stemline("engine", "status", cwd=songs, socket_path=sock)
    assert again.stdout.strip() == f"no warm engine is running on {sock}"


def test_a_job_cut_off_fails_its_files_with_the_engine_named(songs, tmp_path):
    """An engine that dies mid-job (here: closes the connection after the plan) fails the
    files it did not finish, naming itself; nothing is redone in the client's process."""
    sock = tmp_path / "dying.sock"
    files = (songs / "song.wav", songs / "other.flac")
    options = EngineOptions(
        "spleeter:2stems", engine_config_id(), False, False, "exact", "auto", "first-two",
        configured_backend(), str(default_model_path().absolute()),
    )  # fmt: skip
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock))
    listener.listen(1)

    def dying_engine() -> None:
        conn, _ = listener.accept()
        with conn:
            reader = conn.makefile("rb")
            receive(reader)
            description = {
                "pid": 4242, "options": options.to_json(), "device": "cpu", "log": "/x/e.log",
                "stems_code": stems_code_digest(),
            }  # fmt: skip
            send(conn, {"ok": True, "engine": description})
            receive(reader)
            durations = {str(f): 1.0 for f in files}
            send(conn, {"event": "planned", "durations": durations, "failures": {}})
            send(conn, {"event": "progress", "file": str(files[0]), "done": 1, "n": 2})

    server = threading.Thread(target=dying_engine)
    server.start()
    conn, why = find_engine(engine_paths(sock), options)
    assert conn is not None, why
    job = EngineJob(conn, JobSpec(files, tmp_path / "out", "{filename}/{instrument}.{codec}"))
    durations, failures = job.plan()
    assert failures == {}
    outcomes = dict(job.results(list(durations), lambda p: None))
    server.join()
    listener.close()
    for path in files:
        assert outcomes[path].message == (
            f"{path}: the warm engine (pid 4242) failed during this job (the connection was "
            "closed); see /x/e.log"
        )
    assert not (tmp_path / "out").exists()


def test_an_idle_engine_exits_and_removes_its_socket(separator_2stems, tmp_path):
    paths = engine_paths(tmp_path / "idle.sock")
    paths.pid_file.write_text(f"{os.getpid()}\n")
    options = EngineOptions(
        "spleeter:2stems", engine_config_id(), False, False, "exact", "auto", "first-two",
        configured_backend(), str(default_model_path().absolute()),
    )  # fmt: skip
    server = EngineServer(paths, separator_2stems, options, 0.5, stems_code_digest())
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert not paths.socket.exists() and not paths.pid_file.exists()
