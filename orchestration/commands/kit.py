"""``stemline kit``: pack what a lent GPU host needs to run and check the separation.

``stemline kit build`` writes the kit (:mod:`separation.host_kit`: compact weights, CPU golden
stems, the wheels the host lacks, a manifest with sizes and sha256) into an ignored folder of
the checkout, ``.gpukit`` by default, and prints the device ``run`` command line and carry list
that run ``benchmarks/gpu_check.py`` on the host. It refuses with one line, exit status 1, when
the kit and the working tree would not fit in what a device call carries (64 MiB).
``stemline kit show`` checks an existing kit against its manifest and prints the same.

``--no-wheels`` leaves the wheels out (a host that has them, or a test without network);
``--wheels-from DIR`` takes them from a local folder instead of pip's index.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kit`` (``build``, ``show``) to the ``stemline`` parser."""
    from separation.host_kit import DEFAULT_KIT

    kit = sub.add_parser(
        "kit",
        help="pack weights, golden stems and wheels for a GPU host",
        description="Build or show the GPU-host kit: what a device call carries beside the "
        "working tree to run benchmarks/gpu_check.py on a GPU host without TensorFlow.",
    )
    ksub = kit.add_subparsers(dest="kit_command", required=True)
    build = ksub.add_parser("build", help="build the kit and print the run command")
    show = ksub.add_parser("show", help="check a built kit and print the run command")
    for parser in (build, show):
        parser.add_argument(
            "--out", type=Path, default=Path(DEFAULT_KIT), metavar="DIR",
            help=f"kit folder, relative to the repository root (default {DEFAULT_KIT})",
        )  # fmt: skip
        parser.add_argument(
            "--repo", type=Path, default=None, metavar="DIR",
            help="repository root (default: the git checkout holding the current folder)",
        )  # fmt: skip
    build.add_argument("--model", default="2stems", help="embedded model (default 2stems)")
    wheels = build.add_mutually_exclusive_group()
    wheels.add_argument("--no-wheels", action="store_true", help="leave the wheels out")
    wheels.add_argument(
        "--wheels-from", type=Path, metavar="DIR", help="take the wheels from a local folder"
    )
    build.add_argument(
        "--check-python", metavar="PYTHON",
        help="a Python 3.12 interpreter to test-install the wheels with",
    )  # fmt: skip
    build.add_argument(
        "--backend", choices=("jax", "torch"), default="jax",
        help="Keras backend the host command selects (default jax)",
    )  # fmt: skip
    build.set_defaults(func=run_build)
    show.set_defaults(func=run_show)


def repo_root(given: Path | None) -> Path:
    """``given``, or the top of the git checkout holding the current folder."""
    if given is not None:
        return given.absolute()
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit("error: not inside a git checkout (pass --repo)")
    return Path(proc.stdout.strip())


def run_build(args: argparse.Namespace) -> int:
    """Build the kit and print its sizes and the host's run command."""
    from separation.host_kit import KitError, build_kit

    repo = repo_root(args.repo)
    out = args.out if args.out.is_absolute() else repo / args.out
    wheels = None if args.no_wheels else (args.wheels_from or "index")
    try:
        kit = build_kit(
            out, repo, model=args.model, wheels=wheels, check_python=args.check_python,
            backend=args.backend, report=lambda line: print(line, flush=True),
        )  # fmt: skip
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print_kit(kit.root, kit.manifest)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Check a kit against its manifest and the working tree as it is now, and print the
    host's run command; exit status 1 when the kit is damaged or no longer fits."""
    from separation.host_kit import KitError, read_kit, working_tree_bytes

    repo = repo_root(args.repo)
    try:
        kit = read_kit(args.out if args.out.is_absolute() else repo / args.out)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = kit.manifest["size"]
    size["tree_bytes"] = working_tree_bytes(repo)  # the tree changes after a build
    size["total_bytes"] = size["kit_bytes"] + size["tree_bytes"]
    print_kit(kit.root, kit.manifest)
    if size["total_bytes"] > size["limit_bytes"]:
        print("error: the working tree has grown: kit and tree no longer fit one device call",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def print_kit(root: Path, manifest: dict) -> None:
    """Sizes, then the device ``run`` arguments."""
    mib = 2**20
    for record in manifest["files"]:
        print(f"  {record['bytes'] / mib:7.2f} MiB  {record['path']}")
    size, run = manifest["size"], manifest["run"]
    print(
        f"kit {root}: {size['kit_bytes'] / mib:.1f} MiB + working tree "
        f"{size['tree_bytes'] / mib:.1f} MiB = {size['total_bytes'] / mib:.1f} MiB "
        f"of {size['limit_bytes'] / mib:.0f} MiB"
    )
    if not run["kit_inside_repo"]:
        print("note: the kit is outside the repository; a device call carries only ignored "
              "folders inside it")  # fmt: skip
    print(f"device run: timeout_s {run['timeout_s']}, carry {run['carry']}, command:")
    print(run["command"])
