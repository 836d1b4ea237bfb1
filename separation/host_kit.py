"""The GPU-host kit: what a lent GPU host needs, beside the working tree, to run the separation.

A device call carries the repository's working tree (tracked and untracked-not-ignored files)
plus the ignored paths it names, 64 MiB in all, to a host with no TensorFlow, no Spleeter
checkpoint and no package index. :func:`build_kit` writes into one ignored folder
(``.gpukit`` by default):

- ``weights/<model>.npz``: the model's converted weights in ``compact`` storage
  (:mod:`separation.weights_file`: 17 of float32's 23 mantissa bits, 51 MiB for 2stems; 16
  bits would save 2.6 MiB but moved a seeded mix's accompaniment by only 87 dB, under the
  90 dB the kit must keep), cached beside the converted weights in ``MODEL_PATH/.converted``;
- ``golden/<stem>.flac``: CPU golden stems made with those weights, checked against the full
  weights' (:mod:`separation.host_golden`);
- ``wheels/``: the wheels the host lacks (:mod:`separation.host_wheels`), unless left out;
- ``manifest.json``: every file's size and sha256, what the golden stems are, the sizes of the
  kit and the working tree, and the ``run`` command line and carry list for the host
  (:func:`run_command`).

The kit is refused with one line, nothing of it written (an earlier kit stays as it was), when
kit plus working tree would exceed :data:`CARRY_LIMIT_BYTES`. ``benchmarks/gpu_check.py``
reads it on the host (:func:`read_kit`, which checks every file against the manifest).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wheelfiles import sha256_of

from .host_wheels import HOST_PLATFORMS, HOST_PYTHON

if TYPE_CHECKING:
    from .configs import ModelConfig

FORMAT = "stemline-gpu-kit"
VERSION = 1
MANIFEST = "manifest.json"
DEFAULT_KIT = ".gpukit"
#: What one device call carries: working tree plus carried paths.
CARRY_LIMIT_BYTES = 64 * 2**20
#: The device call's limits: seconds for one command, characters of its command line.
RUN_TIMEOUT_S = 600
RUN_COMMAND_MAX_CHARS = 2000

Report = Callable[[str], None]


class KitError(RuntimeError):
    """The kit cannot be built as asked; the message is one line."""


@dataclass(frozen=True)
class Kit:
    """A built kit: its folder and its manifest."""

    root: Path
    manifest: dict


def working_tree_bytes(repo: Path) -> int:
    """Bytes of what a device call carries from ``repo`` besides carried paths: tracked and
    untracked-not-ignored files."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise KitError(f"{repo}: cannot size the working tree (not a git checkout?)")
    total = 0
    for name in {n for n in proc.stdout.decode().split("\0") if n}:
        path = repo / name
        if path.is_file():
            total += path.stat().st_size
    return total


def run_command(kit: str, *, wheels: bool, backend: str = "jax") -> str:
    """The ``run`` command line that checks the separation on a GPU host with kit ``kit``
    (a path relative to the repository root)."""
    install = (
        "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "
        f"--target /tmp/site {kit}/wheels/*.whl || exit 1; "
        if wheels
        else ""
    )
    return (
        "set -o pipefail; nvidia-smi -L; "
        + install
        + f"export PYTHONPATH=/tmp/site KERAS_BACKEND={backend} MODEL_PATH=$PWD/{kit}/models "
        "PYTHONUNBUFFERED=1; "
        f"python3 benchmarks/gpu_check.py --kit {kit} --device gpu --json $OUT/gpu_check.json "
        "2>&1 | tee $OUT/gpu_check.log"
    )


def build_kit(
    out: Path,
    repo: Path,
    *,
    model: str = "2stems",
    wheels: str | Path | None = "index",
    check_python: str | None = None,
    backend: str = "jax",
    limit_bytes: int = CARRY_LIMIT_BYTES,
    report: Report = print,
) -> Kit:
    """Build the kit into ``out`` (replacing an earlier one) for the checkout ``repo``.

    Parameters
    ----------
    out : Path
        The kit folder; inside ``repo`` it must be ignored by git, so that it travels only
        when a call carries it.
    repo : Path
        The repository root (its working tree is what a device call carries).
    model : str
        An embedded model name (``2stems``, ``4stems``, ...).
    wheels : str or Path, optional
        ``"index"`` (download through pip's configured index), a local folder of wheels, or
        ``None`` to leave the wheels out.
    check_python : str, optional
        A Python 3.12 interpreter to install the wheels with, as a check.
    backend : str
        The Keras backend the printed run command selects on the host (``jax`` or ``torch``).
    limit_bytes : int
        Most bytes kit plus working tree may take.

    Raises
    ------
    KitError
        The weights, stems or wheels cannot be had or fail their checks, or the kit would not
        fit; an earlier kit at ``out`` is then left as it was.
    """
    out, repo = Path(out).absolute(), Path(repo).absolute()
    inside = out.is_relative_to(repo)
    if inside and not _ignored(repo, out):
        raise KitError(
            f"{out} is inside the repository but not ignored: add /{out.name}/ to .gitignore"
        )
    tree = working_tree_bytes(repo)
    existed = out.exists()
    stage = out / ".building"  # inside the kit folder, so ignored with it
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)

    def check_size(extra: int = 0) -> int:
        """The kit's bytes so far; refuses the kit once kit and tree pass the limit."""
        kit_bytes = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file()) + extra
        if kit_bytes + tree > limit_bytes:
            raise KitError(
                f"kit {kit_bytes / 2**20:.1f} MiB + working tree {tree / 2**20:.1f} MiB = "
                f"{(kit_bytes + tree) / 2**20:.1f} MiB, over the {limit_bytes / 2**20:.0f} MiB "
                "a device call carries"
            )
        return kit_bytes

    try:
        check_size()
        manifest = _fill(stage, repo, model, wheels, check_python, report, check_size)
        kit_name = out.relative_to(repo).as_posix() if inside else out.name
        command = run_command(kit_name, wheels=bool(manifest["wheels"]), backend=backend)
        if len(command) > RUN_COMMAND_MAX_CHARS:
            raise KitError(f"the run command would be {len(command)} characters, over 2000")
        manifest["run"] = {
            "command": command, "carry": [kit_name], "timeout_s": RUN_TIMEOUT_S,
            "kit_inside_repo": inside,
        }  # fmt: skip
        kit_bytes = sum(record["bytes"] for record in manifest["files"])
        manifest["size"] = {
            "kit_bytes": kit_bytes, "tree_bytes": tree, "total_bytes": kit_bytes + tree,
            "limit_bytes": limit_bytes,
        }  # fmt: skip
        text = json.dumps(manifest, indent=2) + "\n"
        check_size(len(text.encode()))
        (stage / MANIFEST).write_text(text)
        for old in out.iterdir():
            if old != stage:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        for new in stage.iterdir():
            new.rename(out / new.name)
    except BaseException:
        shutil.rmtree(stage if existed else out, ignore_errors=True)
        raise
    stage.rmdir()
    return Kit(out, manifest)


