"""The GM voice table: a program and a channel for every Spleeter stem, percussion on 10."""

from __future__ import annotations

import pytest

from transcription.general_midi import (
    PERCUSSION_CHANNEL,
    STEM_VOICES,
    is_percussion,
    program_for_stem,
    stem_channels,
)

SPLEETER_STEMS = {
    "2stems": ["vocals", "accompaniment"],
    "4stems": ["vocals", "drums", "bass", "other"],
    "5stems": ["vocals", "drums", "bass", "piano", "other"],
}


def test_every_spleeter_stem_has_a_voice():
    names = {s for stems in SPLEETER_STEMS.values() for s in stems}
    assert names == set(STEM_VOICES)
    assert {s: program_for_stem(s) for s in sorted(names)} == {
        "accompaniment": 0,
        "bass": 33,
        "drums": 0,
        "other": 27,
        "piano": 0,
        "vocals": 53,
    }
    assert [s for s in names if is_percussion(s)] == ["drums"]


@pytest.mark.parametrize("model", SPLEETER_STEMS)
def test_each_model_gets_distinct_channels_and_only_drums_on_ten(model):
    stems = SPLEETER_STEMS[model]
    channels = stem_channels(stems)
    assert list(channels) == stems
    assert len(set(channels.values())) == len(stems)
    for stem, channel in channels.items():
        assert (channel == PERCUSSION_CHANNEL) == (stem == "drums")


def test_unknown_stems_take_free_melodic_channels():
    channels = stem_channels(["vocals", "guitar", "drums", "strings"])
    assert channels == {"vocals": 0, "guitar": 1, "drums": 9, "strings": 2}
    assert program_for_stem("guitar") == 0 and not is_percussion("guitar")
    many = [f"s{i}" for i in range(15)]
    assert PERCUSSION_CHANNEL not in stem_channels(many).values()
    with pytest.raises(ValueError, match="more than 16"):
        stem_channels([*many, "one_more"])
    with pytest.raises(ValueError, match="repeat"):
        stem_channels(["bass", "bass"])
