"""All features of one stem: :func:`extract_stem_features`, which returns a
:class:`~features.result.StemFeatures`.

The tables (``pitch``, ``onsets``, ``chroma``, ``notes``, ``summary``) and their units
are documented in the modules of the same names; all frame tables use the grid of
:mod:`features.grid`. The stem name picks the analysis profile
(:mod:`features.settings`), whose ``note_method`` says where the notes come from: the stem's
own pitch track (:mod:`features.notes`), the basic-pitch model
(:mod:`features.basic_pitch_notes`) or nowhere.
"""

from __future__ import annotations

import numpy as np

from dbfs import to_dbfs
from features.basic_pitch_notes import basic_pitch_notes
from features.chroma import (
    chroma_frames,
    chroma_matrix,
    empty_chroma,
    estimate_key,
    mean_chroma_by_pitch_class,
)
from features.grid import FrameGrid, analysis_signal
from features.level import active_level_dbfs, frame_rms_dbfs
from features.loudness import integrated_loudness
from features.notes import empty_notes, segment_notes
from features.onsets import detect_onsets, empty_onsets
from features.pitch import (
    empty_pitch_frames,
    estimate_pitch,
    hz_to_midi,
    pitch_frames,
)
from features.result import StemFeatures
from features.settings import FeatureSettings
from features.summary import summary_row

MIN_LOUDNESS_S = 0.4


def _integrated_lufs(audio: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness of the stem's first two channels (a mono stem counts as both)."""
    stereo = audio if audio.ndim == 2 else audio[:, None]
    stereo = np.repeat(stereo, 2, axis=1) if stereo.shape[1] == 1 else stereo[:, :2]
    if stereo.shape[0] < MIN_LOUDNESS_S * sample_rate:
        return None
    integrated = integrated_loudness(stereo, sample_rate)
    return float(integrated) if np.isfinite(integrated) else None


def extract_stem_features(
    audio: np.ndarray, sample_rate: int, stem: str, settings: FeatureSettings | None = None
) -> StemFeatures:
    """Compute pitch, onsets, chroma, notes and the summary of one stem.

    Parameters
    ----------
    audio : numpy.ndarray
        ``(n_samples,)`` or ``(n_samples, channels)`` float audio, full scale 1.0.
    sample_rate : int
        Rate of ``audio`` in Hz (resampled to 44.1 kHz for analysis).
    stem : str
        Stem name (``vocals``, ``bass``, ``drums``, ``other``, ``accompaniment``, ...);
        chooses the analysis profile.
    settings : FeatureSettings, optional
        Defaults to ``FeatureSettings()``.

    Returns
    -------
    StemFeatures
        Validated feature tables.

    Examples
    --------
    >>> t = np.arange(44100) / 44100
    >>> feats = extract_stem_features(0.5 * np.sin(2 * np.pi * 440 * t), 44100, "vocals")
    >>> round(float(feats.summary["pitch_median_hz"][0]))
    440
    """
    settings = settings or FeatureSettings()
    profile = settings.profile(stem)
    signal = analysis_signal(audio, sample_rate)
    grid = FrameGrid.for_samples(signal.size)
    rms = frame_rms_dbfs(signal, grid)
    active = rms > settings.silence_dbfs
    active_ratio = float(active.mean())
    silent = active_ratio < settings.min_active_ratio
    duration_s = signal.size / grid.sample_rate
    mean_power = float(np.mean(signal.astype(np.float64) ** 2))
    base = {
        "stem": stem,
        "duration_s": duration_s,
        "is_silent": silent,
        "rms_dbfs": float(to_dbfs(np.sqrt(mean_power))),
        "peak_dbfs": float(to_dbfs(np.max(np.abs(signal)))),
        "active_ratio": active_ratio,
        "pitch_method": profile.pitch_method,
        "onset_methods": "+".join(profile.onset_methods),
    }
    if silent:
        summary = summary_row(
            {
                **base,
                "integrated_lufs": None,
                "voiced_ratio": 0.0,
                "pitch_p05_midi": None,
                "pitch_median_midi": None,
                "pitch_p95_midi": None,
                "pitch_median_hz": None,
                "n_onsets": 0,
                "onset_rate_hz": 0.0,
                "n_notes": 0,
                "key": None,
                "mode": None,
                "key_strength": 0.0,
                "mean_chroma": None,
            }
        )
        features = StemFeatures(
            stem, grid, empty_pitch_frames(), empty_onsets(), empty_chroma(), empty_notes(), summary
        )
        features.validate()
        return features

    level = active_level_dbfs(rms, active)
    f0, voiced, confidence = estimate_pitch(signal, grid, profile, rms, active, level)
    onsets = detect_onsets(signal, grid, profile)
    chroma = chroma_matrix(signal, grid, active, settings.chroma_frame_size, settings.tuning_hz)
    key, mode, key_strength = estimate_key(chroma, active, settings.key_profile)
    if profile.note_method == "pitch_track":
        split_frames = onsets["frame"].to_numpy() if profile.note_split_at_onsets else None
        notes = segment_notes(
            grid, f0, voiced, rms, profile, split_frames, settings.tuning_hz, confidence
        )
    elif profile.note_method == "basic_pitch":
        notes = basic_pitch_notes(
            signal,
            grid,
            rms,
            level,
            profile,
            settings.silence_dbfs,
            threads=settings.basic_pitch_threads,
        )
    else:
        notes = empty_notes()
    voiced_midi = hz_to_midi(f0[voiced], settings.tuning_hz)
    has_pitch = voiced_midi.size > 0
    summary = summary_row(
        {
            **base,
            "integrated_lufs": _integrated_lufs(np.asarray(audio), sample_rate),
            "voiced_ratio": float(voiced.mean()),
            "pitch_p05_midi": float(np.percentile(voiced_midi, 5)) if has_pitch else None,
            "pitch_median_midi": float(np.median(voiced_midi)) if has_pitch else None,
            "pitch_p95_midi": float(np.percentile(voiced_midi, 95)) if has_pitch else None,
            "pitch_median_hz": float(np.median(f0[voiced])) if has_pitch else None,
            "n_onsets": onsets.height,
            "onset_rate_hz": onsets.height / duration_s,
            "n_notes": notes.height,
            "key": key,
            "mode": mode,
            "key_strength": float(np.clip(key_strength, 0.0, 1.0)),
            "mean_chroma": mean_chroma_by_pitch_class(chroma),
        }
    )
    features = StemFeatures(
        stem,
        grid,
        pitch_frames(grid, f0, voiced, confidence, rms),
        onsets,
        chroma_frames(grid, chroma),
        notes,
        summary,
    )
    features.validate()
    return features
