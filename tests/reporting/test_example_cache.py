"""The dataset report draws its example again only when what it is drawn from changed.

A real storage root (demo songs, real feature tables; see ``separated_storage``): the second
report gives back the first one's section unchanged; a rewritten stem file, a rewritten vocal
pitch table, another window length or a damaged cache file each make it draw again, and the
cache file is then valid JSON for the new inputs; another example track has another
fingerprint.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from reporting.example_cache import example_cache_path, example_fingerprint
from reporting.example_plots import example_plots_markdown
from reporting.example_track import choose_example_track
from tests.reporting.separated_storage import MODEL, write_separated_storage


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> Path:
    """Demo songs 0 and 2 (one sung, one instrumental), separated and analysed."""
    root, _ = write_separated_storage(tmp_path_factory.mktemp("cache"), [0, 2])
    return root


def drawn(root: Path, **kwargs):
    return example_plots_markdown(root, MODEL, cache=example_cache_path(root, MODEL), **kwargs)


def touch_later(path: Path) -> None:
    """Give ``path`` a modification time one second after its current one."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_unchanged_inputs_give_back_the_drawn_section(storage):
    cache = example_cache_path(storage, MODEL)
    cache.unlink(missing_ok=True)
    first = drawn(storage)
    assert not first.cached and first.titles and cache.is_file()
    again = drawn(storage)
    assert again.cached
    assert (again.markdown, again.titles, again.start_s, again.voiced_frames) == (
        first.markdown,
        first.titles,
        first.start_s,
        first.voiced_frames,
    )
    assert again.markdown.count("data:image/png;base64,") == 2
    assert again.example == first.example


@pytest.mark.parametrize("changed", ["stem", "pitch"])
def test_a_changed_input_file_draws_again(storage, changed):
    drawn(storage)
    example = choose_example_track(storage, MODEL)
    before = example_fingerprint(storage, MODEL, example, 30.0)
    if changed == "stem":
        path = storage / "stems" / MODEL / example.track_id / "vocals.flac"
    else:
        path = storage / "features" / "pitch" / example.track_id / MODEL / "vocals.parquet"
    touch_later(path)
    assert example_fingerprint(storage, MODEL, example, 30.0) != before
    plots = drawn(storage)
    assert not plots.cached and plots.titles
    assert drawn(storage).cached


def test_another_window_draws_again(storage):
    drawn(storage)
    plots = drawn(storage, max_seconds=3.0)
    assert not plots.cached
    assert all("–" in title and "s" in title for title in plots.titles)


def test_a_damaged_cache_file_is_drawn_again_and_rewritten(storage):
    cache = example_cache_path(storage, MODEL)
    drawn(storage)
    cache.write_text('{"fingerprint": "')
    plots = drawn(storage)
    assert not plots.cached and plots.titles
    stored = json.loads(cache.read_text())
    assert stored["section"]["markdown"] == plots.markdown


def test_another_example_track_or_reason_has_another_fingerprint(storage):
    example = choose_example_track(storage, MODEL)
    other = next(
        p.name for p in (storage / "stems" / MODEL).iterdir() if p.name != example.track_id
    )
    fingerprints = {
        example_fingerprint(storage, MODEL, e, 30.0)
        for e in (
            example,
            dataclasses.replace(example, track_id=other),
            dataclasses.replace(example, reason="the only separated track"),
            dataclasses.replace(example, path="/elsewhere/mixture.wav"),
        )
    }
    assert len(fingerprints) == 4


def test_the_dataset_report_keeps_its_example_when_nothing_changed(storage):
    from assets.dataset_report import dataset_report
    from resources.settings import StemlineSettings

    settings = StemlineSettings(storage_root=str(storage), model=f"spleeter:{MODEL}")
    example_cache_path(storage, MODEL).unlink(missing_ok=True)
    reports = []
    for _ in range(2):
        result = dg.materialize([dataset_report], resources={"settings": settings})
        metadata = result.asset_materializations_for_node("dataset_report")[0].metadata
        reports.append({k: v.value for k, v in metadata.items()})
    assert [r["example_cached"] for r in reports] == [False, True]
    assert reports[0]["report"] == reports[1]["report"]
    assert reports[1]["report"].count("data:image/png;base64,") == 2
