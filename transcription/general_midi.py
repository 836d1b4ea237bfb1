"""How each stem sounds in a MIDI file: its General MIDI program, its channel, percussion or not.

One table for every stem name a Spleeter model writes (programs and channels 0-based, as MIDI
bytes carry them; add 1 for the numbers GM lists and sequencers show):

=================  =======  ==========================  =======  ==========================
stem               program  GM name                     channel  notes written from
=================  =======  ==========================  =======  ==========================
``vocals``         53       Voice Oohs                  0        the ``notes`` table
``accompaniment``  0        Acoustic Grand Piano        1        the ``notes`` table
``bass``           33       Electric Bass (finger)      2        the ``notes`` table
``other``          27       Electric Guitar (clean)     3        the ``notes`` table
``piano``          0        Acoustic Grand Piano        4        the ``notes`` table
``drums``          0        Standard Kit (percussion)   9        the ``onsets`` table, as GM
                                                                 percussion keys
                                                                 (:mod:`.drum_hits`)
any other name     0        Acoustic Grand Piano        lowest   the ``notes`` table
                                                        free
=================  =======  ==========================  =======  ==========================

Channel 9 (GM channel 10) is the percussion channel: only ``drums`` uses it, and its program
change 0 selects the standard kit on GS/GM2 players (GM1 players ignore it). Every stem has its
own channel, so the stems of one track (2, 4 or 5) can share one multi-track file
(:mod:`.multitrack`) and a stem keeps the same channel in its own file and in the multi-track
file. The programs are for listening; a transcription model reads the pitches and times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

#: The GM percussion channel (0-based; channel 10 as GM counts).
PERCUSSION_CHANNEL = 9
#: Program of a stem name not in :data:`STEM_VOICES` (Acoustic Grand Piano).
DEFAULT_PROGRAM = 0
MIDI_CHANNELS = 16


@dataclass(frozen=True)
class StemVoice:
    """The MIDI voice of a stem.

    Attributes
    ----------
    program : int
        General MIDI program, 0-based (0..127).
    channel : int
        MIDI channel, 0-based (0..15); :data:`PERCUSSION_CHANNEL` for percussion.
    percussion : bool
        Whether the stem is written as GM percussion hits rather than pitched notes.
    """

    program: int
    channel: int
    percussion: bool = False


#: The voices of the stem names Spleeter models write (see the module table).
STEM_VOICES = MappingProxyType(
    {
        "vocals": StemVoice(program=53, channel=0),
        "accompaniment": StemVoice(program=0, channel=1),
        "bass": StemVoice(program=33, channel=2),
        "other": StemVoice(program=27, channel=3),
        "piano": StemVoice(program=0, channel=4),
        "drums": StemVoice(program=0, channel=PERCUSSION_CHANNEL, percussion=True),
    }
)


def program_for_stem(stem: str) -> int:
    """General MIDI program (0-based) of a stem: :data:`STEM_VOICES`, else 0."""
    voice = STEM_VOICES.get(stem)
    return voice.program if voice else DEFAULT_PROGRAM


def is_percussion(stem: str) -> bool:
    """Whether a stem is written as GM percussion on channel 10 (only ``drums``)."""
    voice = STEM_VOICES.get(stem)
    return bool(voice and voice.percussion)


def stem_channels(stems: Sequence[str]) -> dict[str, int]:
    """The MIDI channel (0-based) of each stem of one track.

    Stems of :data:`STEM_VOICES` get their table channel; any other name gets the lowest
    channel no stem of ``stems`` holds, never the percussion channel, in the order given.

    Raises
    ------
    ValueError
        If a stem name repeats or more stems than melodic channels need one.

    Examples
    --------
    >>> stem_channels(["vocals", "drums", "bass", "other"])
    {'vocals': 0, 'drums': 9, 'bass': 2, 'other': 3}
    >>> stem_channels(["guitar"])
    {'guitar': 0}
    """
    if len(set(stems)) != len(stems):
        raise ValueError(f"stem names repeat: {list(stems)}")
    channels = {s: STEM_VOICES[s].channel for s in stems if s in STEM_VOICES}
    free = [
        c
        for c in range(MIDI_CHANNELS)
        if c != PERCUSSION_CHANNEL and c not in set(channels.values())
    ]
    unknown = [s for s in stems if s not in STEM_VOICES]
    if len(unknown) > len(free):
        raise ValueError(f"{len(stems)} stems need more than {MIDI_CHANNELS} MIDI channels")
    channels.update(zip(unknown, free, strict=False))
    return {s: channels[s] for s in stems}
