"""``stemline query`` as a careless or hostile user drives it: damaged files, bad storage
and output paths, CSV/JSON encodings, start-up imports, timeouts and the DuckDB temp
folder. Each test runs the real command in a subprocess on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from catalogue.inventory_schema import INVENTORY_SCHEMA
from catalogue.layout import StorageLayout, write_parquet
from catalogue.schema import STORED_TABLES, TRACK_SCHEMA

REPO = Path(__file__).resolve().parents[2]
ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(Path.home())}
MODEL = "2stems"


def schema_of(table: str) -> dict:
    return next(t.schema for t in STORED_TABLES if t.name == table)


def make_storage(root: Path, n_tracks: int = 2) -> dict[str, Path]:
    """A small real catalogue: inventory, track records, one summary and chroma table per
    track (vocals); returns the summary file of each track id."""
    layout = StorageLayout(root)
    now = datetime.now(UTC)
    inventory, summaries = [], {}
    for i in range(n_tracks):
        track_id = f"{i + 1:016x}"
        path = f"/music/song {i}.wav"
        inventory.append(
            {c: None for c in INVENTORY_SCHEMA}
            | {"path": path, "root": "/music", "role": "track", "track_id": track_id}
            | {"status": "present", "first_seen": now, "last_seen": now}
        )
        record = {c: None for c in TRACK_SCHEMA} | {
            "track_id": track_id,
            "path": path,
            "status": "ok",
            "duration_s": 10.0,
        }
        write_parquet(pl.DataFrame([record], schema=TRACK_SCHEMA), layout.track(track_id))
        keys = {"track_id": track_id, "model": MODEL, "stem": "vocals"}
        summary = (
            {c: None for c in schema_of("stem_summaries")}
            | keys
            | {
                "is_silent": False,
                "rms_dbfs": -20.0 - i,
                "mean_chroma": [0.5] * 12,
            }
        )
        summaries[track_id] = write_parquet(
            pl.DataFrame([summary], schema=schema_of("stem_summaries")),
            layout.features("summary", track_id, MODEL, "vocals"),
        )
        chroma = keys | {"frame": 0, "time_s": 0.0, "chroma": [float(b) / 11 for b in range(12)]}
        write_parquet(
            pl.DataFrame([chroma], schema=schema_of("chroma_frames")),
            layout.features("chroma", track_id, MODEL, "vocals"),
        )
    write_parquet(pl.DataFrame(inventory, schema=INVENTORY_SCHEMA), layout.inventory)
    return summaries


def truncate(path: Path) -> None:
    """Cut a file in half, as a full disk or an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def query(*args, cwd: Path, stdout=subprocess.PIPE, timeout: float = 120):
    """Run ``stemline query ARGS`` as a user would; returns the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "query", *map(str, args)],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=timeout,
    )


def one_line_error(proc) -> str:
    """The single stderr line of a failed command (no traceback)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


# --- One damaged Parquet file --------------------------------------------------------------


