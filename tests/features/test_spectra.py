"""Vectorised spectra, onset functions and chroma against essentia's per-frame algorithms.

The reference is the per-frame essentia loop each feature used before (``FrameGenerator`` ->
``Windowing`` -> ``FFT``/``Spectrum`` -> the algorithm), on seeded synthetic audio.
"""

from __future__ import annotations

import essentia.standard as es
import numpy as np
import pytest

from features.chroma import CHROMA_BINS, HPCP_FIRST_PITCH_CLASS, HPCP_HARMONICS, chroma_matrix
from features.grid import FrameGrid
from features.hpcp import _strongest, peak_bins, spectral_peaks
from features.onsets import ONSET_FRAME_SIZE, ONSET_HOP_SIZE, detection_functions
from features.settings import ONSET_METHODS
from features.spectra import frame_count, stft
from tests.features.synthetic_signals import SR, harmonic_tone


@pytest.fixture(scope="module")
def music():
    """3 s: a chord with onsets, noise bursts and a silent stretch (seeded)."""
    rng = np.random.default_rng(11)
    x = 0.02 * rng.standard_normal(3 * SR)
    x[SR : SR + SR // 2] = 0.0
    for start, f0 in ((0.1, 196.0), (0.7, 261.6), (1.6, 329.6), (2.2, 440.0)):
        tone = harmonic_tone(f0, 0.7, amplitude=0.3)
        i = round(start * SR)
        x[i : i + tone.size] += tone[: x.size - i]
    return x.astype(np.float32)


def _essentia_frames(x, size, hop):
    return list(es.FrameGenerator(x, frameSize=size, hopSize=hop, startFromZero=False))


@pytest.mark.parametrize("n", [1, 511, 512, 513, 4096, 44100, 44101])
def test_frame_count_matches_essentia(n):
    x = np.ones(n, dtype=np.float32)
    for size, hop in ((1024, 512), (4096, 441)):
        assert frame_count(n, hop) == len(_essentia_frames(x, size, hop))


@pytest.mark.parametrize(
    ("size", "hop", "window"), [(1024, 512, "hann"), (4096, 441, "blackmanharris62")]
)
def test_stft_equals_essentia_per_frame(music, size, hop, window):
    magnitude, phase = stft(music, size, hop, window, phase=True)
    windowing, fft = es.Windowing(type=window, size=size), es.FFT(size=size)
    polar = es.CartesianToPolar()
    reference = [polar(fft(windowing(frame))) for frame in _essentia_frames(music, size, hop)]
    ref_mag = np.array([m for m, _ in reference])
    ref_phase = np.array([p for _, p in reference])
    assert magnitude.shape == ref_mag.shape
    np.testing.assert_allclose(magnitude, ref_mag, atol=1e-5 * ref_mag.max())
    strong = ref_mag > 1e-3 * ref_mag.max()  # the phase of a near-zero bin is noise
    wrapped = np.angle(np.exp(1j * (phase[strong] - ref_phase[strong])))
    assert np.max(np.abs(wrapped)) < 1e-3


def test_onset_functions_equal_essentia(music):
    ours = detection_functions(music, SR, ONSET_METHODS)
    windowing = es.Windowing(type="hann", size=ONSET_FRAME_SIZE)
    fft, polar = es.FFT(size=ONSET_FRAME_SIZE), es.CartesianToPolar()
    detectors = [es.OnsetDetection(method=m, sampleRate=SR) for m in ONSET_METHODS]
    reference = [[] for _ in ONSET_METHODS]
    for frame in _essentia_frames(music, ONSET_FRAME_SIZE, ONSET_HOP_SIZE):
        magnitude, phase = polar(fft(windowing(frame)))
        for row, detect in zip(reference, detectors, strict=True):
            row.append(detect(magnitude, phase))
    for method, got, expected in zip(ONSET_METHODS, ours, np.array(reference), strict=True):
        # The phase methods also read the phase of bins at float32 rounding level (next to the
        # digital silence), which no two FFTs agree on.
        tolerance = 2e-3 if method.startswith("complex") else 1e-4
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, atol=tolerance * scale, err_msg=method)


