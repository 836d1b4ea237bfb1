"""The stage clock: what it charges, only while recording, and that it changes no stem."""

from __future__ import annotations

import threading

import numpy as np

from demodata.signals import synthetic_mix
from separation import Separator
from separation.stage_clock import StageClock


def test_clock_charges_stages_only_while_recording():
    clock = StageClock()
    assert clock.run("model", lambda x: x + 1, 1) == 2
    assert clock.seconds() == {} and not clock.active
    with clock.recording():
        with clock.recording():  # nested blocks record once
            assert clock.active
        assert clock.active
        threads = [
            threading.Thread(target=clock.run, args=("model", sum, [1, 2])) for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not clock.active
    with clock.time("decode"):  # host stages are timed by the caller, recording or not
        pass
    assert clock.calls() == {"model": 4, "decode": 1}
    assert all(seconds >= 0.0 for seconds in clock.seconds().values())
    clock.reset()
    assert clock.seconds() == {} and clock.calls() == {}


def test_a_separator_with_a_clock_gives_the_same_stems_and_times_each_device_stage(
    separator_2stems,
):
    mix = synthetic_mix(3.0, seed=2)
    clock = StageClock()
    timed = Separator("spleeter:2stems", stage_clock=clock)
    assert timed.stage_clock is clock and separator_2stems.stage_clock is None
    plain = timed.separate(mix, 44100)
    assert clock.calls() == {}  # not recording: nothing charged, nothing waited for
    with clock.recording():
        recorded = timed.separate(mix, 44100)
    assert clock.calls() == {"stft": 1, "model": 1, "istft": 1}  # one chunk of 3 s
    reference = separator_2stems.separate(mix, 44100)
    for inst in reference:
        np.testing.assert_array_equal(plain[inst], reference[inst])
        np.testing.assert_array_equal(recorded[inst], reference[inst])