def test_a_damaged_file_leaves_other_queries_answering(tmp_path):
    root = tmp_path / "data"
    summaries = make_storage(root)
    damaged = summaries[f"{1:016x}"]
    truncate(damaged)
    one = query("--storage", root, "SELECT 1 AS one", "--format", "csv", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert one.stdout.splitlines() == ["one", "1"]
    tracks = query("--storage", root, "SELECT count(*) AS n FROM tracks", "--format", "csv",
                   cwd=tmp_path)  # fmt: skip
    assert tracks.returncode == 0 and tracks.stdout.splitlines() == ["n", "2"]


def test_a_query_over_a_damaged_table_names_the_file_or_skips_it_when_asked(tmp_path):
    root = tmp_path / "data"
    summaries = make_storage(root)
    damaged = summaries[f"{1:016x}"]
    truncate(damaged)
    sql = "SELECT track_id, rms_dbfs FROM stem_summaries ORDER BY track_id"
    refused = query("--storage", root, sql, "--format", "csv", cwd=tmp_path)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "Traceback" not in refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert [line for line in lines if str(damaged) in line] == [lines[0]]
    assert "--skip-unreadable" in refused.stderr
    skipped = query("--storage", root, sql, "--format", "csv", "--skip-unreadable", cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    assert skipped.stdout.splitlines() == ["track_id,rms_dbfs", f"{2:016x},-21.0"]
    assert str(damaged) in skipped.stderr and "warning" in skipped.stderr


def test_the_catalogue_asset_builds_over_the_readable_files(tmp_path):
    import dagster as dg
    import duckdb

    from assets.catalogue_file import catalogue
    from resources.settings import StemlineSettings

    root = tmp_path / "data"
    summaries = make_storage(root)
    damaged = summaries[f"{1:016x}"]
    truncate(damaged)
    result = dg.materialize(
        [catalogue], resources={"settings": StemlineSettings(storage_root=str(root))}
    )
    assert result.success
    metadata = result.asset_materializations_for_node("catalogue")[0].metadata
    assert str(damaged) in json.dumps(metadata["unreadable_files"].value)
    con = duckdb.connect(str(root / "catalogue.duckdb"), read_only=True)
    assert con.execute("SELECT track_id FROM stem_summaries").fetchall() == [(f"{2:016x}",)]
    con.close()


# --- -o FILE --------------------------------------------------------------------------


def test_output_inside_the_storage_root_is_refused(tmp_path):
    root = tmp_path / "data"
    make_storage(root)
    inventory = StorageLayout(root).inventory
    before = inventory.read_bytes()
    proc = query("--storage", root, "SELECT 1 AS x", "--format", "parquet", "-o", inventory,
                 "--force", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert "storage" in one_line_error(proc)
    assert inventory.read_bytes() == before
    # Also through a link to a folder inside the root.
    (tmp_path / "link").symlink_to(root / "inventory")
    proc = query("--storage", root, "SELECT 1", "--format", "csv", "-o",
                 tmp_path / "link" / "new.csv", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and not (root / "inventory" / "new.csv").exists()


def test_output_is_not_overwritten_without_force_and_links_are_not_followed(tmp_path):
    root = tmp_path / "data"
    make_storage(root)
    out = tmp_path / "out.csv"
    out.write_text("keep me\n")
    proc = query("--storage", root, "SELECT 1 AS x", "--format", "csv", "-o", out, cwd=tmp_path)
    assert proc.returncode == 2 and "--force" in one_line_error(proc)
    assert out.read_text() == "keep me\n"
    forced = query("--storage", root, "SELECT 1 AS x", "--format", "csv", "-o", out, "--force",
                   cwd=tmp_path)  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert out.read_text().splitlines() == ["x", "1"]
    # A link: --force replaces the link itself, never the file it points to.
    target = tmp_path / "precious.txt"
    target.write_text("precious\n")
    link = tmp_path / "result.csv"
    link.symlink_to(target)
    refused = query("--storage", root, "SELECT 2 AS x", "--format", "csv", "-o", link,
                    cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 2 and target.read_text() == "precious\n"
    replaced = query("--storage", root, "SELECT 2 AS x", "--format", "csv", "-o", link,
                     "--force", cwd=tmp_path)  # fmt: skip
    assert replaced.returncode == 0, replaced.stderr
    assert not link.is_symlink() and link.read_text().splitlines() == ["x", "2"]
    assert target.read_text() == "precious\n"
    left = sorted(p.name for p in tmp_path.iterdir())  # no temporary files
    assert left == ["data", "out.csv", "precious.txt", "result.csv"]


def test_a_failed_query_leaves_no_output_file(tmp_path):
    root = tmp_path / "data"
    make_storage(root)
    out = tmp_path / "out.json"
    proc = query("--storage", root, "SELECT nosuch FROM tracks", "--format", "json", "-o", out,
                 cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1 and "nosuch" in one_line_error(proc)
    assert list(tmp_path.iterdir()) == [root]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["-o", "missing/dir/out.csv"], 2, "does not exist"),
        (["-o", "/dev/full"], 2, "not a regular file"),
        (["-o", "/dev/full", "--force"], 2, "not a regular file"),
        (["--timeout", "-1"], 2, "timeout"),
        (["--timeout", "nan"], 2, "timeout"),
        (["--example", "99"], 2, "--example"),
        (["--format", "parquet"], 2, "--output"),
    ],
)
def test_bad_query_arguments_get_one_line_and_a_usage_exit(tmp_path, args, code, words):
    root = tmp_path / "data"
    make_storage(root)
    sql = [] if "--example" in args else ["SELECT 1"]
    proc = query("--storage", root, *sql, "--format", "csv", *args, cwd=tmp_path)
    assert proc.returncode == code
    line = proc.stderr.strip().splitlines()[-1]
    assert "Traceback" not in proc.stderr and words in line


def test_stdout_on_a_full_disk_is_one_line_and_exit_1(tmp_path):
    root = tmp_path / "data"
    make_storage(root)
    with open("/dev/full", "w") as full:
        proc = query("--storage", root, "SELECT * FROM range(100000)", "--format", "csv",
                     cwd=tmp_path, stdout=full)  # fmt: skip
    assert proc.returncode == 1
    assert "No space left" in one_line_error(proc)


# --- Glob characters in the storage path -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "siblings"),
    [("store[v1]", ["store1", "storev"]), ("st*re", ["store"]), ("a?b", ["axb"])],
)
def test_glob_characters_in_the_storage_path_read_that_folder_only(tmp_path, name, siblings):
    make_storage(tmp_path / name, n_tracks=1)
    for sibling in siblings:
        make_storage(tmp_path / sibling, n_tracks=3)
    proc = query("--storage", tmp_path / name, "SELECT count(*) AS n FROM stem_summaries",
                 "--format", "csv", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["n", "1"]


# --- CSV and JSON encodings -----------------------------------------------------------------


def test_csv_holds_list_columns_as_json_text(tmp_path):
    root = tmp_path / "data"
    make_storage(root, n_tracks=1)
    for table in ("tracks", "stem_summaries", "chroma_frames"):
        proc = query("--storage", root, f"SELECT * FROM {table}", "--format", "csv",
                     cwd=tmp_path)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    rows = pl.read_csv(proc.stdout.encode())
    chroma = json.loads(rows["chroma"][0])
    assert chroma == pytest.approx([b / 11 for b in range(12)])  # as stored, C first
    tracks = query("--storage", root, "SELECT paths FROM tracks", "--format", "csv",
                   cwd=tmp_path)  # fmt: skip
    assert tracks.stdout.splitlines() == ["paths", '"[""/music/song 0.wav""]"']


def test_json_keeps_infinities_apart_from_missing_values(tmp_path):
    root = tmp_path / "data"
    make_storage(root, n_tracks=1)
    sql = ("SELECT '-inf'::DOUBLE AS a, NULL::DOUBLE AS b, 'nan'::FLOAT AS c, 'inf'::FLOAT AS d,"
           " 0.1::FLOAT AS e, ['-inf'::DOUBLE, NULL, 1.5] AS l")  # fmt: skip
    js = query("--storage", root, sql, "--format", "json", cwd=tmp_path)
    assert js.returncode == 0, js.stderr
    assert json.loads(js.stdout) == [
        {"a": "-inf", "b": None, "c": "nan", "d": "inf", "e": 0.1, "l": ["-inf", None, 1.5]}
    ]
    csv = query("--storage", root, sql, "--format", "csv", cwd=tmp_path)
    assert csv.stdout.splitlines() == ["a,b,c,d,e,l", '-inf,,nan,inf,0.1,"[""-inf"",null,1.5]"']


# --- Start-up imports -------------------------------------------------------------------------


def test_query_imports_neither_dagster_nor_essentia_nor_tensorflow(tmp_path):
    root = tmp_path / "data"
    make_storage(root, n_tracks=1)
    code = (
        "import sys\n"
        "from orchestration.cli import main\n"
        f"code = main(['query', '--storage', {str(root)!r}, 'SELECT count(*) FROM tracks'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules}\n"
        "               & {'dagster', 'essentia', 'tensorflow', 'features', 'keras'})\n"
        "print('HEAVY', heavy, code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=ENV, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "HEAVY [] 0"


def test_settings_loader_knows_every_setting_of_the_dagster_resource():
    from orchestration.config import SETTING_KINDS
    from resources.settings import StemlineSettings

    assert list(SETTING_KINDS) == list(StemlineSettings.model_fields)
    for name, field in StemlineSettings.model_fields.items():
        kind = SETTING_KINDS[name]
        annotation = field.annotation
        expected = {int: int, float: float, bool: bool}.get(
            annotation, list if name == "audio_roots" else str
        )
        assert kind is expected, name


@pytest.mark.parametrize(("raw", "value"), [("off", False), ("0", False), (" Yes", True)])
def test_a_boolean_setting_reads_the_usual_words(tmp_path, monkeypatch, raw, value):
    from orchestration.config import load_setting_values

    monkeypatch.setenv("STEMLINE_WARM_ENGINE", raw)
    assert load_setting_values(tmp_path / "absent.toml")["warm_engine"] is value


def test_a_boolean_setting_that_is_no_boolean_is_named(tmp_path, monkeypatch):
    from orchestration.config import SettingsError, load_setting_values

    monkeypatch.setenv("STEMLINE_WARM_ENGINE", "maybe")
    with pytest.raises(SettingsError, match=r"^STEMLINE_WARM_ENGINE='maybe' is not a boolean"):
        load_setting_values(tmp_path / "absent.toml")


def test_settings_file_and_environment_reach_the_query_command(tmp_path):
    root = tmp_path / "elsewhere"
    make_storage(root, n_tracks=1)
    (tmp_path / "stemline.toml").write_text(f'storage_root = "{root}"\n')
    proc = query("SELECT count(*) AS n FROM tracks", "--format", "csv", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.splitlines() == ["n", "1"]
    (tmp_path / "stemline.toml").write_text('storage_rot = "x"\n')
    bad = query("SELECT 1", cwd=tmp_path)
    assert bad.returncode == 2 and "storage_rot" in one_line_error(bad)


# --- Missing storage, large results, timeouts -------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "file", "empty folder"])
def test_a_storage_without_a_catalogue_is_an_error(tmp_path, kind):
    storage = tmp_path / "dta"
    if kind == "file":
        storage.write_text("x")
    elif kind == "empty folder":
        storage.mkdir()
    proc = query("--storage", storage, "SELECT count(*) FROM tracks", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    line = one_line_error(proc)
    assert "no stemline catalogue" in line and str(storage) in line


def test_the_table_format_shows_the_first_rows_and_counts_the_rest(tmp_path):
    root = tmp_path / "data"
    make_storage(root, n_tracks=1)
    proc = query("--storage", root, "SELECT range AS i FROM range(1000000)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "999,800 more rows" in proc.stdout
    assert "│ 199 " in proc.stdout and "│ 200 " not in proc.stdout


def test_csv_streams_every_row(tmp_path):
    root = tmp_path / "data"
    make_storage(root, n_tracks=1)
    out = tmp_path / "all.csv"
    proc = query("--storage", root, "SELECT range AS i FROM range(300000)", "--format", "csv",
                 "-o", out, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 300001 and lines[-1] == "299999"


def test_timeout_stops_a_long_query_with_one_line(tmp_path):
    root = tmp_path / "data"
    make_storage(root, n_tracks=1)
    sql = "SELECT count(*) FROM range(1000000000) a, range(1000000000) b WHERE a.range <> b.range"
    proc = query("--storage", root, sql, "--timeout", "0.5", cwd=tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "--timeout" in one_line_error(proc)


# --- DuckDB's temp folder ------------------------------------------------------------------


def test_a_query_cannot_read_the_working_directory_temp_folder(tmp_path):
    root = tmp_path / "data"
    make_storage(root, n_tracks=1)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "secret.csv").write_text("a,b\n1,secret\n")
    for path in (".tmp/secret.csv", tmp_path / ".tmp" / "secret.csv"):
        proc = query("--storage", root, f"SELECT * FROM read_csv('{path}')", cwd=tmp_path)
        assert proc.returncode == 1 and "secret" not in proc.stdout
        assert "Permission" in one_line_error(proc)
    # The query's own spill folder is inside the root and gone afterwards.
    assert sorted(p.name for p in root.iterdir()) == ["features", "inventory", "tracks"]
    assert os.listdir(tmp_path / ".tmp") == ["secret.csv"]
