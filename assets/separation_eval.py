"""``separation_eval``: score stems and stem features where the truth is known.

Reference stems come from MUSDB18-style folders (files beside ``mixture.<ext>``); annotation
files in the layout of :mod:`evaluation.annotations` (``annotations/`` beside the mixture) give
note, f0 and drum-onset truth. What is compared with what: :mod:`evaluation.track_scores`.
Tracks without either are recorded as having nothing to evaluate.
"""

from pathlib import Path

import dagster as dg
import polars as pl

from catalogue.integrity import read_checked
from catalogue.layout import write_parquet
from catalogue.schema import EVALUATION_SCHEMA
from evaluation.annotations import has_annotations, load_annotations
from evaluation.track_scores import annotation_records, scored_features, sdr_records
from resources.settings import StemlineSettings

from .partitions import tracks_partitions
from .records import input_file, record_run, references, stem_rows, track_partition, track_record


@dg.asset(
    partitions_def=tracks_partitions,
    deps=["stems", "stem_features"],
    group_name="evaluation",
    kinds={"mir_eval", "parquet"},
    code_version="1",
)
def separation_eval(
    context: dg.AssetExecutionContext, settings: StemlineSettings
) -> dg.MaterializeResult:
    """Global SDR of each stem against reference stems, and feature accuracy against
    annotations, where the track has them; one long-format row per metric."""
    layout, track_id, model = track_partition(context, settings)
    track = track_record(layout, track_id)
    rows = stem_rows(layout, model, track_id)
    stems = {r["stem"]: r["path"] for r in rows}
    refs = references(layout, track["path"])
    n = int(rows[0]["duration_s"] * rows[0]["sample_rate"] + 0.5)
    records = sdr_records(refs, stems, n)
    song_dir = Path(input_file(layout, track)).parent
    if has_annotations(song_dir):
        features = {
            (kind, stem): read_checked(path)
            for kind, stem in scored_features(list(stems))
            if (path := layout.features(kind, track_id, model, stem)).is_file()
        }
        records += annotation_records(load_annotations(song_dir), list(stems), features)
    table = pl.DataFrame(
        [
            {**r, "track_id": track_id, "model": model, "run_id": context.run.run_id}
            for r in records
        ],
        schema=EVALUATION_SCHEMA,
    )
    write_parquet(table, layout.evaluation(track_id, model))
    record_run(context, layout, "separation_eval")
    if table.is_empty():
        context.log.info("no reference stems or annotations: nothing to evaluate")
    return dg.MaterializeResult(
        metadata={
            "n_metrics": table.height,
            "references": dg.MetadataValue.json(sorted(refs)),
            **{f"{r['stem']}/{r['metric']}": float(r["value"]) for r in records[:20]},
        }
    )
