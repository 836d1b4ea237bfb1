"""benchmarks/pipeline_ui_vs_cli.py: its command line, songs and run-phase arithmetic (the
benchmark itself runs ``stemline run`` and ``stemline ui`` for minutes and is not run here)."""

import importlib.util
import sys
from pathlib import Path

import pytest
import soundfile as sf

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "pipeline_ui_vs_cli.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("pipeline_ui_vs_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_help_lists_the_options(bench, capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--songs", "--paths", "--repeats", "--json", "--drop-after-tick"):
        assert option in text


def test_songs_are_seeded_flac_mixtures_of_the_asked_length(bench, tmp_path):
    bench.write_songs(tmp_path / "a", 2, 2.0, "mixtures")
    bench.write_songs(tmp_path / "b", 1, 2.0, "mixtures")
    files = sorted((tmp_path / "a").iterdir())
    assert [f.name for f in files] == ["demo_00.flac", "demo_01.flac"]
    assert all(sf.info(f).duration == 2.0 for f in files)
    assert files[0].read_bytes() != files[1].read_bytes()  # distinct tracks
    assert (tmp_path / "b" / "demo_00.flac").read_bytes() == files[0].read_bytes()  # seeded


def test_phases_split_a_run_at_its_events(bench):
    first = {"RUN_DEQUEUED": 1.0, "RUN_STARTING": 2.0, "RUN_START": 5.0, "STEP_START": 9.0}
    last = {"STEP_SUCCESS": 30.0, "RUN_SUCCESS": 31.0}
    # track_audio at 10, its check at 11, then stems at 20 of which 4 s separating
    mats = [(10.0, "track_audio", 0.0), (20.0, "stems", 4.0)]
    phases = bench._phases(0.0, first, last, mats, [11.0])
    assert phases == {
        "created -> RUN_DEQUEUED": 1.0,
        "RUN_DEQUEUED -> RUN_STARTING": 1.0,
        "RUN_STARTING -> RUN_START": 3.0,
        "RUN_START -> STEP_START": 4.0,
        "step start -> first materialisation": 1.0,
        "first stems outside separation (model load)": 5.0,
        "step": 21.0,
        "step end -> run end": 1.0,
    }


def test_targets_are_a_ratio_except_the_added_song_wall(bench):
    run = bench.Measurement(6, "cli", 60.0, separation_s=30.0, features_s=20.0, target=1.2)
    assert run.compute_s == 50.0 and run.ratio == pytest.approx(1.2) and run.met
    added = bench.Measurement(6, "cli +1", 9.0, separation_s=1.0, features_s=1.0, target=8.0)
    assert not added.met  # 9 s wall > 8 s, whatever the ratio
