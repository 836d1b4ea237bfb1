"""Per-stem MIR features with essentia on one shared frame grid.

``extract_stem_features(audio, sample_rate, stem)`` returns a :class:`StemFeatures`
with five polars tables: ``pitch`` (f0 Hz, voicing, confidence, level per frame),
``onsets`` (time s, strength), ``chroma`` (12-bin HPCP per frame), ``notes`` (onset s,
offset s, MIDI pitch, mean f0, velocity proxy) and a one-row ``summary``.
``extract_track_features(stems, sample_rate)`` runs a track's stems in parallel
processes. Grid: 44.1 kHz, hop 441 (100 frames/s), times at frame centres
(:mod:`features.grid`). Per-stem algorithm choices: :mod:`features.settings`; measured
accuracy and speed: ``features/README.md``. This package never imports Dagster.
"""

import essentia

# essentia announces its (unused) music-extractor classifier set-up at INFO level on import;
# keep the console for stemline's own messages. Warnings and errors still print.
essentia.log.infoActive = False

from features.chroma import CHROMA_PITCH_CLASSES, validate_chroma  # noqa: E402
from features.grid import ANALYSIS_SAMPLE_RATE, HOP_SIZE, FrameGrid  # noqa: E402
from features.notes import validate_notes  # noqa: E402
from features.onsets import validate_onsets  # noqa: E402
from features.parallel import extract_track_features, feature_process_pool  # noqa: E402
from features.pitch import validate_pitch  # noqa: E402
from features.settings import DEFAULT_PROFILES, FeatureSettings, StemProfile  # noqa: E402
from features.stem import StemFeatures, extract_stem_features  # noqa: E402
from features.summary import validate_summary  # noqa: E402
from features.validation import FeatureValidationError  # noqa: E402

__all__ = [
    "ANALYSIS_SAMPLE_RATE",
    "CHROMA_PITCH_CLASSES",
    "DEFAULT_PROFILES",
    "HOP_SIZE",
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
