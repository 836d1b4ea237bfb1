"""Demo generator: determinism, MUSDB18 layout, exact stem sums, instrumental songs."""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pytest
import soundfile as sf

from demodata import STEM_NAMES, load_stems, render_song, write_demo_songs
from demodata.cli import register
from evaluation.annotations import load_annotations

DURATION_S = 4.0


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo_songs(out, n_songs=3, seed=7, duration_s=DURATION_S)
    return out


def _digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_writes_identical_bytes(demo_dir, tmp_path):
    write_demo_songs(tmp_path, n_songs=3, seed=7, duration_s=DURATION_S)
    assert _digest(tmp_path) == _digest(demo_dir)


def test_other_seed_gives_other_music():
    a = render_song(0, seed=1, duration_s=DURATION_S)
    b = render_song(0, seed=2, duration_s=DURATION_S)
    assert not np.array_equal(a.mixture, b.mixture)


def test_song_does_not_depend_on_set_size():
    assert np.array_equal(
        render_song(1, seed=5, duration_s=3.0).mixture,
        render_song(1, seed=5, duration_s=3.0).mixture,
    )


def test_musdb_layout_and_format(demo_dir):
    songs = sorted(p for p in demo_dir.iterdir() if p.is_dir())
    assert [p.name for p in songs] == ["demo_00", "demo_01", "demo_02"]
    for song in songs:
        for name in ("mixture", *STEM_NAMES):
            info = sf.info(song / f"{name}.wav")
            assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
            assert info.frames == round(DURATION_S * 44100)


def test_stems_sum_exactly_to_mixture(demo_dir):
    for song in sorted(p for p in demo_dir.iterdir() if p.is_dir()):
        audio, _ = load_stems(song)
        total = sum(audio[name] for name in STEM_NAMES)
        np.testing.assert_array_equal(total, audio["mixture"])
        assert np.max(np.abs(audio["mixture"])) < 1.0
        for name in ("drums", "bass", "other"):
            assert np.sqrt(np.mean(audio[name] ** 2)) > 1e-3, f"{song.name}/{name} is silent"


def test_every_third_song_is_instrumental(demo_dir):
    audio, _ = load_stems(demo_dir / "demo_02")
    ann = load_annotations(demo_dir / "demo_02")
    assert ann.metadata["has_vocals"] is False
    assert not np.any(audio["vocals"])
    assert ann.notes["vocals"].height == 0
    assert ann.f0["vocals"]["f0_hz"].max() == 0.0
    assert load_annotations(demo_dir / "demo_00").metadata["has_vocals"] is True


def test_cli_writes_songs_and_returns_exit_code(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="stemline")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["demo-data", str(tmp_path), "--songs", "1", "--seed", "3", "--duration", "2.5"]
    )
    assert args.func(args) == 0
    assert (tmp_path / "demo_00" / "mixture.wav").is_file()
    assert "wrote 1 songs" in capsys.readouterr().out
    bad = parser.parse_args(["demo-data", str(tmp_path / "x"), "--songs", "0"])
    assert bad.func(bad) == 2
    assert not (tmp_path / "x").exists()


def test_invalid_arguments_raise(tmp_path):
    with pytest.raises(ValueError, match="n_songs"):
        write_demo_songs(tmp_path, n_songs=0)
    with pytest.raises(ValueError, match="duration_s"):
        render_song(0, duration_s=1.0)
