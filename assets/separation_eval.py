"""``separation_eval``: score stems and stem features where the truth is known.

Reference stems come from MUSDB18-style folders (files beside ``mixture.<ext>``); annotation
files in the layout of :mod:`evaluation.annotations` (``annotations/`` beside the mixture) give
note, f0 and drum-onset truth. What is compared with what: :mod:`evaluation.track_scores`.
Tracks without either are recorded as having nothing to evaluate.
"""

from pathlib import Path

import dagster as dg

from evaluation.annotations import has_annotations, load_annotations
from evaluation.track_scores import annotation_records, scored_features, sdr_records

from .records import TrackPartition, required
from .track_batch import StepResult, TrackStep


def separation_eval(part: TrackPartition) -> StepResult:
    """Global SDR of each stem against reference stems, and feature accuracy against
    annotations, where the track has them; one long-format row per metric."""
    store = part.store
    track = required(store.track_record)
    rows = required(store.stem_rows)
    stems = {r["stem"]: r["path"] for r in rows}
    refs = store.references(track["path"])
    n = int(rows[0]["duration_s"] * rows[0]["sample_rate"] + 0.5)
    records = sdr_records(refs, stems, n)
    song_dir = Path(store.input_file(track)).parent
    if has_annotations(song_dir):
        features = {
            (kind, stem): store.feature_table(kind, stem)
            for kind, stem in scored_features(list(stems))
            if store.has_feature_table(kind, stem)
        }
        records += annotation_records(load_annotations(song_dir), list(stems), features)
    table = store.write_evaluation(records, part.run_id)
    part.record_run("separation_eval")
    if table.is_empty():
        part.log.info("no reference stems or annotations: nothing to evaluate")
    return StepResult(
        metadata={
            "n_metrics": table.height,
            "references": dg.MetadataValue.json(sorted(refs)),
            **{f"{r['stem']}/{r['metric']}": float(r["value"]) for r in records[:20]},
        }
    )


STEP = TrackStep(
    "separation_eval",
    separation_eval,
    code_version="1",
    description=separation_eval.__doc__,
    deps=("stems", "stem_features"),
    group_name="evaluation",
    kinds=frozenset({"mir_eval", "parquet"}),
)
