"""``transcription_prep``: per stem, the files a transcription model trains on.

For every stem of the track (every stem of a 2, 4 or 5 stems model; a silent stem gets valid,
empty files): a MIDI file of its notes (polyphonic notes included; the ``drums`` stem as GM
percussion on channel 10 from its onsets), the note table, the stem downmixed to mono at
``transcription_rate`` (16 kHz by default) and a JAMS file with note, pitch-contour and onset
annotations; for the track, one multi-track MIDI file with a MIDI track, channel and program
per stem, and one Parquet manifest listing every file with its SHA-256, under
``exports/transcription/<model>/<track_id>/`` (the ``transcription_manifest`` rows a training
pipeline reads with one glob).
"""

import dagster as dg

from transcription import (
    stem_channels,
    write_manifest,
    write_multitrack_midi,
    write_transcription_bundle,
)

from .records import TrackPartition, required
from .track_step import StepResult, TrackStep

CODE_VERSION = "2"  # 2: every stem, GM program and channel per stem, multi-track MIDI, sha256


def transcription_prep(part: TrackPartition) -> StepResult:
    """Write MIDI, note tables, resampled mono audio and JAMS for every stem, a multi-track
    MIDI file of the track and a manifest for transcription training pipelines."""
    store, settings = part.store, part.settings
    rows = required(store.stem_rows)
    channels = stem_channels([row["stem"] for row in rows])
    bundles = []
    for row in rows:
        tables = {  # a damaged table fails the step naming the file
            kind: store.feature_table(kind, row["stem"]) for kind in ("notes", "pitch", "onsets")
        }
        audio, rate = store.read_stem(row)
        bundles.append(
            write_transcription_bundle(
                store.transcription_dir,
                track_id=store.track_id,
                stem=row["stem"],
                model=store.model,
                audio=audio,
                sample_rate=rate,
                notes=tables["notes"],
                pitch=tables["pitch"],
                onsets=tables["onsets"],
                target_rate=settings.transcription_rate,
                channel=channels[row["stem"]],
            )
        )
    multitrack = write_multitrack_midi(store.transcription_multitrack, bundles)
    manifest = write_manifest(bundles, store.transcription_manifest, [multitrack])
    part.record_run("transcription_prep")
    return StepResult(
        metadata={
            "stems": dg.MetadataValue.json([b.stem for b in bundles]),
            "notes": int(manifest["n_notes"].sum()) if manifest.height else 0,
            "notes_per_stem": dg.MetadataValue.json({b.stem: b.n_notes for b in bundles}),
            "multitrack_midi": dg.MetadataValue.path(str(multitrack.path)),
            "manifest": dg.MetadataValue.path(str(store.transcription_manifest)),
        }
    )


STEP = TrackStep(
    "transcription_prep",
    transcription_prep,
    code_version=CODE_VERSION,
    description=transcription_prep.__doc__,
    deps=("stem_features",),
    group_name="exports",
    kinds=frozenset({"midi", "jams", "parquet"}),
)
