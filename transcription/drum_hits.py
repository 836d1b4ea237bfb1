"""Drum hits of a drums stem as General MIDI percussion notes, from its onsets.

The ``drums`` stem has no pitched notes (its feature profile writes none); what a drum
transcription model learns is *when* a hit happens and *which* drum it is. Every onset of the
stem's ``onsets`` table becomes one hit, and the drum is read from the stem's spectrum at the
onset by one documented rule:

1. Take the stem, mono (channel mean), from :data:`PRE_ONSET_S` (5 ms) before the onset for
   :data:`WINDOW_S` (50 ms; onset times are good to one 11.6 ms detection frame), Hann-windowed.
2. Sum its power spectrum in three bands and pick the band holding the most energy:

   ==================  ==========  ===============================
   band                GM key      drum
   ==================  ==========  ===============================
   below 150 Hz        36          Bass Drum 1 (kick)
   150 Hz to 5 kHz     38          Acoustic Snare
   5 kHz and above     42          Closed Hi-Hat (hats, cymbals)
   ==================  ==========  ===============================

   (a kick's energy lies under 150 Hz, a snare's body and rattle in the middle band, hats and
   cymbals above 5 kHz; when drums hit together the dominant one is written).
3. The hit lasts :data:`HIT_DURATION_S` (100 ms; percussion players ignore note lengths), cut
   short where the same key strikes again, so hits of one key never overlap.
4. ``rms_dbfs`` is the RMS level of the window, ``velocity`` the velocity proxy the ``notes``
   table uses for that level (``round(127 * (1 + rms_dbfs / 60))`` clipped to 1..127: 0 dBFS ->
   127, -60 dBFS -> 1; :func:`features.notes.velocity_from_dbfs`, restated here so this package
   does not load essentia).

The result has the columns of the ``notes`` table that the export uses (``onset_s``,
``offset_s``, ``midi_pitch`` = the GM key, ``rms_dbfs``, ``velocity``), sorted by onset.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dbfs import to_dbfs
from transcription.mono_audio import mono_downmix

KICK, SNARE, CLOSED_HIHAT = 36, 38, 42
#: ``(low Hz, high Hz, GM key)`` of the bands, lowest first.
DRUM_BANDS = ((0.0, 150.0, KICK), (150.0, 5000.0, SNARE), (5000.0, np.inf, CLOSED_HIHAT))
PRE_ONSET_S = 0.005
WINDOW_S = 0.05
HIT_DURATION_S = 0.1
HIT_SCHEMA = {
    "onset_s": pl.Float64,
    "offset_s": pl.Float64,
    "midi_pitch": pl.Int32,
    "rms_dbfs": pl.Float32,
    "velocity": pl.Int32,
}


def velocity_from_dbfs(rms_dbfs: np.ndarray) -> np.ndarray:
    """Velocity 1..127 of levels in dBFS, the ``notes`` table's proxy (module doc, step 4)."""
    return np.clip(np.round(127.0 * (1.0 + np.asarray(rms_dbfs) / 60.0)), 1, 127).astype(int)


def band_key(segment: np.ndarray, sample_rate: int) -> int:
    """GM percussion key of a mono segment: the key of the band of :data:`DRUM_BANDS` with
    the most energy of the Hann-windowed segment (ties go to the lower band)."""
    if segment.size == 0:
        raise ValueError("empty segment")
    power = np.abs(np.fft.rfft(segment * np.hanning(segment.size))) ** 2
    freqs = np.fft.rfftfreq(segment.size, 1.0 / sample_rate)
    energy = [power[(freqs >= lo) & (freqs < hi)].sum() for lo, hi, _ in DRUM_BANDS]
    return DRUM_BANDS[int(np.argmax(energy))][2]


def drum_hits(onsets: pl.DataFrame, audio: np.ndarray, sample_rate: int) -> pl.DataFrame:
    """The percussion notes of a drums stem: one GM key per onset (module rule).

    Parameters
    ----------
    onsets : polars.DataFrame
        The stem's ``onsets`` table (``time_s``, seconds); may be empty.
    audio : numpy.ndarray
        The stem, ``(n,)`` or ``(n, channels)`` float, full scale 1.0.
    sample_rate : int
        Rate of ``audio`` in Hz.

    Returns
    -------
    polars.DataFrame
        :data:`HIT_SCHEMA`, one row per distinct onset time, sorted by onset.
    """
    if "time_s" not in onsets.columns:
        raise ValueError("onsets table lacks columns ['time_s']")
    mono = mono_downmix(audio)
    times = np.unique(onsets["time_s"].to_numpy().astype(np.float64))
    if times.size == 0 or mono.size == 0:
        return pl.DataFrame(schema=HIT_SCHEMA)
    width = max(1, round(WINDOW_S * sample_rate))
    keys, levels = [], []
    for t in times:
        start = min(max(0, round((t - PRE_ONSET_S) * sample_rate)), mono.size - 1)
        segment = mono[start : start + width].astype(np.float64)
        keys.append(band_key(segment, sample_rate))
        levels.append(float(to_dbfs(np.sqrt(np.mean(segment**2)))))
    keys_arr = np.array(keys)
    offsets = times + HIT_DURATION_S
    for key in np.unique(keys_arr):
        same = np.flatnonzero(keys_arr == key)
        offsets[same[:-1]] = np.minimum(offsets[same[:-1]], times[same[1:]])
    return pl.DataFrame(
        {
            "onset_s": times,
            "offset_s": offsets,
            "midi_pitch": keys_arr,
            "rms_dbfs": levels,
            "velocity": velocity_from_dbfs(np.array(levels)),
        },
        schema=HIT_SCHEMA,
    )
