"""The wheels a GPU host without them needs to run the separation: pinned, fetched, checked.

The lent GPU hosts (``nvidia-h200``) run Python 3.12 on manylinux x86-64, reach no package
index, and have an image with JAX, PyTorch, NumPy, SciPy and the packages in
:data:`HOST_IMAGE_PACKAGES`, but not Keras, libsndfile's binding or soxr. Those travel as wheels
(:data:`KIT_WHEELS`), pinned to the versions installed here, so the host runs what the tests
ran. They are fetched with ``pip download --no-deps --only-binary=:all:`` for the host's
interpreter and platforms (:func:`download_wheels`), from the configured index or, offline,
from a local folder, and checked (:func:`check_wheels`): one wheel per distribution, each
installable on the host (a tag for CPython 3.12 on one of :data:`HOST_PLATFORMS`), and every
requirement they declare for the host met by another kit wheel or by the host's image.
:func:`install_check` installs them into a scratch folder with a Python 3.12 interpreter, where
one exists here, as the host will.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

#: Python of the GPU hosts (KINDS.md: Python 3.12.3).
HOST_PYTHON = (3, 12)
#: Platforms the hosts install (the device README's ``pip download`` line), newest first.
HOST_PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
)
#: Distributions the separation imports on a host that its image lacks: Keras with the two
#: dependencies the image has not (namex, optree), soundfile with cffi and pycparser, and soxr.
KIT_WHEELS = ("keras", "namex", "optree", "soundfile", "cffi", "pycparser", "soxr")
#: Distributions of the host image (KINDS.md's package list) that the separation or the kit's
#: wheels require.
HOST_IMAGE_PACKAGES = frozenset(
    {
        "absl-py", "h5py", "jax", "jaxlib", "markdown-it-py", "mdurl", "ml-dtypes", "numpy",
        "packaging", "pygments", "rich", "scipy", "torch", "tqdm", "typing-extensions",
    }
)  # fmt: skip
#: The interpreter environment markers are evaluated for.
HOST_MARKERS = {
    "python_version": f"{HOST_PYTHON[0]}.{HOST_PYTHON[1]}",
    "python_full_version": f"{HOST_PYTHON[0]}.{HOST_PYTHON[1]}.3",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}


class WheelError(RuntimeError):
    """The kit's wheels cannot be had, or would not install or work on the host."""


def pinned_requirements(names: Sequence[str] = KIT_WHEELS) -> list[str]:
    """``name==version`` for each distribution, at the version installed in this environment."""
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            raise WheelError(
                f"{name} is not installed here, so its version cannot be pinned"
            ) from None
    return pins


def download_wheels(
    dest: Path, requirements: Sequence[str], find_links: Path | None = None
) -> list[Path]:
    """Fetch one wheel per requirement for the host into ``dest``; returns their paths.

    ``find_links``: a local folder of wheels to take them from, without any index.
    """
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--python-version", "".join(map(str, HOST_PYTHON)), "--implementation", "cp",
        *(arg for platform in HOST_PLATFORMS for arg in ("--platform", platform)),
        "--dest", str(dest),
    ]  # fmt: skip
    if find_links is not None:
        cmd += ["--no-index", "--find-links", str(find_links)]
    proc = subprocess.run([*cmd, *requirements], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
        raise WheelError(f"pip download failed: {(errors or ['(no message)'])[-1]}")
    return sorted(dest.glob("*.whl"))


def host_tags() -> frozenset:
    """Every wheel tag the host's pip accepts."""
    from packaging import tags

    version = HOST_PYTHON
    return frozenset(
        [
            *tags.cpython_tags(version, platforms=HOST_PLATFORMS),
            *tags.compatible_tags(version, "cp312", platforms=HOST_PLATFORMS),
        ]
    )


def check_wheels(paths: Sequence[Path]) -> dict[str, str]:
    """Check that ``paths`` install and work on the host; returns ``{name: version}``.

    Raises
    ------
    WheelError
        Two wheels of one distribution, a wheel the host cannot install, or a requirement
        neither the wheels nor the host image meet.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename

    accepted = host_tags()
    found: dict[str, str] = {}
    requires: list[tuple[str, str]] = []
    for path in paths:
        name, version, _, wheel_tags = parse_wheel_filename(path.name)
        if name in found:
            raise WheelError(f"two wheels of {name} ({found[name]}, {version}): keep one")
        if not set(wheel_tags) & accepted:
            raise WheelError(f"{path.name} does not install on CPython 3.12 manylinux x86-64")
        found[name] = str(version)
        requires += [(name, line) for line in _requires_dist(path)]
    available = set(found) | {canonicalize_name(n) for n in HOST_IMAGE_PACKAGES}
    for owner, line in requires:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate(HOST_MARKERS):
            continue
        if canonicalize_name(req.name) not in available:
            raise WheelError(f"{owner} requires {req}, which neither the kit nor the host has")
        if req.name in found and not req.specifier.contains(found[req.name], prereleases=True):
            raise WheelError(f"{owner} requires {req}, the kit has {req.name} {found[req.name]}")
    return found


def _requires_dist(path: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel's metadata."""
    with zipfile.ZipFile(path) as whl:
        names = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        if len(names) != 1:
            raise WheelError(f"{path.name}: not a wheel (no single METADATA)")
        text = whl.read(names[0]).decode("utf-8", "replace")
    head = text.split("\n\n", 1)[0]
    return [
        line.split(":", 1)[1].strip()
        for line in head.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def install_check(paths: Sequence[Path], python: str) -> str:
    """Install ``paths`` into a scratch folder with ``python`` (3.12) as the host will;
    returns the interpreter's version line.

    Raises
    ------
    WheelError
        ``python`` is not Python 3.12, or pip refuses a wheel.
    """
    probe = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    version = probe.stdout.strip()
    if probe.returncode != 0 or tuple(map(int, version.split(".")[:2])) != HOST_PYTHON:
        raise WheelError(f"{python} is not a Python {HOST_PYTHON[0]}.{HOST_PYTHON[1]} interpreter")
    with tempfile.TemporaryDirectory(prefix="stemline-kit-install-") as target:
        proc = subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile",
             "--no-cache-dir", "--disable-pip-version-check", "--target", target,
             *map(str, paths)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if line.strip()]
        raise WheelError(f"pip install with {python} failed: {(errors or ['?'])[-1]}")
    return f"Python {version}"


def fetch_kit_wheels(
    dest: Path, source: str | Path, check_python: str | None, report: Callable[[str], None]
) -> list[Path]:
    """Download the pinned :data:`KIT_WHEELS` into ``dest`` and check them for the host.

    ``source``: ``"index"`` (pip's configured index) or a local folder of wheels;
    ``check_python``: a Python 3.12 interpreter to test-install them with, if any.
    """
    find_links = None if source == "index" else Path(source)
    paths = download_wheels(dest, pinned_requirements(), find_links)
    versions = check_wheels(paths)
    report("wheels: " + ", ".join(f"{name} {version}" for name, version in versions.items()))
    if check_python:
        report(f"wheels install with {install_check(paths, check_python)}")
    return paths
