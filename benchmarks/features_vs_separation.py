"""A 4-stem track's features against its separation, on the same machine in one run.

Target: pitch + onsets + chroma + notes for one stem at >= 20x real time per core, and a
track's stems in parallel so that a 4-stem track's features take no longer than separating it.

* The track: demo song 0 (seed 0) rendered at ``--seconds`` (default 180 s): its four true
  stems (vocals, drums, bass, other) stand in for separated stems.
* Features, one core: ``extract_stem_features`` on each stem in this process (x real time per
  stem = audio seconds / CPU seconds).
* Features, whole track: ``extract_track_features`` on the four stems with a warm process pool
  of ``os.cpu_count()`` workers (how the pipeline's ``stem_features`` runs them), median of
  ``--repeats``.
* Separation: ``Separator.separate`` of the mixture with the ``spleeter:4stems`` architecture,
  median of ``--repeats`` after a warm-up. Deezer's 4stems weights cannot be downloaded here, so
  the model loads a checkpoint written by the test helper (``tests/separation/checkpoints.py``)
  with random weights in Spleeter's variable layout: the same layers and shapes, hence the same
  arithmetic; only the values differ.

Usage::

    .venv/bin/python benchmarks/features_vs_separation.py [--seconds 180] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def four_stems_config(tmp: Path) -> Path:
    """A 4stems configuration whose ``model_dir`` is a test-written full-size checkpoint."""
    from demodata.checkpoints import spleeter_variables, write_checkpoint
    from separation.configs import load_config

    cfg = load_config("spleeter:4stems")
    write_checkpoint(tmp / "4stems", spleeter_variables(cfg, seed=0))
    raw = json.loads((REPO / "separation" / "resources" / "4stems.json").read_text())
    raw["model_dir"] = str(tmp / "4stems")
    path = tmp / "4stems-local.json"
    path.write_text(json.dumps(raw))
    return path


def main() -> int:
    """Measure and print features vs separation for one 4-stem track."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import numpy as np

    from demodata import render_song
    from features import FeatureSettings, extract_stem_features, extract_track_features
    from features.parallel import feature_process_pool
    from separation import Separator

    song = render_song(0, seed=0, duration_s=args.seconds)
    rate = 44100
    stems = {name: (audio.astype(np.float32) / 32768.0) for name, audio in song.stems.items()}
    mixture = song.mixture.astype(np.float32) / 32768.0
    seconds = len(mixture) / rate
    settings = FeatureSettings()
    print(f"machine: {os.cpu_count()} CPUs; track: {seconds:.0f} s, stems {', '.join(stems)}")

    print("features on one core (extract_stem_features, CPU time):")
    for name, audio in stems.items():
        extract_stem_features(audio[: rate * 5], rate, name, settings)  # warm-up
        cpu0 = time.process_time()
        extract_stem_features(audio, rate, name, settings)
        cpu = time.process_time() - cpu0
        verdict = "ok" if seconds / cpu >= 20 else "BELOW 20x"
        print(f"  {name:<8} {cpu:6.2f} s  {seconds / cpu:6.1f}x real time per core  {verdict}")

    with feature_process_pool() as pool:
        extract_track_features(stems, rate, settings, executor=pool)  # warm-up
        feat_times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            extract_track_features(stems, rate, settings, executor=pool)
            feat_times.append(time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp_name:
        sep = Separator(str(four_stems_config(Path(tmp_name))), device="cpu").load()
        sep.separate(mixture[: rate * 12], rate)  # warm-up: traces the graph
        sep_times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            sep.separate(mixture, rate)
            sep_times.append(time.perf_counter() - t0)

    feat, sep_s = statistics.median(feat_times), statistics.median(sep_times)
    print(f"4 stems' features in parallel ({os.cpu_count()} workers): {feat:6.2f} s "
          f"({seconds / feat:.1f}x real time)")  # fmt: skip
    print(f"4stems separation of the mixture:        {sep_s:6.2f} s "
          f"({seconds / sep_s:.1f}x real time)")  # fmt: skip
    verdict = "met" if feat <= sep_s else "NOT met"
    print(f"features / separation: {feat / sep_s:.2f}  (target <= 1: {verdict})")
    return 0


if __name__ == "__main__":
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
