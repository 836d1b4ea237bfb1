"""Make the golden reference stems from original Spleeter 2.4.2 (not part of the test run).

Original Spleeter pins Python < 3.12 and TensorFlow 2.12.1, so it cannot share stemline's
environment. This script creates a side virtual environment (``.spleeter-ref/venv`` unless
``--venv`` names another), installs ``spleeter==2.4.2`` there, separates a seeded synthetic
excerpt with the same 2stems checkpoint stemline uses, and stores input and reference stems
under ``tests/golden/`` as 24-bit FLAC (quantisation noise ~120 dB below the signals, far under
the 80 dB the test demands) with a JSON manifest.

Cases: ``2stems`` on a 13 s excerpt (two U-Net segments), and ``2stems-16kHz`` and ``2stems``
with ``MWF=True`` on its first 5 s.

Usage::

    .venv/bin/python scripts/make_golden.py [--venv .spleeter-ref/venv]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
SPLEETER_REQUIREMENT = "spleeter==2.4.2"
RATE = 44100
CASES = {
    # name: (spleeter params, MWF, seconds of the excerpt used)
    "2stems": ("spleeter:2stems", False, 13.0),
    "2stems-16kHz": ("spleeter:2stems-16kHz", False, 5.0),
    "2stems-mwf": ("spleeter:2stems", True, 5.0),
}

SIDE_SCRIPT = r"""
import json, sys
import numpy as np
from spleeter.separator import Separator
import spleeter, tensorflow as tf
job = json.loads(sys.argv[1])
wave = np.load(job["input"])
out = {}
for name, (params, mwf, seconds) in job["cases"].items():
    sep = Separator(params, MWF=mwf, multiprocess=False)
    stems = sep.separate(wave[: int(seconds * 44100)])
    for inst, data in stems.items():
        out[f"{name}/{inst}"] = np.asarray(data, dtype=np.float32)
np.savez(job["output"], **out)
print(json.dumps({"tensorflow": tf.__version__}))
"""


def synthetic_excerpt(seconds: float = 13.0, seed: int = 2024) -> np.ndarray:
    """A seeded stereo test mix: a vibrato 'voice' with formant-like harmonics, bass, chords
    and drum hits, at about -14 dBFS RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    mix = np.zeros((n, 2))
    # Voice: a melody of 0.5 s notes with 5.5 Hz vibrato; harmonics shaped by two formants.
    notes = rng.choice([60, 62, 64, 65, 67, 69, 71, 72], size=int(seconds * 2) + 1)
    midi = notes[(t * 2).astype(int)]
    f0 = 440 * 2 ** ((midi - 69) / 12) * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = np.zeros(n)
    for h in range(1, 16):
        fh = h * f0
        gain = np.exp(-(((fh - 700) / 300) ** 2)) + 0.6 * np.exp(-(((fh - 1200) / 400) ** 2))
        voice += gain * np.sin(h * phase) / h
    voice *= 0.5 * (1 - np.cos(2 * np.pi * ((t * 2) % 1))) * (t % 4 < 3)
    # Bass: root notes every second.
    roots = rng.choice([36, 41, 43, 45], size=int(seconds) + 1)
    fb = 440 * 2 ** ((roots[t.astype(int)] - 69) / 12)
    bass = np.sin(2 * np.pi * np.cumsum(fb) / RATE) * np.exp(-3 * (t % 1))
    # Chords: sustained triads, slightly detuned between channels.
    chord = np.zeros((n, 2))
    for k, semis in enumerate((0, 4, 7)):
        f = 261.63 * 2 ** (semis / 12)
        chord[:, 0] += np.sin(2 * np.pi * f * t + k)
        chord[:, 1] += np.sin(2 * np.pi * f * 1.002 * t + k)
    # Drums: kick and noise hits on a 0.25 s grid.
    drums = np.zeros(n)
    for start in np.arange(0, seconds, 0.25):
        i = int(start * RATE)
        length = min(int(0.12 * RATE), n - i)
        env = np.exp(-np.arange(length) / (0.02 * RATE))
        if int(start * 4) % 2 == 0:
            drums[i : i + length] += env * np.sin(2 * np.pi * 60 * np.arange(length) / RATE)
        else:
            drums[i : i + length] += 0.4 * env * rng.standard_normal(length)
    mix[:, 0] = 0.35 * voice + 0.3 * bass + 0.08 * chord[:, 0] + 0.3 * drums
    mix[:, 1] = 0.3 * voice + 0.3 * bass + 0.08 * chord[:, 1] + 0.25 * drums
    return (mix / np.max(np.abs(mix)) * 0.7).astype(np.float32)


def ensure_venv(venv: Path) -> Path:
    """Create the side environment with original Spleeter if it does not exist yet."""
    python = venv / "bin" / "python"
    if not python.exists():
        venv.parent.mkdir(parents=True, exist_ok=True)
        base = "python3.11"
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", SPLEETER_REQUIREMENT], check=True
        )
    return python


def spleeter_model_dir(tmp: Path) -> Path:
    """A Spleeter MODEL_PATH holding stemline's verified 2stems checkpoint (no download)."""
    sys.path.insert(0, str(REPO))
    from separation.provider import ModelProvider

    files = ModelProvider().get("2stems")
    root = tmp / "pretrained_models"
    target = root / "2stems"
    target.mkdir(parents=True)
    for member in ("model.index", "model.data-00000-of-00001", "model.meta", "checkpoint"):
        (target / member).symlink_to(files.directory / member)
    (target / ".probe").write_text("OK")
    return root


def main() -> int:
    """Generate the golden files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=REPO / ".spleeter-ref" / "venv")
    args = parser.parse_args()
    python = ensure_venv(args.venv)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    wave = synthetic_excerpt()
    input_path = GOLDEN / "input.flac"
    sf.write(input_path, wave, RATE, subtype="PCM_24")
    wave, _ = sf.read(input_path, dtype="float32", always_2d=True)  # exactly what tests read
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        np.save(tmp / "input.npy", wave)
        job = {"input": str(tmp / "input.npy"), "output": str(tmp / "out.npz"), "cases": CASES}
        env = {"MODEL_PATH": str(spleeter_model_dir(tmp)), "PATH": "/usr/bin:/bin"}
        proc = subprocess.run(
            [str(python), "-c", SIDE_SCRIPT, json.dumps(job)],
            env=env, cwd=tmp, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr[-4000:])
            return 1
        versions = json.loads(proc.stdout.strip().splitlines()[-1])
        manifest = {
            "spleeter": SPLEETER_REQUIREMENT,
            "tensorflow": versions["tensorflow"],
            "input": "input.flac",
            "sample_rate": RATE,
            "cases": {},
        }
        with np.load(tmp / "out.npz") as ref:
            for key in ref.files:
                case, inst = key.split("/")
                data = ref[key]
                if np.abs(data).max() >= 1.0:
                    raise SystemExit(f"{key} exceeds full scale; lower the excerpt level")
                name = f"{case}_{inst}.flac"
                sf.write(GOLDEN / name, data, RATE, subtype="PCM_24")
                params, mwf, seconds = CASES[case]
                entry = manifest["cases"].setdefault(
                    case, {"params": params, "mwf": mwf, "seconds": seconds, "stems": {}}
                )
                entry["stems"][inst] = name
    (GOLDEN / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote golden files to {GOLDEN}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
