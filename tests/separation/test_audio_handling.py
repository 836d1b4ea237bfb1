"""Sample rates, channel counts and offsets: what goes in comes back at the same rate and length;
the levels measured while stems are written, digital silence at the -120 dBFS floor."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from catalogue.schema import stem_table
from dbfs import FLOOR_DBFS
from demodata.signals import synthetic_mix
from separation.audio import to_stereo
from separation.output import StemWriter


def test_other_sample_rates_are_resampled_and_returned_at_the_input_rate(separator_2stems):
    x44 = synthetic_mix(6.0, seed=1)
    ref = separator_2stems.separate(x44, 44100)
    import soxr

    x22 = soxr.resample(x44, 44100, 22050).astype(np.float32)
    out = separator_2stems.separate(x22, 22050)
    assert out["vocals"].shape == (len(x22), 2)
    back = soxr.resample(ref["vocals"], 44100, 22050)
    err = np.sum((out["vocals"] - back) ** 2) / np.sum(back**2)
    assert err < 1e-3  # same separation, just at 22.05 kHz


def test_mono_is_separated_as_duplicated_stereo(separator_2stems):
    mono = synthetic_mix(4.0, channels=1, seed=2)[:, 0]
    out = separator_2stems.separate(mono, 44100)
    stereo = separator_2stems.separate(np.stack([mono, mono], axis=1), 44100)
    for inst, stem in out.items():
        # The U-Net's two mask channels differ even for identical inputs (as in Spleeter).
        assert stem.shape == (len(mono), 2)
        np.testing.assert_allclose(stem, stereo[inst], atol=1e-6)


def test_six_channels_keep_the_front_pair_by_default(separator_2stems):
    x = synthetic_mix(3.0, channels=6, seed=3)
    out = separator_2stems.separate(x, 44100)
    front = separator_2stems.separate(x[:, :2], 44100)
    for inst in out:
        np.testing.assert_allclose(out[inst], front[inst], atol=1e-6)


def test_downmix_rule_for_5_1_and_other_layouts():
    block = np.zeros((1, 6), np.float32)
    block[0] = [1, 2, 3, 4, 5, 6]  # L R C LFE Ls Rs
    c = 1 / np.sqrt(2)
    np.testing.assert_allclose(
        to_stereo(block, "downmix")[0], [1 + 3 * c + 5 * c, 2 + 3 * c + 6 * c]
    )
    quad = np.array([[1, 2, 3, 4]], np.float32)
    np.testing.assert_allclose(to_stereo(quad, "downmix")[0], [2, 3])
    np.testing.assert_array_equal(to_stereo(quad)[0], [1, 2])
    with pytest.raises(ValueError, match="multichannel"):
        to_stereo(quad, "middle")


def test_offset_and_duration_select_the_excerpt(separator_2stems, tmp_path):
    x = synthetic_mix(8.0, seed=5)
    path = tmp_path / "song.wav"
    sf.write(path, x, 44100, subtype="FLOAT")
    res = separator_2stems.separate_to_file(path, tmp_path / "out", offset=2.0, duration=3.0)
    data, rate = sf.read(res.stems["vocals"], always_2d=True)
    assert rate == 44100 and len(data) == 3 * 44100
    direct = separator_2stems.separate(x[2 * 44100 : 5 * 44100], 44100)["vocals"]
    np.testing.assert_allclose(data, direct, atol=1 / 32768 + 1e-6)  # 16-bit WAV output


def test_file_at_48k_is_written_back_at_48k(separator_2stems, tmp_path):
    import soxr

    x = soxr.resample(synthetic_mix(3.0, seed=6), 44100, 48000).astype(np.float32)
    path = tmp_path / "hi.flac"
    sf.write(path, x, 48000, subtype="PCM_24")
    res = separator_2stems.separate_to_file(path, tmp_path / "out", codec="flac")
    for stem in res.stems.values():
        info = sf.info(stem)
        assert (info.samplerate, info.frames, info.channels) == (48000, len(x), 2)


def test_stem_levels_are_measured_as_written_with_silence_at_the_floor(tmp_path):
    t = np.arange(44100) / 44100
    sine = 0.1 * np.sin(2 * np.pi * 441.0 * t)  # -20 dBFS peak, whole periods
    writer = StemWriter(tmp_path / "sine.wav", 44100, 2, "wav")
    writer.write(np.stack([sine, sine], axis=1).astype(np.float32))
    writer.commit()
    rms, peak = writer.levels_dbfs
    assert peak == pytest.approx(-20.0, abs=1e-3)
    assert rms == pytest.approx(-23.0103, abs=1e-3)  # a sine's RMS: 10 log10(2) dB below its peak
    silent = StemWriter(tmp_path / "silent.wav", 44100, 2, "wav")
    silent.write(np.zeros((44100, 2), np.float32))
    silent.commit()
    assert silent.levels_dbfs == (FLOOR_DBFS, FLOOR_DBFS) == (-120.0, -120.0)


def test_a_digitally_silent_file_has_stems_at_the_floor_in_the_stems_table(
    separator_2stems, tmp_path
):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((44100, 2), np.float32), 44100, subtype="PCM_16")
    res = separator_2stems.separate_to_file(path, tmp_path / "out", codec="flac")
    assert res.levels_dbfs == {
        stem: (FLOOR_DBFS, FLOOR_DBFS) for stem in ("vocals", "accompaniment")
    }
    table = stem_table(res.stems, res.levels_dbfs, res.clipped_samples, track_id="0" * 16)
    assert table["rms_dbfs"].to_list() == table["peak_dbfs"].to_list() == [-120.0, -120.0]
