"""Chunk geometry that makes chunked separation equal whole-file separation.

Spleeter pads the waveform with ``frame_length`` zeros in front, frames it with hop
``frame_step`` (``pad_end``), zero-pads the frames to a multiple of the segment length ``T`` and
runs the U-Net on non-overlapping segments. A chunk of ``K`` whole segments therefore sees
exactly the frames, and the masks, that whole-file processing gives those segments. It needs
``frame_length`` samples of left context per chunk, and its inverse STFT overlaps the next
chunk by ``frame_length - frame_step`` samples, which are carried over and added. With
``overlap`` a second segment grid shifted by ``T/2`` frames is evaluated as well; it needs
``T/2`` frames of context on both sides of the chunk.

All positions here are in samples at the model rate. "Padded" coordinates count from the
start of the zero front pad, so padded sample ``p`` is input sample ``p - frame_length``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChunkPlan:
    """How a signal of ``n_samples`` is cut into model chunks.

    Parameters
    ----------
    n_samples : int
        Input length at the model rate.
    frame_length, frame_step : int
        STFT window and hop.
    segment_frames : int
        Frames per U-Net segment (``T``).
    chunk_segments : int
        Segments per chunk (``K``); memory grows with it, results do not change.
    overlap : bool
        Evaluate a second segment grid shifted by half a segment.
    """

    n_samples: int
    frame_length: int = 4096
    frame_step: int = 1024
    segment_frames: int = 512
    chunk_segments: int = 2
    overlap: bool = False

    @property
    def n_frames(self) -> int:
        """STFT frames of the padded signal (Spleeter's ``pad_end`` framing)."""
        return math.ceil((self.n_samples + self.frame_length) / self.frame_step)

    @property
    def chunk_frames(self) -> int:
        """Frames whose output one chunk produces (``K * T``)."""
        return self.chunk_segments * self.segment_frames

    @property
    def context_frames(self) -> int:
        """Extra frames on each side of a chunk (half a segment with ``overlap``)."""
        return self.segment_frames // 2 if self.overlap else 0

    @property
    def n_chunks(self) -> int:
        """Chunks needed to cover every frame."""
        return math.ceil(self.n_frames / self.chunk_frames)

    @property
    def input_length(self) -> int:
        """Samples one chunk's STFT reads: its frames plus context, fully overlapped."""
        frames = self.chunk_frames + 2 * self.context_frames
        return (frames - 1) * self.frame_step + self.frame_length

    @property
    def output_length(self) -> int:
        """Samples one chunk's inverse STFT produces (its central frames only)."""
        return (self.chunk_frames - 1) * self.frame_step + self.frame_length

    @property
    def carry_length(self) -> int:
        """Samples of one chunk's output that overlap the next chunk's output."""
        return self.frame_length - self.frame_step

    def input_start(self, chunk: int) -> int:
        """Input-sample index (may be negative) where chunk ``chunk``'s STFT input begins."""
        first_frame = chunk * self.chunk_frames - self.context_frames
        return first_frame * self.frame_step - self.frame_length

    def output_start(self, chunk: int) -> int:
        """Input-sample index (may be negative) of chunk ``chunk``'s first output sample."""
        return chunk * self.chunk_frames * self.frame_step - self.frame_length


class SampleWindow:
    """Zero-filled random access to a forward-only stream of sample blocks.

    Reads must move forward (``start`` never decreases); samples before the latest start are
    dropped, so memory stays bounded by the largest read plus one source block.
    """

    def __init__(self, blocks: Iterator[np.ndarray], n_samples: int, n_channels: int) -> None:
        self._blocks = blocks
        self._n = n_samples
        self._channels = n_channels
        self._buf = np.zeros((0, n_channels), dtype=np.float32)
        self._buf_start = 0  # input index of self._buf[0]
        self._exhausted = False

    def take(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` of the signal, zero outside ``[0, n_samples)``."""
        out = np.zeros((stop - start, self._channels), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self._n)
        if hi > lo:
            if lo < self._buf_start:
                raise ValueError("SampleWindow reads must move forward")
            self._fill_until(hi)
            out[lo - start : hi - start] = self._buf[lo - self._buf_start : hi - self._buf_start]
        drop = max(0, min(start, self._n) - self._buf_start)
        if drop:
            self._buf = self._buf[drop:]
            self._buf_start += drop
        return out

    def _fill_until(self, stop: int) -> None:
        parts = [self._buf]
        have = self._buf_start + len(self._buf)
        while have < stop and not self._exhausted:
            try:
                block = next(self._blocks)
            except StopIteration:
                self._exhausted = True
                break
            block = np.asarray(block, dtype=np.float32).reshape(-1, self._channels)
            parts.append(block)
            have += len(block)
        if len(parts) > 1:
            self._buf = np.concatenate(parts)
        if have < stop:
            # The source ended early: the missing tail reads as silence.
            pad = np.zeros((stop - have, self._channels), dtype=np.float32)
            self._buf = np.concatenate([self._buf, pad])


def stitch_chunks(
    plan: ChunkPlan, chunk_outputs: Iterator[np.ndarray]
) -> Iterator[tuple[int, np.ndarray]]:
    """Overlap-add per-chunk inverse-STFT outputs into final, cropped output blocks.

    ``chunk_outputs`` yields arrays ``(n_sources, output_length, channels)`` in chunk order;
    the result yields ``(input_index, block)`` pairs covering ``[0, n_samples)`` exactly once,
    in order, each block ``(n_sources, length, channels)``.
    """
    carry: np.ndarray | None = None
    for chunk, out in enumerate(chunk_outputs):
        out = np.array(out, dtype=np.float32, copy=True)
        if carry is not None:
            out[:, : plan.carry_length] += carry
        final_len = plan.chunk_frames * plan.frame_step
        carry = out[:, final_len:]
        start = plan.output_start(chunk)
        lo, hi = max(start, 0), min(start + final_len, plan.n_samples)
        if hi > lo:
            yield lo, out[:, lo - start : hi - start]