def _fill(
    stage: Path,
    repo: Path,
    model: str,
    wheels: str | Path | None,
    check_python: str | None,
    report: Report,
    check_size: Callable[[], int],
) -> dict:
    """Write the weights, golden stems and wheels into ``stage``, checking the size after
    each; returns the manifest so far."""
    from .configs import load_config
    from .host_golden import GoldenError, write_golden_stems
    from .host_wheels import WheelError, fetch_kit_wheels

    params = f"spleeter:{model}"
    cfg = load_config(params)
    weights, checkpoint_sha256 = compact_weights(cfg, stage / "weights" / f"{cfg.model_dir}.npz")
    report(f"weights: {weights.name}, compact, {weights.stat().st_size / 2**20:.1f} MiB")
    check_size()
    (stage / "models").mkdir()  # the host's MODEL_PATH, empty: nothing is fetched there
    try:
        golden = write_golden_stems(stage, repo, params, weights, report)
        check_size()
        paths = fetch_kit_wheels(stage / "wheels", wheels, check_python, report) if wheels else []
        wheel_files = [p.relative_to(stage).as_posix() for p in paths]
    except (GoldenError, WheelError) as exc:
        raise KitError(str(exc)) from None
    return {
        "format": FORMAT, "version": VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": {
            "params": params, "name": cfg.name, "instruments": list(cfg.instruments),
            "weights": weights.relative_to(stage).as_posix(), "storage": "compact",
            "checkpoint_sha256": checkpoint_sha256,
        },
        "golden": golden, "wheels": wheel_files,
        "host": {"python": ".".join(map(str, HOST_PYTHON)), "platforms": list(HOST_PLATFORMS)},
        "files": _file_records(stage),
    }  # fmt: skip


def compact_weights(cfg: ModelConfig, dest: Path) -> tuple[Path, str]:
    """``cfg``'s weights as a ``compact`` weights file at ``dest``, and the checkpoint's
    sha256. The file is made once per checkpoint and model architecture and kept in
    ``MODEL_PATH/.converted`` (writing it deflates 75 MiB: tens of seconds on a busy machine);
    a cached file that does not verify is made again."""
    from .checkpoint import load_converted
    from .provider import ModelProvider
    from .weights_file import WeightsFileError, architecture_digest, read_weights, write_weights

    provider = ModelProvider()
    files = provider.get(cfg.model_dir)
    cache = provider.model_path / ".converted"
    name = f"kit-{architecture_digest(cfg)[:16]}-{files.checkpoint_sha256[:16]}-compact.npz"
    cached = cache / name
    try:
        found = read_weights(cached, cfg, expected_checkpoint_sha256=files.checkpoint_sha256)
        if found.storage != "compact":
            raise WeightsFileError(f"{cached}: {found.storage} storage")
    except WeightsFileError:
        converted = load_converted(cfg, files.prefix, files.checkpoint_sha256, cache)
        write_weights(cached, cfg, converted.weights, files.checkpoint_sha256, "compact")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, dest)
    return dest, files.checkpoint_sha256


def _file_records(stage: Path) -> list[dict]:
    """Path (relative to the kit), size and sha256 of every file of the kit, by path."""
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    return [
        {"path": p.relative_to(stage).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_of(p)}
        for p in files
    ]  # fmt: skip


def _ignored(repo: Path, path: Path) -> bool:
    """Whether git ignores the folder ``path`` in ``repo``."""
    proc = subprocess.run(
        ["git", "-C", str(repo), "check-ignore", "-q", f"{path}/"], capture_output=True, check=False
    )
    return proc.returncode == 0


def read_kit(root: Path) -> Kit:
    """Read a kit, checking its manifest and every file's size and sha256.

    Raises
    ------
    KitError
        No kit there, another format or version, or a file missing or changed.
    """
    root = Path(root)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise KitError(f"{root}: no readable kit manifest ({exc})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise KitError(f"{root}: not a version {VERSION} {FORMAT} manifest")
    for record in manifest["files"]:
        path = root / record["path"]
        if not path.is_file() or path.stat().st_size != record["bytes"]:
            raise KitError(f"{path}: missing or of another size than the manifest says")
        if sha256_of(path) != record["sha256"]:
            raise KitError(f"{path}: sha256 differs from the manifest (damaged)")
    return Kit(root, manifest)