def test_chroma_equals_essentia(music):
    grid = FrameGrid.for_samples(music.size)
    active = np.ones(grid.n_frames, dtype=bool)
    active[150:170] = False  # inactive frames are zeros either way
    ours = chroma_matrix(music, grid, active)
    size = 4096
    windowing, spectrum = es.Windowing(type="blackmanharris62", size=size), es.Spectrum(size=size)
    peaks = es.SpectralPeaks(sampleRate=SR, maxPeaks=60, minFrequency=40.0, maxFrequency=5000.0,
                             magnitudeThreshold=1e-5, orderBy="magnitude")  # fmt: skip
    hpcp = es.HPCP(size=CHROMA_BINS, referenceFrequency=440.0, sampleRate=SR,
                   harmonics=HPCP_HARMONICS, minFrequency=40.0, maxFrequency=5000.0,
                   normalized="unitMax")  # fmt: skip
    rows = [hpcp(*peaks(spectrum(windowing(f)))) for f in _essentia_frames(music, size, 441)]
    reference = grid.fit(np.roll(np.array(rows, np.float32), HPCP_FIRST_PITCH_CLASS, axis=1))
    reference[~active] = 0.0
    assert ours.shape == reference.shape
    # Equal to float32 rounding, except where a spectral peak sits at the magnitude threshold.
    assert np.median(np.abs(ours - reference)) < 1e-6
    assert np.mean(np.abs(ours - reference) < 1e-4) > 0.99


def test_chroma_in_blocks_equals_chroma_at_once(music, monkeypatch):
    from features import chroma

    grid = FrameGrid.for_samples(music.size)
    active = np.ones(grid.n_frames, dtype=bool)
    active[100:200] = False  # whole blocks without an active frame
    at_once = chroma.chroma_matrix(music, grid, active)
    monkeypatch.setattr(chroma, "BLOCK_FRAMES", 50)
    np.testing.assert_array_equal(chroma.chroma_matrix(music, grid, active), at_once)
    assert not at_once[100:200].any() and at_once[:100].any()


def test_stft_lowest_bins_are_the_full_spectra_cut(music):
    full, full_phase = stft(music, 4096, 441, "blackmanharris62", phase=True)
    low, low_phase = stft(music, 4096, 441, "blackmanharris62", phase=True, n_bins=470)
    np.testing.assert_array_equal(low, full[:, :470])
    np.testing.assert_array_equal(low_phase, full_phase[:, :470])
    with pytest.raises(ValueError, match="n_bins"):
        stft(music, 4096, 441, "hann", n_bins=2050)


def test_spectral_peaks_of_the_lowest_bins_equal_the_full_spectra(music):
    spectra, _ = stft(music, 4096, 441, "blackmanharris62")
    args = (SR, 40.0, 5000.0, 1e-5, 60)
    full = spectral_peaks(spectra, *args)
    n_bins = spectra.shape[1]
    low = spectral_peaks(spectra[:, : peak_bins(n_bins, SR, 5000.0)], *args, n_bins)
    for a, b in zip(full, low, strict=True):
        np.testing.assert_array_equal(a, b)
    # Against essentia's SpectralPeaks, frame by frame (magnitude order, zeros after the last).
    peaks = es.SpectralPeaks(sampleRate=SR, maxPeaks=60, minFrequency=40.0, maxFrequency=5000.0,
                             magnitudeThreshold=1e-5, orderBy="magnitude")  # fmt: skip
    for row in range(0, spectra.shape[0], 7):
        frequency, magnitude = peaks(spectra[row])
        np.testing.assert_allclose(full[0][row, : frequency.size], frequency, rtol=1e-6)
        np.testing.assert_allclose(full[1][row, : magnitude.size], magnitude, rtol=1e-6)
        assert not full[1][row, magnitude.size :].any()


def test_strongest_is_a_stable_argsort_also_when_ties_straddle_the_cut():
    rng = np.random.default_rng(5)
    key = rng.integers(0, 6, size=(400, 40)).astype(np.float32)  # many ties at every cut
    key[::3, 25:] = np.inf  # rows with fewer candidates than the count
    for count in (1, 10, 30, 40, 45):
        expected = np.argsort(key, axis=1, kind="stable")[:, :count]
        np.testing.assert_array_equal(_strongest(key, count), expected)


def test_chroma_plateau_frames_come_from_essentia(music, monkeypatch):
    # Frames with a flat-topped peak are handed to essentia on their full spectrum.
    from features import chroma

    grid = FrameGrid.for_samples(music.size)
    active = np.ones(grid.n_frames, dtype=bool)
    vectorised = chroma_matrix(music, grid, active)

    def plateau_every_tenth(*args):
        frequency, magnitude, plateau = spectral_peaks(*args)
        return frequency, magnitude, plateau | (np.arange(plateau.size) % 10 == 3)

    monkeypatch.setattr(chroma, "spectral_peaks", plateau_every_tenth)
    monkeypatch.setattr(chroma, "BLOCK_FRAMES", 100)
    mixed = chroma_matrix(music, grid, active)
    assert np.median(np.abs(mixed - vectorised)) < 1e-6
    assert np.mean(np.abs(mixed - vectorised) < 1e-4) > 0.99
