"""``dataset_report``: the state of the whole dataset, with plots, as asset metadata."""

import dagster as dg

from reporting import metrics_table_markdown
from reporting.example_cache import example_cache_path
from reporting.example_plots import example_plots_markdown
from reporting.example_track import rounded
from resources.settings import StemlineSettings


@dg.asset(deps=["catalogue"], group_name="catalogue", kinds={"duckdb"}, code_version="2")
def dataset_report(
    context: dg.AssetExecutionContext, settings: StemlineSettings
) -> dg.MaterializeResult:
    """Counts of tracks by status, every failure with its reason, the evaluation summary and
    example plots (a track's stem spectrograms, its vocal pitch contour over the spectrogram).

    The plots are drawn again only when the example track, its files or the drawing code
    changed since they were last drawn (``<storage>/reports/``, :mod:`reporting.example_cache`);
    ``example_cached`` says whether they were kept."""
    from catalogue.query import run_queries  # DuckDB loads in the step, not with the defs

    root = settings.layout.root
    status, failures, evaluation = run_queries(
        root,
        [
            "SELECT status, removed, count(*) AS tracks, round(sum(duration_s) / 60, 1) AS minutes "
            "FROM tracks GROUP BY ALL ORDER BY ALL",
            "SELECT path, error FROM tracks WHERE status = 'error' ORDER BY path",
            "SELECT model, stem, metric, count(*) AS tracks, median(value) AS median "
            "FROM evaluation GROUP BY ALL ORDER BY ALL",
        ],
    )
    counts = {row["status"]: row["tracks"] for row in status.iter_rows(named=True)}
    cache = example_cache_path(root, settings.model_name)
    example = example_plots_markdown(root, settings.model_name, cache=cache)
    report = "\n\n".join(
        [
            "## Tracks\n" + metrics_table_markdown(status),
            "## Failures\n" + (metrics_table_markdown(failures) if failures.height else "none"),
            "## Evaluation (median over tracks)\n"
            + (metrics_table_markdown(evaluation) if evaluation.height else "no references"),
            "## Example\n" + example.markdown,
        ]
    )
    context.log.info(f"tracks by status: {counts}")
    return dg.MaterializeResult(
        metadata={
            "tracks_ok": int(counts.get("ok", 0)),
            "tracks_error": int(counts.get("error", 0)),
            "tracks_pending": int(counts.get("pending", 0)),
            "failures": int(failures.height),
            "audio_minutes": rounded(float(status["minutes"].sum() or 0.0), 1),
            **example.metadata(),
            "example_cached": example.cached,
            "report": dg.MetadataValue.md(report),
        }
    )
