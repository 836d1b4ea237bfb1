"""``separation_eval``: score stems and stem features where the truth is known.

Reference stems come from MUSDB18-style folders (files beside ``mixture.<ext>``); annotation
files in the formats of :mod:`evaluation.annotations` (in the song folder or its
``annotations/``) give note, f0 and onset truth per part, scored on the stem that carries each
part (:mod:`evaluation.parts`). What is compared with what: :mod:`evaluation.track_scores`. A
track with references or annotation files always gets an ``annotation_files`` row saying what
was read (``none readable in <folder>`` when nothing was) and a row per unreadable file; a track
with neither is recorded as having nothing to evaluate.
"""

import dagster as dg

from evaluation.annotations import load_annotations, song_folder

from .records import TrackPartition, required
from .track_step import StepResult, TrackStep

#: Metrics shown in the step's metadata (all of them are in the evaluation table).
HEADLINE_METRICS = ("global_sdr_db", "f_measure", "f_measure_no_offset", "raw_pitch_accuracy")


def separation_eval(part: TrackPartition) -> StepResult:
    """Global SDR of each stem against reference stems, and per-part note, melody and onset
    accuracy against annotations, where the track has them; one long-format row per metric."""
    store = part.store
    track = required(store.track_record)
    rows = required(store.stem_rows)
    stems = {r["stem"]: r["path"] for r in rows}
    refs = store.references(track["path"])
    song_dir = song_folder(store.input_file(track))
    truth = load_annotations(song_dir) if song_dir is not None else None
    annotated = truth is not None and (bool(refs) or truth.found_any)
    records: list[dict] = []
    if refs or annotated:
        # mir_eval and scipy (2 s) load here, only for a track with something to score.
        from evaluation.track_scores import (
            annotation_records,
            annotation_status_records,
            scored_features,
            sdr_records,
        )

        n = int(rows[0]["duration_s"] * rows[0]["sample_rate"] + 0.5)
        records = sdr_records(refs, stems, n)
    annotations = "not a song folder (mixture.<ext>)"
    if annotated:
        features = {
            (kind, stem): store.feature_table(kind, stem)
            for kind, stem in scored_features(truth, list(stems))
            if store.has_feature_table(kind, stem)
        }
        records += annotation_records(truth, list(stems), features)
        records += annotation_status_records(truth)
        annotations = truth.status()
        for problem in truth.problems:
            part.log.warning(f"annotation file unreadable: {problem}")
    elif truth is not None:
        annotations = f"none in {song_dir}"
    table = store.write_evaluation(records, part.run_id)
    part.record_run("separation_eval")
    if table.is_empty():
        part.log.info("no reference stems or annotations: nothing to evaluate")
    headline = [r for r in records if r["metric"].endswith(HEADLINE_METRICS)]
    return StepResult(
        metadata={
            "n_metrics": table.height,
            "references": dg.MetadataValue.json(sorted(refs)),
            "annotations": annotations,
            **{f"{r['stem']}/{r['metric']}": float(r["value"]) for r in headline},
        }
    )


STEP = TrackStep(
    "separation_eval",
    separation_eval,
    code_version="2",  # 2: per-part note scores, annotation status rows
    description=separation_eval.__doc__,
    deps=("stems", "stem_features"),
    group_name="evaluation",
    kinds=frozenset({"mir_eval", "parquet"}),
)
