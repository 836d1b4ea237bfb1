"""``catalogue``: the DuckDB file with the catalogue views, for DuckDB clients."""

import dagster as dg

from resources.settings import StemlineSettings

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
    atomically. ``stemline query`` builds the same views in memory, so it never waits on it.

    A damaged Parquet file (truncated by a full disk, say) does not stop it: the views read the
    readable files, and each unreadable one is logged as a warning and listed in the metadata
    (``unreadable_files``); the next ``stemline run`` reprocesses its track."""
    from catalogue.query import write_catalogue_file  # DuckDB loads in the step, not with defs

    built = write_catalogue_file(settings.layout.root)
    context.log.info(f"catalogue views over {sum(built.counts.values())} Parquet files")
    for bad in built.unreadable:
        context.log.warning(f"left out of the catalogue, unreadable: {bad}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.layout.catalogue)),
            **{f"files_{name}": n for name, n in built.counts.items()},
            "files_unreadable": len(built.unreadable),
            "unreadable_files": dg.MetadataValue.json(
                [{"table": f.table, "path": f.path, "problem": f.problem} for f in built.unreadable]
            ),
        }
    )
