"""``dataset_report``: the state of the whole dataset, with plots, as asset metadata."""

import dagster as dg
import soundfile as sf

from catalogue.query import run_query
from reporting import metrics_table_markdown, pitch_contour_png, png_markdown, stem_spectrograms_png

from .settings import StemlineSettings

EXAMPLE_SECONDS = 30.0


def _example_plots(settings: StemlineSettings) -> str:
    """Spectrograms of one track's stems and its vocal pitch contour, as markdown images."""
    root = settings.layout.root
    model = settings.model_name
    pick = run_query(
        root,
        f"""
        SELECT s.track_id, any_value(t.path) AS path
        FROM stem_files s JOIN tracks t USING (track_id)
        WHERE s.model = '{model}' AND t.status = 'ok'
        GROUP BY s.track_id ORDER BY max(s.written_at) DESC LIMIT 1""",
    )
    if pick.is_empty():
        return "_no separated track yet_"
    track_id, path = pick.row(0)
    stems = run_query(
        root,
        f"SELECT stem, path FROM stem_files WHERE track_id = '{track_id}' "
        f"AND model = '{model}' ORDER BY stem",
    )
    audio, rate = {}, 44100
    for stem, stem_path in stems.iter_rows():
        with sf.SoundFile(stem_path) as fh:
            rate = fh.samplerate
            audio[stem] = fh.read(int(EXAMPLE_SECONDS * rate), dtype="float32", always_2d=True)
    parts = [
        png_markdown(
            stem_spectrograms_png(audio, rate, title=f"{path} ({model})"), "stem spectrograms"
        )
    ]
    if "vocals" in audio:
        pitch = run_query(
            root,
            f"SELECT * FROM pitch_frames WHERE track_id = '{track_id}' "
            f"AND model = '{model}' AND stem = 'vocals' "
            f"AND time_s < {EXAMPLE_SECONDS} ORDER BY frame",
        )
        notes = run_query(
            root,
            f"SELECT * FROM notes WHERE track_id = '{track_id}' "
            f"AND model = '{model}' AND stem = 'vocals' "
            f"AND onset_s < {EXAMPLE_SECONDS} ORDER BY onset_s",
        )
        parts.append(
            png_markdown(
                pitch_contour_png(audio["vocals"], rate, pitch, notes, title="vocals f0"),
                "vocal pitch contour",
            )
        )
    return "\n\n".join(parts)


@dg.asset(deps=["catalogue"], group_name="catalogue", kinds={"duckdb"}, code_version="1")
def dataset_report(
    context: dg.AssetExecutionContext, settings: StemlineSettings
) -> dg.MaterializeResult:
    """Counts of tracks by status, every failure with its reason, the evaluation summary and
    example plots (a track's stem spectrograms, its vocal pitch contour over the spectrogram)."""
    root = settings.layout.root
    status = run_query(
        root,
        "SELECT status, removed, count(*) AS tracks, "
        "round(sum(duration_s) / 60, 1) AS minutes "
        "FROM tracks GROUP BY ALL ORDER BY ALL",
    )
    failures = run_query(
        root, "SELECT path, error FROM tracks WHERE status = 'error' ORDER BY path"
    )
    evaluation = run_query(
        root,
        "SELECT model, stem, metric, count(*) AS tracks, "
        "median(value) AS median FROM evaluation "
        "GROUP BY ALL ORDER BY ALL",
    )
    counts = {row["status"]: row["tracks"] for row in status.iter_rows(named=True)}
    report = "\n\n".join(
        [
            "## Tracks\n" + metrics_table_markdown(status),
            "## Failures\n" + (metrics_table_markdown(failures) if failures.height else "none"),
            "## Evaluation (median over tracks)\n"
            + (metrics_table_markdown(evaluation) if evaluation.height else "no references"),
            "## Example\n" + _example_plots(settings),
        ]
    )
    context.log.info(f"tracks by status: {counts}")
    return dg.MaterializeResult(
        metadata={
            "tracks_ok": int(counts.get("ok", 0)),
            "tracks_error": int(counts.get("error", 0)),
            "tracks_pending": int(counts.get("pending", 0)),
            "failures": int(failures.height),
            "report": dg.MetadataValue.md(report),
        }
    )
