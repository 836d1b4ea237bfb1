"""``catalogue``: the DuckDB file with the catalogue views, for DuckDB clients."""

import dagster as dg

from catalogue.query import write_catalogue_file

from .settings import StemlineSettings

PARTITIONED = ["track_audio", "stems", "stem_features", "separation_eval", "transcription_prep"]


@dg.asset(
    deps=PARTITIONED,
    group_name="catalogue",
    kinds={"duckdb"},
    pool="catalogue",
    code_version="1",
)
def catalogue(
    context: dg.AssetExecutionContext, settings: StemlineSettings
) -> dg.MaterializeResult:
    """(Re)write ``catalogue.duckdb``: views over every track's Parquet files, replaced
    atomically. ``stemline query`` builds the same views in memory, so it never waits on it."""
    counts = write_catalogue_file(settings.layout.root)
    context.log.info(f"catalogue views over {sum(counts.values())} Parquet files")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.layout.catalogue)),
            **{f"files_{name}": n for name, n in counts.items()},
        }
    )
