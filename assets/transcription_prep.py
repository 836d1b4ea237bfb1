"""``transcription_prep``: per monophonic stem, the files a transcription model trains on.

For every stem whose feature profile is monophonic (vocals, bass): a MIDI file of its notes,
the note table, the stem downmixed to mono at ``transcription_rate`` (16 kHz by default), a JAMS
file with note, pitch-contour and onset annotations, and one Parquet manifest per track under
``exports/transcription/<model>/<track_id>/manifest.parquet`` (the ``transcription_manifest``
rows a training pipeline reads with one glob).
"""

import dagster as dg

from features import FeatureSettings
from transcription import write_manifest, write_transcription_bundle

from .records import TrackPartition, required
from .track_batch import StepResult, TrackStep


def transcription_prep(part: TrackPartition) -> StepResult:
    """Write MIDI, note tables, resampled mono audio and JAMS for the monophonic stems, plus a
    manifest for transcription training pipelines."""
    store, settings = part.store, part.settings
    profiles = FeatureSettings()
    bundles = []
    for row in required(store.stem_rows):
        if not profiles.profile(row["stem"]).monophonic:
            continue
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
            )
        )
    manifest = write_manifest(bundles, store.transcription_manifest)
    part.record_run("transcription_prep")
    return StepResult(
        metadata={
            "stems": dg.MetadataValue.json([b.stem for b in bundles]),
            "notes": int(manifest["n_notes"].sum()) if manifest.height else 0,
            "manifest": dg.MetadataValue.path(str(store.transcription_manifest)),
        }
    )


STEP = TrackStep(
    "transcription_prep",
    transcription_prep,
    code_version="1",
    description=transcription_prep.__doc__,
    deps=("stem_features",),
    group_name="exports",
    kinds=frozenset({"midi", "jams", "parquet"}),
)
