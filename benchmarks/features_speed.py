"""Speed of stemline's features: whole stems per core, per family, and a track in parallel.

Default: ``extract_stem_features`` on each stem type of a rendered demo song (``demodata``,
seed 0; ``accompaniment`` is drums + bass + other) at 30 s and 180 s, pinned to one core with
every thread pool at one thread, median of ``--repeats`` runs. "x real time per core" is audio
seconds per CPU second of the process (``time.process_time``, all its threads), so other
processes' time is not counted; but a busy machine still slows every CPU second (shared caches,
memory bandwidth, sibling hyper-threads: the same code differs by up to 25 % between a quiet and
a loaded 2-core development machine). Each stem type runs with its default methods;
``--alternatives`` adds the other pitch methods of vocals and bass (yinfft, crepe_tiny);
``--stems`` runs only some stem types.

``--compare TREE`` measures this source tree against another one (e.g. ``git worktree add
/tmp/before HEAD~1``) on the same rendered stems: each tree in its own process on the same core,
alternating, ``--rounds`` rounds of ``--repeats`` runs each; the ratio is the figure to trust on
a busy machine. ``--families`` instead times each feature family on one core (pitch, onsets,
chroma + key, notes), and ``--track`` a whole track (4 stems) sequentially, with a new pool per
track and with a warm pool reused across tracks (``feature_process_pool``; it prints a worker's
thread limits, one thread per pool: :func:`features.worker.thread_limits`).

Run ``python benchmarks/features_speed.py [--durations 30 180] [--repeats 3]``.
"""

from __future__ import annotations

import os

# One thread per BLAS / OpenMP pool before numpy is imported: "per core" means one core.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demodata import STEM_NAMES, render_song  # noqa: E402
from features import FeatureSettings, extract_stem_features, extract_track_features  # noqa: E402
from features.chroma import chroma_matrix, estimate_key  # noqa: E402
from features.grid import FrameGrid, analysis_signal  # noqa: E402
from features.level import active_level_dbfs, frame_rms_dbfs  # noqa: E402
from features.notes import segment_notes  # noqa: E402
from features.onsets import detect_onsets  # noqa: E402
from features.parallel import feature_process_pool  # noqa: E402
from features.pitch import estimate_pitch  # noqa: E402
from features.worker import thread_limits  # noqa: E402

STEM_TYPES = ("vocals", "bass", "drums", "other", "accompaniment")
ALTERNATIVE_PITCH = {"vocals": ("yinfft", "crepe_tiny"), "bass": ("yinfft", "crepe_tiny")}
ROOT = Path(__file__).resolve().parents[1]
#: Run in a fresh process by ``--compare``: times one stem with one source tree's features.
WORKER = """
import sys, time
root, stem, path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sys.path.insert(0, root)
import numpy as np
from features import FeatureSettings, extract_stem_features
audio = np.load(path)
extract_stem_features(audio, 44100, stem, FeatureSettings())
for _ in range(repeats):
    start = time.process_time()
    extract_stem_features(audio, 44100, stem, FeatureSettings())
    print(time.process_time() - start)
"""


def _timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def pin_to_one_core() -> int:
    """Pin this process to the first core it may run on; returns that core."""
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def song_stems(duration_s: float) -> dict[str, np.ndarray]:
    """The stems of demo song 0 at ``duration_s``, float32, plus ``accompaniment``."""
    song = render_song(0, duration_s=duration_s)
    stems = {name: song.stems[name].astype(np.float32) / 32768.0 for name in STEM_NAMES}
    stems["accompaniment"] = stems["drums"] + stems["bass"] + stems["other"]
    return stems


def stem_cpu_seconds(
    audio: np.ndarray, stem: str, settings: FeatureSettings, repeats: int
) -> tuple[list[float], list[float], int]:
    """CPU and wall seconds of ``repeats`` runs of ``extract_stem_features`` after one warm-up
    (model sessions and caches are made on the first run), and the number of notes."""
    features = extract_stem_features(audio, 44100, stem, settings)
    cpu, wall = [], []
    for _ in range(repeats):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        features = extract_stem_features(audio, 44100, stem, settings)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return cpu, wall, features.notes.height


