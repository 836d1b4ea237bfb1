"""Note boundaries of a monophonic pitch contour: where notes start and end, frame by frame.

The segmentation behind :func:`features.notes.segment_notes` (``method = "pitch_track"``):

1. **Runs.** Voiced runs of the pitch track, after bridging unvoiced gaps of at most
   ``max_gap_frames`` (a dropout of the tracker inside a sung note; the pitch across the gap
   is interpolated).
2. **Pitch changes.** A new note starts where the pitch stays more than ``split_semitones``
   from the running note's median for :data:`SPLIT_PERSISTENCE_FRAMES` frames (vibrato and
   drift within that stay one note); the boundary is then moved back to where the glide
   towards the new pitch began (:func:`glide_start`): a slurred note starts with its
   portamento, not where the portamento has crossed the threshold.
3. **Transitions.** Pieces shorter than the minimum note length are transitions, not notes:
   a piece that opens a run, or that moves towards the next note's pitch, is the attack of that
   note (a scoop or portamento: the note starts with it); otherwise it is the end of the note
   before (a fall, or the tail of a note after a dropout). A note's pitch comes from its
   *core*, its longest piece, not from its glide.
4. **Attacks.** With the tracker's confidence, a note starts after the last frame of its attack
   whose confidence is below ``attack_ratio`` times the core's median confidence: an unvoiced
   consonant, a breath or the previous note's tail, to which the tracker still gave a pitch.
   The ratio is relative so that it holds on separated stems, whose confidence is lower overall.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

import numpy as np

#: Frames beyond the split threshold that start a new note (30 ms).
SPLIT_PERSISTENCE_FRAMES = 3

#: A note as ``(first frame, end frame, core first, core end)``, end exclusive.
Span = tuple[int, int, int, int]


@dataclass(frozen=True)
class ContourRules:
    """Parameters of the segmentation (the module doc's steps).

    Attributes
    ----------
    split_semitones : float
        Pitch change from the running note's median that starts a new note (step 2).
    min_frames : int
        Shortest note; shorter pieces are transitions (step 3).
    max_glide_frames : int
        Longest glide a new note's onset is moved back over (step 2; 0: none, for plucked
        notes, whose pitch changes at once and whose tracker transition straddles the onset).
    attack_ratio : float
        Share of the core's median confidence an attack frame needs (step 4; 0: no trimming).
    max_gap_frames : int
        Longest unvoiced gap inside a run that is bridged (step 1; 0: none).
    """

    split_semitones: float
    min_frames: int
    max_glide_frames: int = 0
    attack_ratio: float = 0.0
    max_gap_frames: int = 0


def split_on_pitch(midi: np.ndarray, split_semitones: float) -> list[int]:
    """Relative indices where a new note starts inside one voiced run (0 first).

    A note starts at frame ``k`` when :data:`SPLIT_PERSISTENCE_FRAMES` frames from ``k`` on
    are all more than ``split_semitones`` from the median of the current note so far (kept on
    a sorted list of the note's values).
    """
    values = midi.tolist()
    starts = [0]
    note = [values[0]] if values else []
    k = 1
    while k < len(values):
        n = len(note)
        median = note[n // 2] if n % 2 else (note[n // 2 - 1] + note[n // 2]) / 2
        ahead = values[k : k + SPLIT_PERSISTENCE_FRAMES]
        if len(ahead) == SPLIT_PERSISTENCE_FRAMES and all(
            abs(v - median) > split_semitones for v in ahead
        ):
            starts.append(k)
            note = sorted(ahead)
            k += SPLIT_PERSISTENCE_FRAMES
        else:
            bisect.insort(note, values[k])
            k += 1
    return starts


def glide_start(midi: np.ndarray, start: int, split: int, max_frames: int) -> int:
    """The frame where the glide that crossed into a new note at ``split`` began.

    Walks back from ``split`` while the pitch keeps moving towards the new note, at most
    ``max_frames`` frames and never onto a frame on the far side of the previous
    note's median (``start:split``), so that note keeps its own vibrato swings.
    """
    median = float(np.median(midi[start:split]))
    direction = np.sign(midi[split] - median)
    j = split
    while (
        j - 1 > start
        and split - (j - 1) <= max_frames
        and (midi[j] - midi[j - 1]) * direction > 0
        and (midi[j - 1] - median) * direction > 0
    ):
        j -= 1
    return j


def _leads_on(midi: np.ndarray, piece: tuple[int, int], after: tuple[int, int] | None) -> bool:
    """Whether the short ``piece`` ends nearer the pitch of the piece ``after`` it than it
    starts (a glide into that note) rather than moving away from it."""
    if after is None:
        return False
    a, b = piece
    target = float(np.median(midi[after[0] : after[1]]))
    return abs(target - midi[b - 1]) < abs(target - midi[a])


def note_spans(midi: np.ndarray, rules: ContourRules) -> list[Span]:
    """Notes of one run of pitched frames (steps 2 and 3 of the module doc), as spans relative
    to the run."""
    n, min_frames = midi.size, rules.min_frames
    starts = [0]
    for k in split_on_pitch(midi, rules.split_semitones)[1:]:
        begin = glide_start(midi, starts[-1], k, rules.max_glide_frames)
        starts.append(max(begin, starts[-1] + 1))
    pieces = list(itertools.pairwise([*starts, n]))
    spans: list[list[int]] = []
    pending: int | None = None  # first frame of the transition into the next long piece
    for i, (a, b) in enumerate(pieces):
        if b - a >= min_frames:
            spans.append([a if pending is None else pending, b, a, b])
            pending = None
        elif pending is not None or not spans or _leads_on(midi, (a, b), _next(pieces, i)):
            pending = a if pending is None else pending
        else:
            spans[-1][1] = b
    if pending is not None:
        if spans:
            spans[-1][1] = n
        elif n >= min_frames:
            a, b = max(pieces, key=lambda piece: piece[1] - piece[0])
            spans.append([0, n, a, b])
    return [(a, b, ca, cb) for a, b, ca, cb in spans]


def _next(pieces: list[tuple[int, int]], i: int) -> tuple[int, int] | None:
    return pieces[i + 1] if i + 1 < len(pieces) else None


def bridge_gaps(voiced: np.ndarray, max_frames: int) -> np.ndarray:
    """``voiced`` with unvoiced gaps of at most ``max_frames`` frames between voiced frames
    filled in."""
    out = voiced.astype(bool).copy()
    idx = np.flatnonzero(out)
    for a, b in itertools.pairwise(idx):
        if 1 < b - a <= max_frames + 1:
            out[a:b] = True
    return out


def contour_spans(
    midi: np.ndarray, voiced: np.ndarray, rules: ContourRules, confidence: np.ndarray | None = None
) -> list[Span]:
    """Notes of a whole pitch track (every cue of the module doc) as absolute frame spans.

    Parameters
    ----------
    midi : numpy.ndarray
        Pitch per frame in MIDI (any value on unvoiced frames).
    voiced : numpy.ndarray
        Voicing per frame.
    rules : ContourRules
        The segmentation's parameters.
    confidence : numpy.ndarray, optional
        The tracker's confidence per frame; when given (and ``rules.attack_ratio > 0``), each
        note's attack is trimmed of its low-confidence frames (step 4).
    """
    bridged = bridge_gaps(voiced, rules.max_gap_frames)
    frames = np.arange(midi.size)
    known = np.flatnonzero(voiced)
    filled = np.interp(frames, known, midi[known]) if known.size else midi
    edges = np.diff(np.concatenate([[0], bridged.astype(np.int8), [0]]))
    spans: list[Span] = []
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        spans += [
            (start + s, start + e, start + cs, start + ce)
            for s, e, cs, ce in note_spans(filled[start:stop], rules)
        ]
    if confidence is not None and rules.attack_ratio > 0:
        spans = [
            _trim_attack(span, confidence, rules.attack_ratio, rules.min_frames) for span in spans
        ]
    return spans


def _trim_attack(span: Span, confidence: np.ndarray, ratio: float, attack: int) -> Span:
    """Start the note after the last frame of its attack (its frames before the core, and the
    core's first ``attack`` frames) whose confidence is below ``ratio`` times the median
    confidence of the core: frames of a consonant's noise or a breath, to which the tracker
    gave a pitch, or the tail of the note before."""
    a, b, core_a, core_b = span
    floor = ratio * float(np.median(confidence[core_a:core_b]))
    end = min(core_a + attack, b - 1)
    low = np.flatnonzero(confidence[a:end] < floor)
    return (a + int(low[-1]) + 1, b, core_a, core_b) if low.size else span
