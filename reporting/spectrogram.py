"""Log-frequency power spectrogram on a MIDI-pitch axis, for previews.

Convention: rows are bands centred on MIDI pitches ``midi_min + k / bands_per_semitone``
(A4 = 69 = 440 Hz), so f0 contours and notes draw on the same axis without conversion;
columns are frames centred on ``times_s`` (seconds, first frame at 0, zero-padded edges).
A band's power is the mean power of the STFT bins inside it, or the linear interpolation
of the two nearest bins where the band is narrower than one bin (low pitches).

The STFT uses a Hann window of about 93 ms (4096 samples at 44.1 kHz) and a hop chosen
so that a preview has at most ``n_columns`` frames, i.e. one frame per pixel column.
This is a picture, not an analysis: with long signals the hop exceeds the window and
frames are samples of the signal, not a covering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_COLUMNS = 900
WINDOW_SECONDS = 0.093
MIN_HOP = 32
MIDI_MIN = 24.0  # C1, 32.7 Hz
MIDI_MAX = 127.0  # G9, 12.5 kHz
BANDS_PER_SEMITONE = 3
FLOOR_DB = -80.0


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray:
    """Frequency in Hz of MIDI pitches (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def hz_to_midi(hz: np.ndarray | float) -> np.ndarray:
    """MIDI pitch (float) of frequencies in Hz; non-positive frequencies give NaN."""
    hz = np.asarray(hz, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(hz > 0, 69.0 + 12.0 * np.log2(hz / 440.0), np.nan)


@dataclass(frozen=True)
class LogSpectrogram:
    """Band power of a mono signal.

    Attributes
    ----------
    times_s : numpy.ndarray
        ``(n_frames,)`` frame centres, seconds.
    midi : numpy.ndarray
        ``(n_bands,)`` band centres, MIDI pitch.
    power : numpy.ndarray
        ``(n_bands, n_frames)`` mean band power, linear (bin power normalised by the
        squared window sum, so a full-scale sine peaks near 0.25; only ratios matter).
    duration_s : float
        Length of the analysed signal, seconds.
    """

    times_s: np.ndarray
    midi: np.ndarray
    power: np.ndarray
    duration_s: float

    @property
    def freqs_hz(self) -> np.ndarray:
        """Band centres in Hz."""
        return midi_to_hz(self.midi)

    @property
    def band_width_semitones(self) -> float:
        """Spacing of the band centres, semitones."""
        return float(self.midi[1] - self.midi[0]) if self.midi.size > 1 else 1.0

    def db(self, reference: float | None = None, floor_db: float = FLOOR_DB) -> np.ndarray:
        """Power in dB relative to ``reference`` (default: this spectrogram's maximum).

        Values are clipped to ``[floor_db, +inf)``; an all-zero signal is all ``floor_db``.
        """
        ref = float(self.power.max()) if reference is None else float(reference)
        if ref <= 0:
            return np.full(self.power.shape, floor_db, dtype=np.float32)
        with np.errstate(divide="ignore"):
            db = 10.0 * np.log10(self.power / ref)
        return np.maximum(db, floor_db).astype(np.float32)


def band_power(
    spectrum: np.ndarray, bin_hz: np.ndarray, midi: np.ndarray, bands_per_semitone: float
) -> np.ndarray:
    """Average STFT bin power ``(n_frames, n_bins)`` into pitch bands ``(n_bands, n_frames)``.

    A band spans ``midi +- 0.5 / bands_per_semitone``; its power is the mean of the bins
    inside it (prefix sums in float64, so quiet bands keep their precision), or the linear
    interpolation of the two bins around its centre where it holds no bin.
    """
    half = 0.5 / bands_per_semitone
    lo = np.searchsorted(bin_hz, midi_to_hz(midi - half), side="left")
    hi = np.searchsorted(bin_hz, midi_to_hz(midi + half), side="left")
    prefix = np.zeros((spectrum.shape[0], spectrum.shape[1] + 1), dtype=np.float64)
    np.cumsum(spectrum, axis=1, dtype=np.float64, out=prefix[:, 1:])
    counts = hi - lo
    power = (prefix[:, hi] - prefix[:, lo]) / np.maximum(counts, 1)
    empty = counts == 0
    if empty.any():
        position = midi_to_hz(midi[empty]) / (bin_hz[1] - bin_hz[0])
        left = np.clip(np.floor(position).astype(int), 0, bin_hz.size - 2)
        frac = np.clip(position - left, 0.0, 1.0)
        power[:, empty] = spectrum[:, left] * (1.0 - frac) + spectrum[:, left + 1] * frac
    return np.maximum(power, 0.0).T


def _window_size(sample_rate: int) -> int:
    return int(2 ** np.round(np.log2(WINDOW_SECONDS * sample_rate)))


def log_spectrogram(
    audio: np.ndarray,
    sample_rate: int,
    *,
    n_columns: int = DEFAULT_COLUMNS,
    bands_per_semitone: int = BANDS_PER_SEMITONE,
    midi_min: float = MIDI_MIN,
    midi_max: float = MIDI_MAX,
) -> LogSpectrogram:
    """Log-frequency band power of ``audio`` with at most ``n_columns`` frames.

    Parameters
    ----------
    audio : numpy.ndarray
        ``(n,)`` or ``(n, channels)`` float audio (channels are averaged).
    sample_rate : int
        Hz.
    n_columns : int, optional
        Maximum number of frames (one per pixel column of the plot).
    bands_per_semitone : int, optional
        Pitch resolution of the rows.
    midi_min, midi_max : float, optional
        Pitch range of the rows; the top is cut at the Nyquist frequency.

    Returns
    -------
    LogSpectrogram

    Examples
    --------
    >>> t = np.arange(44100) / 44100
    >>> spec = log_spectrogram(np.sin(2 * np.pi * 440 * t), 44100)
    >>> round(float(spec.midi[spec.power.mean(axis=1).argmax()]))
    69
    """
    signal = np.asarray(audio, dtype=np.float32)
    if signal.ndim == 2:
        signal = signal.mean(axis=1)
    if signal.ndim != 1:
        raise ValueError(f"audio must be (n,) or (n, channels), got shape {audio.shape}")
    if sample_rate <= 0 or n_columns < 1:
        raise ValueError("sample_rate and n_columns must be positive")
    signal = np.nan_to_num(signal)
    n_fft = _window_size(sample_rate)
    hop = max(MIN_HOP, int(np.ceil(signal.size / max(1, n_columns - 1))))
    n_frames = signal.size // hop + 1
    padded = np.pad(signal, (n_fft // 2, n_fft // 2 + hop))
    starts = np.arange(n_frames) * hop
    window = np.hanning(n_fft).astype(np.float32)
    frames = padded[starts[:, None] + np.arange(n_fft)[None, :]] * window
    spectrum = np.fft.rfft(frames, axis=1)
    spectrum = (spectrum.real**2 + spectrum.imag**2) / np.float32(window.sum() ** 2)
    top = min(midi_max, float(hz_to_midi(sample_rate / 2.0)) - 0.5)
    midi = midi_min + np.arange(int(np.floor((top - midi_min) * bands_per_semitone)) + 1) / (
        bands_per_semitone
    )
    bin_hz = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    power = band_power(spectrum, bin_hz, midi, bands_per_semitone)
    return LogSpectrogram(
        times_s=starts / sample_rate,
        midi=midi,
        power=power.astype(np.float32),
        duration_s=signal.size / sample_rate,
    )
