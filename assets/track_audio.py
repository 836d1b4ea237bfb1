"""``track_audio``: decode and validate one track, and record its metadata or its error.

Only a regular file is decoded (a FIFO or device put in its place since the scan is refused
with its kind, never opened), and the bytes decoded must be the bytes the scan hashed
(:func:`separation.inspection.inspect_unchanged`): a file swapped in the meantime fails the
partition with ``<path>: changed while being processed (...)``; the next scan hashes the new
content and takes it in as a new track.
"""

import functools
from datetime import UTC, datetime

import dagster as dg

from catalogue.inventory import InputChanged, check_unchanged, printable, regular_file_problem
from separation.audio import AudioError
from separation.inspection import inspect_unchanged

from .records import TrackPartition, permanent_failure
from .track_step import StepResult, TrackStep

CODE_VERSION = "2"


def track_audio(part: TrackPartition) -> StepResult:
    """Decode the track's file, check it (readable, finite, within limits) and record its
    duration, rate, channels and level. A bad file is recorded with status ``error`` and the
    reason, and this partition fails; other tracks are unaffected."""
    store, settings = part.store, part.settings
    scanned = store.track_file()
    if scanned is None:
        raise permanent_failure(
            f"track {store.track_id} is not in the inventory (or all its files were removed)"
        )
    entry, source = scanned.entry, scanned.source
    base = {
        "track_id": store.track_id,
        "path": entry["path"],
        "sha256": entry["sha256"],
        "checked_at": datetime.now(UTC),
        "run_id": part.run_id,
    }
    try:
        problem = entry["problem"] or regular_file_problem(source)
        if problem:
            raise AudioError(f"{entry['path']}: {problem}")
        unchanged = functools.partial(check_unchanged, source, entry["sha256"])
        meta = inspect_unchanged(source, settings.max_duration_s, verify=unchanged)
    except (AudioError, InputChanged) as exc:
        message = printable(str(exc))  # a name that is not UTF-8, escaped
        store.write_track_record({**base, "status": "error", "error": message})
        part.record_run("track_audio")
        raise permanent_failure(message) from exc
    store.write_track_record({**base, **meta, "status": "ok"})
    part.record_run("track_audio")
    part.log.info(f"{entry['path']}: {meta['duration_s']:.1f} s, {meta['sample_rate']} Hz")
    return StepResult(
        # what the track is: its content (a track id is its first file's content, but the
        # record is re-made from the bytes decoded now) and the code that read it
        data_version=f"{entry['sha256'][:20]}/{CODE_VERSION}",
        metadata={
            "path": dg.MetadataValue.path(entry["path"]),
            "paths": scanned.copies,
            "duration_s": meta["duration_s"],
            "sample_rate": meta["sample_rate"],
            "channels": meta["channels"],
            "peak_dbfs": meta["peak_dbfs"],
        },
    )


STEP = TrackStep(
    "track_audio",
    track_audio,
    code_version=CODE_VERSION,
    description=track_audio.__doc__,
    group_name="tracks",
    kinds=frozenset({"python", "parquet"}),
)
