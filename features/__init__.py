"""Per-stem MIR features with essentia on one shared frame grid.

``extract_stem_features(audio, sample_rate, stem)`` returns a :class:`StemFeatures`
with five polars tables: ``pitch`` (f0 Hz, voicing, confidence, level per frame),
``onsets`` (time s, strength), ``chroma`` (12-bin HPCP per frame), ``notes`` (onset s,
offset s, MIDI pitch, mean f0, velocity proxy) and a one-row ``summary``.
``extract_track_features(stems, sample_rate)`` runs a track's stems in parallel
processes. Grid: 44.1 kHz, hop 441 (100 frames/s), times at frame centres
(:mod:`features.grid`). Per-stem algorithm choices: :mod:`features.settings`; measured
accuracy and speed: ``features/README.md``. This package never imports Dagster.

Importing the package changes nothing in the process and loads no essentia: each name below is
imported from its module on first use. Programs that want essentia's INFO start-up line gone
call :func:`features.worker.quiet_essentia_log` first (``stemline`` and the Dagster definitions
do; feature worker processes do it in :func:`features.worker.init_worker`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from features.chroma import PITCH_CLASS_NAMES, validate_chroma
    from features.grid import ANALYSIS_SAMPLE_RATE, HOP_SIZE, FrameGrid
    from features.notes import validate_notes
    from features.onsets import validate_onsets
    from features.parallel import extract_track_features, feature_process_pool
    from features.pitch import validate_pitch
    from features.result import StemFeatures
    from features.settings import DEFAULT_PROFILES, FeatureSettings, StemProfile
    from features.stem import extract_stem_features
    from features.summary import validate_summary
    from features.validation import FeatureValidationError

#: Public name -> the module that defines it.
_EXPORTS = {
    "ANALYSIS_SAMPLE_RATE": "features.grid",
    "DEFAULT_PROFILES": "features.settings",
    "HOP_SIZE": "features.grid",
    "PITCH_CLASS_NAMES": "features.chroma",
    "FeatureSettings": "features.settings",
    "FeatureValidationError": "features.validation",
    "FrameGrid": "features.grid",
    "StemFeatures": "features.result",
    "StemProfile": "features.settings",
    "extract_stem_features": "features.stem",
    "extract_track_features": "features.parallel",
    "feature_process_pool": "features.parallel",
    "validate_chroma": "features.chroma",
    "validate_notes": "features.notes",
    "validate_onsets": "features.onsets",
    "validate_pitch": "features.pitch",
    "validate_summary": "features.summary",
}

__all__ = [
    "ANALYSIS_SAMPLE_RATE",
    "DEFAULT_PROFILES",
    "HOP_SIZE",
    "PITCH_CLASS_NAMES",
    "FeatureSettings",
    "FeatureValidationError",
    "FrameGrid",
    "StemFeatures",
    "StemProfile",
    "extract_stem_features",
    "extract_track_features",
    "feature_process_pool",
    "validate_chroma",
    "validate_notes",
    "validate_onsets",
    "validate_pitch",
    "validate_summary",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'features' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
