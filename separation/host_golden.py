"""CPU golden stems for the GPU-host kit: what the host's stems are compared with.

The golden input (``tests/golden/input.flac``, tracked, so it travels with the working tree) is
separated here, on the CPU at exact precision, with the kit's ``compact`` weights. The same
input is separated with the full (float32) weights too, and the kit is refused unless each
compact stem is within :data:`MIN_COMPACT_SNR_DB` of the full weights' stem, so the kit's
weights are known to be good enough before anything is carried.

Each stem is kept as 24-bit FLAC, whose quantisation lies about 125 dB below the stems, far
below any difference the host check looks for. Where ``tests/golden`` holds original Spleeter's
stems of the same case (2stems), the file holds only the stem minus Spleeter's (about 100 dB
below it, so it packs into 0.65 MiB instead of 1.75: the kit has little room under the
64 MiB a device call carries), and :func:`read_golden_stems` adds Spleeter's stem back, after
checking its sha256.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from wheelfiles import sha256_of

#: Compact weights must keep the stems this close to the full weights' (issue 12).
MIN_COMPACT_SNR_DB = 90.0
#: Golden excerpt length when the golden manifest has no case for the model: two segments and
#: the seam between them.
DEFAULT_GOLDEN_SECONDS = 13.0


class GoldenError(RuntimeError):
    """The compact weights move the golden stems too far; the message is one line."""


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Energy of ``reference`` over that of ``estimate - reference``, in dB."""
    reference = np.asarray(reference, np.float64)
    err = float(np.sum((reference - estimate) ** 2))
    return float(10 * np.log10(float(np.sum(reference**2)) / max(err, 1e-30)))


def golden_case(repo: Path, params: str) -> tuple[Path, float, dict[str, Path]]:
    """The golden input, the seconds of it to separate for ``params`` and original Spleeter's
    stems of that excerpt: the first case of ``tests/golden/manifest.json`` with those
    parameters and no MWF (no stems, and :data:`DEFAULT_GOLDEN_SECONDS`, when none has)."""
    folder = repo / "tests" / "golden"
    manifest = json.loads((folder / "manifest.json").read_text())
    for case in manifest["cases"].values():
        if case["params"] == params and not case["mwf"]:
            stems = {inst: folder / name for inst, name in case["stems"].items()}
            return folder / manifest["input"], float(case["seconds"]), stems
    return folder / manifest["input"], DEFAULT_GOLDEN_SECONDS, {}


def write_golden_stems(
    kit: Path, repo: Path, params: str, weights: Path, report: Callable[[str], None]
) -> dict:
    """Write the CPU golden stems of ``weights`` into ``kit/golden/`` (see the module
    docstring for what each file holds) and return their manifest record.

    Raises
    ------
    GoldenError
        A compact stem is less than :data:`MIN_COMPACT_SNR_DB` from the full weights' stem.
    """
    import keras

    from .separator import Separator

    source, seconds, spleeter = golden_case(repo, params)
    mix, rate = sf.read(source, dtype="float32", always_2d=True)
    mix = mix[: int(seconds * rate)]
    compact = Separator(params, weights=weights, device="cpu").separate(mix, rate)
    full = Separator(params, device="cpu").separate(mix, rate)
    (kit / "golden").mkdir()
    stems, vs_full, stored = {}, {}, {}
    for inst, wave in compact.items():
        vs_full[inst] = round(snr_db(full[inst], wave), 2)
        if vs_full[inst] < MIN_COMPACT_SNR_DB:
            raise GoldenError(
                f"compact weights move the {inst} stem by only {vs_full[inst]:.1f} dB "
                f"(at least {MIN_COMPACT_SNR_DB:.0f} dB needed)"
            )
        base = spleeter.get(inst)
        record = {"path": f"golden/{inst}.flac", "base": None, "base_sha256": None}
        if base is not None:
            record.update(base=base.relative_to(repo).as_posix(), base_sha256=sha256_of(base))
        stems[inst] = record
        sf.write(kit / record["path"], wave - _base(repo, record), rate, subtype="PCM_24")
    for inst, wave in read_golden_stems(kit, repo, stems).items():
        stored[inst] = round(snr_db(compact[inst], wave), 2)
    summary = ", ".join(f"{inst} {snr:.1f} dB" for inst, snr in vs_full.items())
    report(f"golden stems: {seconds:g} s of {source.name}; compact vs full weights: {summary}")
    return {
        "input": source.relative_to(repo).as_posix(), "input_sha256": sha256_of(source),
        "seconds": seconds, "sample_rate": rate, "params": params, "precision": "exact",
        "device": "cpu", "backend": keras.backend.backend(), "keras": keras.__version__,
        "stems": stems, "compact_vs_full_snr_db": vs_full, "stored_snr_db": stored,
    }  # fmt: skip


def _base(repo: Path, record: dict) -> np.ndarray | float:
    """What a stored stem is relative to: Spleeter's stem (sha256 checked), or nothing."""
    if record["base"] is None:
        return 0.0
    path = repo / record["base"]
    if sha256_of(path) != record["base_sha256"]:
        raise GoldenError(f"{path} is not the file the golden stems were stored against")
    return sf.read(path, dtype="float64", always_2d=True)[0]


def read_golden_stems(kit: Path, repo: Path, stems: dict) -> dict[str, np.ndarray]:
    """The CPU golden stems (float32 ``(n, 2)``) of a kit's golden record ``stems``.

    Raises
    ------
    GoldenError
        A Spleeter stem they were stored against is not the file it was.
    """
    out = {}
    for inst, record in stems.items():
        stored = sf.read(kit / record["path"], dtype="float64", always_2d=True)[0]
        out[inst] = (stored + _base(repo, record)).astype(np.float32)
    return out