def stems_table(
    durations: list[float],
    repeats: int,
    alternatives: bool,
    stem_types: tuple[str, ...] = STEM_TYPES,
) -> pl.DataFrame:
    """One row per duration, stem type and method: median CPU seconds and x real time."""
    rows = []
    for duration in durations:
        stems = song_stems(duration)
        for stem in stem_types:
            settings = FeatureSettings()
            runs = [(settings.profile(stem).pitch_method, settings)]
            if alternatives:
                runs += [
                    (method, settings.with_profile(stem, pitch_method=method))
                    for method in ALTERNATIVE_PITCH.get(stem, ())
                ]
            for method, run_settings in runs:
                profile = run_settings.profile(stem)
                cpu, wall, n_notes = stem_cpu_seconds(stems[stem], stem, run_settings, repeats)
                median_cpu = statistics.median(cpu)
                rows.append(
                    {
                        "duration_s": duration,
                        "stem": stem,
                        "pitch": method,
                        "notes": profile.note_method,
                        "cpu_s": round(median_cpu, 3),
                        "x_real_time_per_core": round(duration / median_cpu, 1),
                        "cpu_s_min_max": f"{min(cpu):.2f}-{max(cpu):.2f}",
                        "wall_s": round(statistics.median(wall), 3),
                        "n_notes": n_notes,
                    }
                )
                print(rows[-1], flush=True)
    return pl.DataFrame(rows)


def compare_table(
    other: Path,
    durations: list[float],
    repeats: int,
    rounds: int,
    core: int,
    stems: tuple[str, ...] = STEM_TYPES,
) -> pl.DataFrame:
    """This tree against ``other``, interleaved, on the same stems (see the module doc)."""
    rows = []
    trees = {"this": ROOT, "other": other.resolve()}
    with tempfile.TemporaryDirectory() as folder:
        for duration in durations:
            for stem, audio in song_stems(duration).items():
                if stem not in stems:
                    continue
                path = Path(folder) / f"{stem}.npy"
                np.save(path, audio)
                cpu: dict[str, list[float]] = {"this": [], "other": []}
                for r in range(rounds):
                    for name in ("this", "other") if r % 2 == 0 else ("other", "this"):
                        command = [sys.executable, "-c", WORKER, str(trees[name]), stem,
                                   str(path), str(repeats)]  # fmt: skip
                        out = subprocess.run(
                            ["taskset", "-c", str(core), *command],
                            capture_output=True,
                            text=True,
                            check=True,
                        ).stdout
                        cpu[name] += [float(line) for line in out.split()]
                this, before = statistics.median(cpu["this"]), statistics.median(cpu["other"])
                rows.append(
                    {
                        "duration_s": duration,
                        "stem": stem,
                        "other_cpu_s": round(before, 3),
                        "other_x": round(duration / before, 1),
                        "this_cpu_s": round(this, 3),
                        "this_x": round(duration / this, 1),
                        "speed_up": round(before / this, 2),
                    }
                )
                print(rows[-1], flush=True)
    return pl.DataFrame(rows)


def time_families(audio: np.ndarray, stem: str, settings: FeatureSettings) -> dict[str, float]:
    """Seconds spent in each feature family for one stem (one process)."""
    profile = settings.profile(stem)
    signal = analysis_signal(audio, 44100)
    grid = FrameGrid.for_samples(signal.size)
    rms = frame_rms_dbfs(signal, grid)
    active = rms > settings.silence_dbfs
    level = active_level_dbfs(rms, active)
    (f0, voiced, _), t_pitch = _timed(estimate_pitch, signal, grid, profile, rms, active, level)
    onsets, t_onsets = _timed(detect_onsets, signal, grid, profile)
    chroma, t_chroma = _timed(chroma_matrix, signal, grid, active)
    _, t_key = _timed(estimate_key, chroma, active)
    t_notes = 0.0
    if profile.monophonic:
        _, t_notes = _timed(
            segment_notes, grid, f0, voiced, rms, profile, onsets["frame"].to_numpy()
        )
    _, t_total = _timed(extract_stem_features, audio, 44100, stem, settings)
    return {
        "pitch": t_pitch,
        "onsets": t_onsets,
        "chroma_key": t_chroma + t_key,
        "pitch_track_notes": t_notes,
        "all": t_total,
    }


