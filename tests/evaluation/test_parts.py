"""The one part-to-stem mapping, row by row as documented, and how a stem's notes are shared
among the parts it carries."""

from __future__ import annotations

import polars as pl
import pytest

from evaluation.parts import carrier_stem, carriers, share_notes

MODELS = {
    "2stems": ["vocals", "accompaniment"],
    "4stems": ["vocals", "drums", "bass", "other"],
    "5stems": ["vocals", "drums", "bass", "piano", "other"],
    "mixture": ["mixture"],
}
# The module's table: part -> carrier per model.
TABLE = {
    "vocals": ("vocals", "vocals", "vocals", "mixture"),
    "bass": ("accompaniment", "bass", "bass", "mixture"),
    "drums": ("accompaniment", "drums", "drums", "mixture"),
    "piano": ("accompaniment", "other", "piano", "mixture"),
    "chords": ("accompaniment", "other", "other", "mixture"),
}


@pytest.mark.parametrize("part", TABLE)
def test_the_documented_table(part):
    got = tuple(carrier_stem(part, stems, {"chords": "other"}) for stems in MODELS.values())
    assert got == TABLE[part]


def test_part_stems_override_the_name_and_unknown_parts_are_other():
    assert carrier_stem("keys", MODELS["5stems"], {"keys": "piano"}) == "piano"
    assert carrier_stem("guitar", MODELS["4stems"]) == "other"
    assert carrier_stem("vocals", ["drums", "accompaniment"]) is None
    assert carriers(["vocals", "bass"], ["drums", "accompaniment"]) == {"bass": "accompaniment"}


def test_notes_go_to_the_nearest_part_range_and_ties_to_both():
    notes = pl.DataFrame({"midi_pitch": [30, 40, 53, 54, 60, 90], "onset_s": range(6)})
    shared = share_notes(notes, {"bass": (33.0, 52.0), "chords": (55.0, 67.0)})
    assert shared["bass"]["midi_pitch"].to_list() == [30, 40, 53]
    assert shared["chords"]["midi_pitch"].to_list() == [54, 60, 90]
    overlapping = share_notes(notes, {"vocals": (55.0, 74.0), "chords": (52.0, 76.0)})
    assert overlapping["vocals"]["midi_pitch"].to_list() == [60]  # 53, 54 nearer chords
    assert overlapping["chords"]["midi_pitch"].to_list() == [30, 40, 53, 54, 60, 90]
    assert share_notes(notes, {}) == {}
