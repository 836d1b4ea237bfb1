"""Phonemes of the demo voice: vowel and consonant filters, consonant noises, syllables.

The vocal tract of a phoneme is a cascade of resonances (as in Klatt's cascade formant
synthesiser): its five lowest formants (frequency and bandwidth in Hz) and above them a
uniform tube's resonances about every 1 kHz; each has unit gain at 0 Hz, so the cascade keeps
the source's level in the bass and shapes the rest, as a tube does. It is realised as a
minimum-phase FIR filter with that magnitude response (:func:`tract_filter`).

A syllable is an optional consonant, a vowel and, on some longer notes, a second vowel it
glides to (a diphthong). Unvoiced consonants sound before the note's onset, so the annotated
onset is the start of voicing; voiced ones (``m``, ``n``, ``l``) are the first tens of
milliseconds of the voiced note, with their own formants.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Formants (Hz) and bandwidths (Hz), F1..F5, of sung vowels of an adult voice.
VOWELS = {
    "a": ((780, 80), (1200, 90), (2700, 120), (3500, 160), (4400, 200)),
    "e": ((480, 70), (1800, 90), (2550, 120), (3500, 160), (4400, 200)),
    "i": ((310, 60), (2200, 100), (2950, 130), (3650, 160), (4400, 200)),
    "o": ((520, 70), (880, 80), (2550, 110), (3400, 160), (4400, 200)),
    "u": ((360, 60), (760, 70), (2450, 120), (3350, 160), (4400, 200)),
}
#: Voiced consonants sung into the vowel: nasal murmurs (wide, weak upper formants) and ``l``.
VOICED_CONSONANTS = {
    "m": ((270, 60), (1100, 350), (2200, 400), (3300, 400), (4400, 500)),
    "n": ((280, 60), (1650, 350), (2600, 400), (3400, 400), (4400, 500)),
    "l": ((380, 70), (1250, 150), (2750, 160), (3500, 200), (4400, 250)),
}
#: Inhalation: a neutral tract with wide bandwidths (turbulent, open glottis).
BREATH = ((550, 300), (1500, 400), (2500, 500), (3500, 600), (4400, 700))
DIPHTHONGS = (("a", "i"), ("e", "i"), ("o", "u"), ("a", "u"))

#: Resonances above F5: spacing and top of the uniform tube's series, bandwidth ``a + b F``.
TUBE_SPACING_HZ = 1050.0
TUBE_TOP_HZ = 80_000.0
UPPER_BANDWIDTH = (250.0, 0.06)
#: Length of a tract filter's impulse response (a 60 Hz bandwidth has decayed by 70 dB).
FILTER_LENGTH_S = 0.045

#: Unvoiced consonants: noise band (Hz), duration range (s), RMS relative to the vowel, and
#: the aspiration (through the vowel's formants) that follows a plosive burst, s.
FRICATION = {
    "s": ((4500, 11000), (0.055, 0.085), 0.30, 0.0),
    "sh": ((2200, 7000), (0.055, 0.085), 0.28, 0.0),
    "f": ((1200, 12000), (0.045, 0.070), 0.08, 0.0),
    "t": ((3000, 9000), (0.006, 0.010), 0.50, 0.030),
    "k": ((1500, 4200), (0.010, 0.015), 0.45, 0.040),
    "p": ((400, 3000), (0.005, 0.008), 0.40, 0.025),
}
#: ``h``: aspiration alone (glottal noise through the vowel's formants), duration range, s.
ASPIRATE_S = (0.045, 0.075)
ASPIRATION_LEVEL = 0.12
#: Syllable onsets and how often each is drawn (``""``: the vowel starts the note).
ONSETS = ("", "s", "sh", "f", "h", "t", "k", "p", "m", "n", "l")
ONSET_WEIGHTS = (0.18, 0.12, 0.06, 0.06, 0.08, 0.10, 0.08, 0.06, 0.09, 0.09, 0.08)
#: Shortest gap before a note (after the previous note's end) that leaves room for a consonant.
MIN_CONSONANT_GAP_S = 0.03


@dataclass(frozen=True)
class Syllable:
    """What is sung on one note: onset consonant (``""`` for none) and vowel(s)."""

    onset: str
    vowel: str
    glide_to: str | None = None


def draw_syllable(rng: np.random.Generator, duration_s: float) -> Syllable:
    """A random syllable; notes of 0.4 s or more glide to a second vowel one time in four."""
    onset = ONSETS[int(rng.choice(len(ONSETS), p=ONSET_WEIGHTS))]
    if duration_s >= 0.4 and rng.random() < 0.25:
        first, second = DIPHTHONGS[int(rng.integers(len(DIPHTHONGS)))]
        return Syllable(onset, first, second)
    return Syllable(onset, str(rng.choice(list(VOWELS))))


def tract_gain(
    formants: tuple[tuple[float, float], ...], freqs: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """Magnitude response of the vocal tract at ``freqs`` (Hz).

    A product of unit-DC-gain two-pole resonances ``F^2 / |F^2 - f^2 + j f B|``: the
    phoneme's five formants, then a uniform tube's resonances every
    :data:`TUBE_SPACING_HZ` above F5 up to :data:`TUBE_TOP_HZ` (bandwidths growing with
    frequency, :data:`UPPER_BANDWIDTH`), then in closed form the infinitely many beyond:
    ``prod 1 / (1 - f^2 / F^2) ~ exp(f^2 / (spacing * top))``. Without the resonances above F5
    the spectrum would fall 12 dB/octave per formant above F5; with them it stays level on
    average, as a tube's does.

    Parameters
    ----------
    formants : tuple of (frequency Hz, bandwidth Hz)
        The phoneme's formants, lowest first.
    freqs : numpy.ndarray
        Frequencies in Hz.
    scale : float
        Formant frequency factor of the singer (1: the tables' voice).

    Returns
    -------
    numpy.ndarray
        Linear gain per frequency, 1 at 0 Hz.
    """
    spacing = TUBE_SPACING_HZ * scale
    upper = np.arange(formants[-1][0] * scale + spacing, TUBE_TOP_HZ, spacing)
    freq = np.concatenate([[f * scale for f, _ in formants], upper])[:, None]
    bandwidth = np.concatenate(
        [[b for _, b in formants], UPPER_BANDWIDTH[0] + UPPER_BANDWIDTH[1] * upper]
    )
    f2 = freqs**2
    resonances = freq**2 / np.hypot(freq**2 - f2, freqs * bandwidth[:, None])
    return np.exp(f2 / (spacing * upper[-1])) * np.prod(resonances, axis=0)


def tract_filter(
    formants: tuple[tuple[float, float], ...], sample_rate: int, scale: float = 1.0
) -> np.ndarray:
    """Minimum-phase FIR filter (:data:`FILTER_LENGTH_S` long) with :func:`tract_gain`.

    Made by the real-cepstrum method: the log magnitude's cepstrum, folded onto positive
    quefrencies, is the cepstrum of the minimum-phase filter with that magnitude. Minimum
    phase, as a tract's resonances are: no sound before the excitation.
    """
    length = round(FILTER_LENGTH_S * sample_rate)
    n_fft = 1 << (2 * length - 1).bit_length()
    log_gain = np.log(tract_gain(formants, np.fft.rfftfreq(n_fft, 1 / sample_rate), scale))
    cepstrum = np.fft.irfft(log_gain, n_fft)
    fold = np.zeros(n_fft)
    fold[0], fold[1 : n_fft // 2], fold[n_fft // 2] = 1.0, 2.0, 1.0
    response = np.fft.irfft(np.exp(np.fft.rfft(cepstrum * fold)), n_fft)[:length]
    taper = length // 4
    response[-taper:] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(taper) / taper)
    return response


def frication(kind: str, n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Noise of an unvoiced consonant's frication or burst, ``n`` samples, RMS 1.

    Band-passed white noise with a rise-and-fall envelope (fricatives) or a sharp attack and
    exponential decay (plosive bursts).
    """
    from scipy import signal  # lazy: keeps `stemline` start-up free of scipy

    band, _, _, aspiration_s = FRICATION[kind]
    high = min(band[1], 0.45 * sample_rate)
    sos = signal.butter(2, (band[0], high), btype="bandpass", fs=sample_rate, output="sos")
    noise = signal.sosfilt(sos, rng.standard_normal(n + 256))[256:]
    t = np.arange(n) / max(n - 1, 1)
    if aspiration_s > 0:
        noise *= np.exp(-4.0 * t) * np.minimum(1.0, 6.0 * t + 0.2)
    else:
        noise *= np.sin(np.pi * t) ** 0.6
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def consonant_lengths(kind: str, rng: np.random.Generator, sample_rate: int) -> tuple[int, int]:
    """Drawn lengths in samples of an unvoiced consonant's noise and of the aspiration after it
    (``h`` is aspiration alone; fricatives have none)."""
    if kind == "h":
        return 0, round(rng.uniform(*ASPIRATE_S) * sample_rate)
    _, (low, high), _, aspiration_s = FRICATION[kind]
    return round(rng.uniform(low, high) * sample_rate), round(aspiration_s * sample_rate)
