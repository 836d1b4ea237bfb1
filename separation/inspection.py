"""Inspection of audio files around separation: an input before it is separated, and the
stems after they were written.

An input is read whole once (:func:`inspect_audio`): its header must be sane and within
:data:`MAX_SAMPLE_RATE`, :data:`MAX_CHANNELS` and the configured longest duration, its samples
finite; its peak and RMS level are measured on the way (in dBFS, digital silence at
:data:`dbfs.FLOOR_DBFS`). :func:`inspect_unchanged` does the same
for a file that must still hold the content a scan hashed, checked after decoding, so that the
bytes inspected are the bytes that name the track.

Stems are checked against the mixture they came from (:func:`stem_problems`): the same sample
count and rate, and only finite samples (integer formats are finite by construction and are not
decoded again).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import numpy as np
import soundfile as sf

from dbfs import level_dbfs
from separation.audio import AudioError, probe, read_blocks

#: Highest sample rate accepted, in Hz (the highest rate studio formats use).
MAX_SAMPLE_RATE = 384_000
#: Most channels accepted (beyond any real multichannel layout).
MAX_CHANNELS = 32
#: Sample formats that cannot hold NaN or infinity, so their samples need no finiteness scan.
INTEGER_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32"})


def inspect_audio(path: str | os.PathLike, max_duration_s: float) -> dict:
    """Read a whole file once: header sanity, limits, NaN/Inf, peak and RMS level.

    Parameters
    ----------
    path : str or os.PathLike
        The file (a name that is not UTF-8 as :func:`os.fsdecode` gives it).
    max_duration_s : float
        Longest duration accepted, in seconds.

    Returns
    -------
    dict
        ``duration_s``, ``sample_rate``, ``channels``, ``n_samples``, ``format``, ``subtype``,
        ``peak_dbfs`` and ``rms_dbfs`` (floored at :data:`dbfs.FLOOR_DBFS`, -120 dBFS, the
        level of digital silence).

    Raises
    ------
    separation.audio.AudioError
        For an unreadable, damaged or out-of-limits file; the message names the file.
    """
    info = probe(path)
    if info.sample_rate > MAX_SAMPLE_RATE or info.channels > MAX_CHANNELS:
        raise AudioError(
            f"{path}: {info.sample_rate} Hz / {info.channels} channels is beyond the limits "
            f"({MAX_SAMPLE_RATE} Hz, {MAX_CHANNELS} channels)"
        )
    if info.duration_s > max_duration_s:
        raise AudioError(
            f"{path}: {info.duration_s:.0f} s is longer than the configured maximum "
            f"({max_duration_s:.0f} s)"
        )
    peak, energy, n = 0.0, 0.0, 0
    for block in read_blocks(info):
        peak = max(peak, float(np.abs(block).max()))
        energy += float(np.sum(block.astype(np.float64) ** 2))
        n += block.size
    return {
        "duration_s": info.duration_s,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "n_samples": info.frames,
        "format": info.format,
        "subtype": info.subtype,
        "peak_dbfs": level_dbfs(peak),
        "rms_dbfs": level_dbfs(np.sqrt(energy / max(n, 1))),
    }


def inspect_unchanged(
    path: str | os.PathLike, max_duration_s: float, verify: Callable[[], None]
) -> dict:
    """:func:`inspect_audio` of a file that must still hold the content a scan hashed.

    ``verify`` raises if the file no longer holds that content (the pipeline passes
    ``catalogue.inventory.check_unchanged`` bound to the path and the scanned sha256); it is
    called after decoding, and also when decoding failed, so that a file changed meanwhile is
    reported as changed even when its new content does not decode: the change, not the audio,
    is the reason.

    Raises
    ------
    Exception
        Whatever ``verify`` raises for a changed file, else
        :class:`~separation.audio.AudioError` for bad audio.
    """
    try:
        meta = inspect_audio(path, max_duration_s)
    except AudioError:
        verify()
        raise
    verify()
    return meta


def _unreadable(path: str, exc: Exception) -> str:
    """``missing`` or ``unreadable (<why>)`` for a stem file that could not be opened."""
    if not os.path.exists(path):
        return "missing"
    return f"unreadable ({' '.join(str(exc).split())})"


def stem_problems(stems: Mapping[str, str], n_samples: int, sample_rate: int) -> list[str]:
    """What is wrong with a track's stem files, one line per problem (none: an empty list).

    Parameters
    ----------
    stems : Mapping[str, str]
        Stem name -> its file.
    n_samples, sample_rate : int
        The mixture's sample count and rate, which every stem must have.

    Returns
    -------
    list of str
        ``"<stem>: <problem>"``: a file missing or unreadable, another length or rate than the
        mixture's, or NaN/infinite samples.
    """
    problems = []
    for stem, path in stems.items():
        try:
            info = sf.info(path)
        except (sf.LibsndfileError, OSError) as exc:
            problems.append(f"{stem}: {path} is {_unreadable(path, exc)}")
            continue
        if info.frames != n_samples or info.samplerate != sample_rate:
            problems.append(
                f"{stem}: {info.frames} samples at {info.samplerate} Hz, "
                f"mixture {n_samples} at {sample_rate} Hz"
            )
        if info.subtype in INTEGER_SUBTYPES:
            continue  # integer samples are finite by construction: no need to decode them
        data, _ = sf.read(path, dtype="float32")
        if not np.isfinite(data).all():
            problems.append(f"{stem}: NaN or infinite samples")
    return problems