def families_table(songs: int, settings: FeatureSettings) -> pl.DataFrame:
    rows = []
    for i in range(songs):
        song = render_song(i)
        duration = song.mixture.shape[0] / 44100
        for name in STEM_NAMES:
            audio = song.stems[name].astype(np.float32) / 32768.0
            if not np.any(audio):
                continue  # instrumental song: silent vocals cost nothing
            times = time_families(audio, name, settings)
            rows.append(
                {
                    "stem": name,
                    "pitch_method": settings.profile(name).pitch_method,
                    **{k: duration / v if v > 0 else None for k, v in times.items()},
                }
            )
    return (
        pl.DataFrame(rows)
        .group_by("stem", "pitch_method", maintain_order=True)
        .agg(pl.all().mean().round(0))
    )


def track_table(songs: int, settings: FeatureSettings) -> pl.DataFrame:
    rows = []
    workers = min(4, os.cpu_count() or 1)
    pool = feature_process_pool(workers)  # started once, reused for every track
    print(f"a pool worker's thread limits: {pool.submit(thread_limits).result()}")
    try:
        for i in range(songs):
            song = render_song(i)
            stems = {n: song.stems[n].astype(np.float32) / 32768.0 for n in STEM_NAMES}
            _, sequential = _timed(extract_track_features, stems, 44100, settings, 1)
            _, cold = _timed(extract_track_features, stems, 44100, settings, len(stems))
            _, warm = _timed(extract_track_features, stems, 44100, settings, None, pool)
            rows.append(
                {
                    "song": song.name,
                    "duration_s": song.mixture.shape[0] / 44100,
                    "sequential_s": sequential,
                    "new_pool_s": cold,
                    "warm_pool_s": warm,
                }
            )
    finally:
        pool.shutdown()
    return pl.DataFrame(rows).with_columns(pl.col(pl.Float64).round(2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[30.0, 180.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--alternatives", action="store_true", help="also yinfft, crepe_tiny")
    parser.add_argument("--families", action="store_true", help="per feature family instead")
    parser.add_argument("--track", action="store_true", help="a whole track, pools")
    parser.add_argument("--songs", type=int, default=2, help="songs for --families / --track")
    parser.add_argument("--compare", type=Path, help="another source tree to measure against")
    parser.add_argument("--rounds", type=int, default=2, help="alternations for --compare")
    parser.add_argument(
        "--stems", nargs="+", choices=STEM_TYPES, default=list(STEM_TYPES), help="stem types"
    )
    args = parser.parse_args(argv)
    pl.Config.set_tbl_formatting("ASCII_MARKDOWN")
    pl.Config.set_tbl_hide_column_data_types(True)
    pl.Config.set_tbl_hide_dataframe_shape(True)
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_cols(-1)
    pl.Config.set_tbl_width_chars(200)
    settings = FeatureSettings()
    if args.track:
        print(f"whole track (4 stems), seconds, cpu_count={os.cpu_count()}")
        print(track_table(args.songs, settings))
        return 0
    core = pin_to_one_core()
    if args.compare is not None:
        table = compare_table(
            args.compare, args.durations, args.repeats, args.rounds, core, tuple(args.stems)
        )
        print(f"\nthis tree against {args.compare}, core {core}, interleaved, median CPU s")
        print(table)
        return 0
    if args.families:
        print(f"x real time on core {core} (mean over {args.songs} demo songs)")
        print(families_table(args.songs, settings))
        return 0
    table = stems_table(args.durations, args.repeats, args.alternatives, tuple(args.stems))
    print(
        f"\nwhole extract_stem_features per stem on core {core}, one thread per pool, "
        f"median of {args.repeats} (x real time = audio s / CPU s)"
    )
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
