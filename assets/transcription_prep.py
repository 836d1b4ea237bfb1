"""``transcription_prep``: per monophonic stem, the files a transcription model trains on.

For every stem whose feature profile is monophonic (vocals, bass): a MIDI file of its notes,
the note table, the stem downmixed to mono at ``transcription_rate`` (16 kHz by default), a JAMS
file with note, pitch-contour and onset annotations, and one Parquet manifest per track under
``exports/transcription/<model>/<track_id>/manifest.parquet`` (the ``transcription_manifest``
rows a training pipeline reads with one glob).
"""

import dagster as dg
import soundfile as sf

from catalogue.integrity import read_checked
from features import FeatureSettings
from resources.settings import StemlineSettings
from transcription import write_manifest, write_transcription_bundle

from .partitions import tracks_partitions
from .records import record_run, stem_rows, track_partition


@dg.asset(
    partitions_def=tracks_partitions,
    deps=["stem_features"],
    group_name="exports",
    kinds={"midi", "jams", "parquet"},
    code_version="1",
)
def transcription_prep(
    context: dg.AssetExecutionContext, settings: StemlineSettings
) -> dg.MaterializeResult:
    """Write MIDI, note tables, resampled mono audio and JAMS for the monophonic stems, plus a
    manifest for transcription training pipelines."""
    layout, track_id, model = track_partition(context, settings)
    profiles = FeatureSettings()
    out_dir = layout.transcription_dir(model, track_id)
    bundles = []
    for row in stem_rows(layout, model, track_id):
        if not profiles.profile(row["stem"]).monophonic:
            continue
        tables = {  # read_checked: a damaged table fails the step naming the file
            kind: read_checked(layout.features(kind, track_id, model, row["stem"]))
            for kind in ("notes", "pitch", "onsets")
        }
        audio, rate = sf.read(row["path"], dtype="float32", always_2d=True)
        bundles.append(
            write_transcription_bundle(
                out_dir,
                track_id=track_id,
                stem=row["stem"],
                model=model,
                audio=audio,
                sample_rate=rate,
                notes=tables["notes"],
                pitch=tables["pitch"],
                onsets=tables["onsets"],
                target_rate=settings.transcription_rate,
            )
        )
    manifest = write_manifest(bundles, out_dir / "manifest.parquet")
    record_run(context, layout, "transcription_prep")
    return dg.MaterializeResult(
        metadata={
            "stems": dg.MetadataValue.json([b.stem for b in bundles]),
            "notes": int(manifest["n_notes"].sum()) if manifest.height else 0,
            "manifest": dg.MetadataValue.path(str(out_dir / "manifest.parquet")),
        }
    )
