"""``separation_eval``: score stems and stem features where the truth is known.

Reference stems come from MUSDB18-style folders (files beside ``mixture.<ext>``); for a
two-stem model the accompaniment reference is the sum of every non-vocal reference. Annotation
files in the demo layout (``annotations/`` beside the mixture, see :mod:`evaluation.annotations`)
give note, f0 and drum-onset truth: vocal melody against the vocals stem's f0, vocal and bass
notes against the notes of the stem that carries them, drum onsets against the onsets of the
drums stem (or the accompaniment for two stems). Tracks without either are recorded as having
nothing to evaluate.
"""

import os
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import soundfile as sf

from catalogue.integrity import read_checked
from catalogue.layout import StorageLayout, write_parquet
from catalogue.schema import EVALUATION_SCHEMA
from evaluation import global_sdr, melody_scores, note_scores, onset_scores
from evaluation.annotations import has_annotations, load_annotations
from resources.settings import StemlineSettings

from .partitions import tracks_partitions
from .records import (
    input_file,
    partition_track_id,
    record_run,
    references,
    stem_rows,
    track_record,
)

MELODY_METRICS = (
    "raw_pitch_accuracy",
    "raw_chroma_accuracy",
    "overall_accuracy",
    "voicing_recall",
    "voicing_false_alarm",
)
NOTE_METRICS = ("f_measure", "f_measure_no_offset", "precision", "recall")
ONSET_METRICS = ("f_measure", "precision", "recall")


def reference_audio(refs: dict[str, str], stems: list[str], n: int) -> dict[str, np.ndarray]:
    """Reference signal per stem name, accompaniment built from the non-vocal references."""
    loaded = {
        name: sf.read(os.fsencode(path), dtype="float32", always_2d=True)[0]
        for name, path in refs.items()
    }
    out = {}
    for stem in stems:
        if stem in loaded:
            out[stem] = loaded[stem]
        elif stem == "accompaniment":
            rest = [a for name, a in loaded.items() if name != "vocals"]
            if rest:
                out[stem] = np.sum(rest, axis=0)
    return {k: _fit(v, n) for k, v in out.items()}


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    x = np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x[:, :2]
    return x[:n] if len(x) >= n else np.pad(x, ((0, n - len(x)), (0, 0)))


def _feature(layout: StorageLayout, kind: str, track_id: str, model: str, stem: str):
    path = layout.features(kind, track_id, model, stem)
    return read_checked(path) if path.is_file() else None


def annotation_records(
    layout: StorageLayout, track_id: str, model: str, mixture: str, stems: list[str]
) -> list[dict]:
    """Feature metrics against the demo annotations beside ``mixture`` (if any)."""
    folder = Path(mixture).parent
    if not has_annotations(folder):
        return []
    truth = load_annotations(folder)
    records: list[dict] = []
    carrier = {
        "vocals": "vocals",
        "bass": "bass" if "bass" in stems else None,
        "drums": "drums" if "drums" in stems else "accompaniment",
    }
    vocal_f0 = truth.f0.get("vocals")
    pitch = _feature(layout, "pitch", track_id, model, "vocals")
    if vocal_f0 is not None and pitch is not None and truth.metadata.get("has_vocals"):
        ref_t = vocal_f0["time_s"].to_numpy()
        if pitch.is_empty():  # a stem judged silent: its melody is all unvoiced
            est_t, est_f0 = ref_t, np.zeros_like(ref_t)
        else:
            est_t = pitch["time_s"].to_numpy()
            est_f0 = np.where(pitch["voiced"].to_numpy() > 0, pitch["f0_hz"].to_numpy(), 0.0)
        scores = melody_scores(ref_t, vocal_f0["f0_hz"].to_numpy(), est_t, est_f0)
        records += [
            {
                "stem": "vocals",
                "metric": f"melody_{m}",
                "value": scores[m],
                "reference": "annotations/f0_vocals.csv",
            }
            for m in MELODY_METRICS
        ]
    for part in ("vocals", "bass"):
        stem, ref = carrier[part], truth.notes.get(part)
        notes = _feature(layout, "notes", track_id, model, stem) if stem else None
        if ref is None or notes is None or ref.is_empty():
            continue
        scores = note_scores(
            ref.select("onset_s", "offset_s").to_numpy(),
            ref["midi_pitch"],
            notes.select("onset_s", "offset_s").to_numpy(),
            notes["midi_pitch"],
        )
        records += [
            {
                "stem": stem,
                "metric": f"notes_{part}_{m}",
                "value": scores[m],
                "reference": f"annotations/notes_{part}.csv",
            }
            for m in NOTE_METRICS
        ]
    onsets = _feature(layout, "onsets", track_id, model, carrier["drums"])
    if onsets is not None and not truth.drum_onsets.is_empty():
        scores = onset_scores(truth.onset_times("drums"), onsets["time_s"].to_numpy())
        records += [
            {
                "stem": carrier["drums"],
                "metric": f"onsets_drums_{m}",
                "value": scores[m],
                "reference": "annotations/onsets_drums.csv",
            }
            for m in ONSET_METRICS
        ]
    return records


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
    layout = settings.layout
    track_id = partition_track_id(context)
    model = settings.model_name
    track = track_record(layout, track_id)
    rows = stem_rows(layout, model, track_id)
    stems = [r["stem"] for r in rows]
    records: list[dict] = []
    refs = references(layout, track["path"])
    if refs:
        n = int(rows[0]["duration_s"] * rows[0]["sample_rate"] + 0.5)
        ref_audio = reference_audio(refs, stems, n)
        for row in rows:
            if row["stem"] not in ref_audio or not np.any(ref_audio[row["stem"]]):
                continue  # an all-silent reference has no defined SDR
            est = _fit(sf.read(row["path"], dtype="float32", always_2d=True)[0], n)
            records.append(
                {
                    "stem": row["stem"],
                    "metric": "global_sdr_db",
                    "value": global_sdr(ref_audio[row["stem"]], est),
                    "reference": ",".join(sorted(refs)),
                }
            )
    records += annotation_records(layout, track_id, model, input_file(layout, track), stems)
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
