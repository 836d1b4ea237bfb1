"""The report's example track: voiced vocals first, named by path, rounded metadata.

The storage roots are real (scanned demo songs, stems as FLAC, features from the real
extractor; see ``separated_storage``). Demo song 2 is instrumental and is stamped as the most
recently separated track, which is what the report used to show.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from reporting.example_plots import example_plots_markdown
from reporting.example_track import choose_example_track
from tests.reporting.separated_storage import MODEL, write_separated_storage


@pytest.fixture(scope="module")
def three_songs(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Songs 0 and 1 sung, song 2 instrumental and separated last."""
    return write_separated_storage(tmp_path_factory.mktemp("three"), [0, 1, 2], [0, 1, 2])


def most_voiced(root: Path) -> str:
    """Track id with the highest vocal voiced ratio, read straight from the summary files."""
    summaries = pl.concat(
        pl.read_parquet(p) for p in root.glob(f"features/summary/*/{MODEL}/vocals.parquet")
    )
    sung = summaries.filter(~pl.col("is_silent") & (pl.col("voiced_ratio") > 0))
    return sung.sort("voiced_ratio", descending=True)["track_id"][0]


def short_decimals(value: object, digits: int = 3) -> bool:
    """Whether a metadata number prints with at most ``digits`` decimals."""
    if isinstance(value, float):
        match = re.fullmatch(r"-?\d+(?:\.(\d+))?", repr(value))
        return match is not None and len(match.group(1) or "") <= digits
    return True


def test_the_most_voiced_track_is_chosen_over_the_latest_instrumental(three_songs):
    root, ids = three_songs
    example = choose_example_track(root, MODEL)
    assert example is not None
    assert example.track_id == most_voiced(root)
    assert example.track_id != ids["demo_02"]
    assert example.has_voiced_vocals
    assert example.path.endswith("/mixture.wav")
    assert "most voiced" in example.reason


def test_every_plot_title_names_the_track_by_path(three_songs):
    root, _ = three_songs
    plots = example_plots_markdown(root, MODEL)
    example = plots.example
    assert example is not None
    song = Path(example.path).parent.name  # demo_00 or demo_01
    assert len(plots.titles) == 2  # stem spectrograms and the vocal pitch contour
    assert all(song in title and example.track_id[:8] in title for title in plots.titles)
    assert plots.voiced_frames > 0
    assert f"{song}/mixture.wav" in plots.markdown
    assert plots.markdown.count("data:image/png;base64,") == 2


def test_a_voice_starting_late_moves_the_window_to_it(three_songs):
    """The demo vocals start after 2 s; a 3 s window starts 1 s before the first voiced frame."""
    root, _ = three_songs
    plots = example_plots_markdown(root, MODEL, max_seconds=3.0)
    first = (
        pl.read_parquet(
            root / "features" / "pitch" / plots.example.track_id / MODEL / "vocals.parquet"
        )
        .filter(pl.col("voiced") == 1)["time_s"]
        .min()
    )
    assert first > 1.5  # the voice starts after half the window
    assert first - 1.1 < plots.start_s <= first - 1.0
    assert plots.voiced_frames > 0
    assert all(f"{plots.start_s:g}–" in title for title in plots.titles)
    assert plots.metadata()["example_start_s"] == round(plots.start_s, 1)


def test_example_metadata_is_rounded(three_songs):
    root, _ = three_songs
    metadata = choose_example_track(root, MODEL).metadata()
    assert metadata["example_track"].endswith("/mixture.wav")
    assert isinstance(metadata["example_vocal_voiced_ratio"], float)
    assert all(short_decimals(v) for v in metadata.values()), metadata


def test_without_voiced_vocals_the_report_says_so(tmp_path):
    root, ids = write_separated_storage(tmp_path, [2])
    example = choose_example_track(root, MODEL)
    assert example is not None and example.track_id == ids["demo_02"]
    assert not example.has_voiced_vocals
    plots = example_plots_markdown(root, MODEL)
    assert "no separated track has voiced vocals" in plots.markdown
    assert "demo_02/mixture.wav" in plots.markdown
    assert all("demo_02" in title for title in plots.titles)


def test_a_track_whose_file_is_gone_comes_after_present_ones(tmp_path):
    root, ids = write_separated_storage(tmp_path, [0, 1])
    gone = most_voiced(root)
    inventory = root / "inventory" / "files.parquet"
    files = pl.read_parquet(inventory)
    files.with_columns(
        status=pl.when(pl.col("track_id") == gone).then(pl.lit("removed")).otherwise("status")
    ).write_parquet(inventory)
    example = choose_example_track(root, MODEL)
    assert example.track_id != gone and example.has_voiced_vocals
    (kept,) = set(ids.values()) - {gone}
    assert example.track_id == kept


def test_an_empty_storage_has_no_example(tmp_path):
    assert choose_example_track(tmp_path, MODEL) is None
    plots = example_plots_markdown(tmp_path, MODEL)
    assert plots.example is None and plots.titles == []
    assert "no separated track yet" in plots.markdown


def test_dataset_report_shows_the_sung_track_with_rounded_metadata(three_songs):
    from assets.dataset_report import dataset_report
    from resources.settings import StemlineSettings

    root, ids = three_songs
    settings = StemlineSettings(storage_root=str(root), model=f"spleeter:{MODEL}")
    result = dg.materialize([dataset_report], resources={"settings": settings})
    metadata = result.asset_materializations_for_node("dataset_report")[0].metadata
    values = {k: v.value for k, v in metadata.items()}
    example = values["report"].split("## Example", 1)[1]
    chosen = next(name for name, tid in ids.items() if tid == most_voiced(root))
    assert f"{chosen}/mixture.wav" in example
    assert "demo_02" not in example
    assert "no voiced frames" not in example
    assert all(short_decimals(v) for v in values.values()), values
