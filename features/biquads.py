"""Cascaded biquads (second-order sections) over long audio, with numpy alone.

:func:`sosfilt` gives what ``scipy.signal.sosfilt(sos, x, axis=-1)`` gives from a zero initial
state, to float64 rounding. It lets the feature workers skip importing ``scipy.signal`` (about
a second of every worker's start-up) for the two K-weighting biquads of
:mod:`features.loudness`.

A recursion sample by sample in Python would take minutes on a song, so the cascade runs as a
block state-space system whose work is matrix products (BLAS):

- **State**: the transposed direct form II delays of every section (``d = 2 n_sections``
  numbers), as ``scipy.signal`` keeps them.
- **Blocks** of ``L`` samples. With a block's input ``x_j`` and start state ``s_j`` as rows,
  linearity gives ``y_j = x_j T + s_j C`` and ``s_{j+1} = s_j M + x_j B``: ``T`` (``L x L``)
  is the impulse response as a triangular Toeplitz matrix, ``C`` (``d x L``) the output of
  each unit state, ``M`` (``d x d``) a unit state after ``L`` samples and ``B`` (``L x d``)
  the state each input sample leaves. Running the sections over ``L`` samples once gives all
  four.
- **Lanes**: the recursion over block states runs as about ``sqrt(n_blocks)`` lanes of
  consecutive blocks side by side, one ``(lanes, d) @ (d, d)`` product a step. A lane does not
  know the state it starts from, so it starts from zero ``memory`` blocks earlier, over the
  end of the lane before it: by then the state it missed has decayed below ``FORGOTTEN`` of
  its size. Past that warm-up every step rounds as the plain recursion does.
- **Output**: ``x_j T + s_j C`` for every block of a lane at once.

The error is float64 rounding in the same recursion: against an 80-bit reference, at most a
few 1e-11 of the signal's peak (DC through the 38 Hz high-pass at 192 kHz, poles of radius
0.9988), like scipy's own. Block convolution by FFT instead of ``T`` was slower (numpy's FFT of
``2 L`` points costs more than the ``L x L`` product at the block lengths the lanes need) and
its rounding grows with the long impulse response of such poles.
"""

from __future__ import annotations

import math

import numpy as np

#: Samples per block. The products cost about ``2 L + 4 d`` operations a sample and the
#: sequential part shrinks with ``L``; 32 is quickest for two sections.
BLOCK = 32
#: Size, relative to a state, below which its effect on later states counts as gone (the
#: lanes' warm-up): far below float64 rounding.
FORGOTTEN = 1e-18


def _validate(sos: np.ndarray) -> np.ndarray:
    """``sos`` as float64 ``(n_sections, 6)`` rows ``[b0, b1, b2, 1, a1, a2]``, or a
    ValueError: the recursion needs normalised (``a0 == 1``), stable, finite sections."""
    sections = np.array(sos, dtype=np.float64, ndmin=2)
    if sections.ndim != 2 or sections.shape[0] == 0 or sections.shape[1] != 6:
        raise ValueError(f"second-order sections must have shape (n, 6), not {sections.shape}")
    if not np.all(np.isfinite(sections)):
        raise ValueError("second-order sections must be finite")
    if np.any(sections[:, 3] != 1.0):
        raise ValueError(f"every section needs a0 == 1, got {sections[:, 3].tolist()}")
    for index, (a1, a2) in enumerate(sections[:, 4:]):
        radius = float(np.max(np.abs(np.roots([1.0, a1, a2]))))
        if radius >= 1.0:
            raise ValueError(f"section {index} is unstable: pole radius {radius:.6g} >= 1")
    return sections


def _block_matrices(sos: np.ndarray, length: int) -> tuple[np.ndarray, ...]:
    """``(T, C, M, B)`` of the module doc for blocks of ``length`` samples.

    Runs the sections sample by sample (as ``scipy.signal`` does), vectorised over a batch of
    unit impulses from rest and unit states without input.
    """
    n_sections = len(sos)
    d = 2 * n_sections
    signals = np.concatenate([np.eye(length), np.zeros((d, length))])
    states = np.concatenate([np.zeros((length, d)), np.eye(d)]).reshape(-1, n_sections, 2)
    for n in range(length):
        value = signals[:, n]
        for section, (b0, b1, b2, _, a1, a2) in enumerate(sos):
            z = states[:, section]
            out = b0 * value + z[:, 0]
            z[:, 0] = b1 * value - a1 * out + z[:, 1]
            z[:, 1] = b2 * value - a2 * out
            value = out
        signals[:, n] = value
    ends = states.reshape(-1, d)
    return signals[:length], signals[length:], ends[length:], ends[:length]


def _memory(transition: np.ndarray, limit: int) -> int:
    """Fewest steps ``k`` with every entry of ``transition ** k`` below ``FORGOTTEN`` (how long
    a state is remembered), or ``limit`` when that is ``limit`` or more. ``O(log k)`` products:
    squaring, then a binary descent."""
    squares = [transition]
    while np.max(np.abs(squares[-1])) > FORGOTTEN:
        if 2 ** (len(squares) - 1) >= limit:
            return limit
        squares.append(squares[-1] @ squares[-1])
    if len(squares) == 1:
        return 1
    remembered, power = 2 ** (len(squares) - 2), squares[-2]
    for bit in range(len(squares) - 3, -1, -1):
        candidate = power @ squares[bit]
        if np.max(np.abs(candidate)) > FORGOTTEN:
            remembered, power = remembered + 2**bit, candidate
    if np.max(np.abs(power @ transition)) > FORGOTTEN:  # powers that do not shrink steadily
        return 2 ** (len(squares) - 1)
    return remembered + 1


def _lane_states(transition: np.ndarray, drive: np.ndarray, lanes: int, memory: int) -> np.ndarray:
    """Start states of every block from ``s_0 = 0, s_{j+1} = s_j @ transition + drive_j``.

    ``drive`` is ``(steps, channels * lanes, d)``: step ``i`` of lane ``p`` of a channel is its
    block ``p * steps + i``, so one step of every lane is one contiguous row. Lanes other than
    a channel's first warm up over the last ``memory`` steps of the lane before (see the module
    doc). Returns ``(steps + 1, channels * lanes, d)``.
    """
    steps, rows, d = drive.shape
    states = np.zeros((steps + 1, rows, d))
    change = np.empty((rows, d))
    warm = states[0]
    for i in range(steps - memory, steps):
        np.matmul(warm[1:], transition, out=change[1:])
        np.add(change[1:], drive[i, :-1], out=warm[1:])
    warm[::lanes] = 0.0  # a channel's first lane starts at the signal's start, from rest
    for i in range(steps):
        np.matmul(states[i], transition, out=change)
        np.add(change, drive[i], out=states[i + 1])
    return states


def _layout(n_blocks: int, memory: int) -> tuple[int, int, int]:
    """``(lanes, steps, memory)`` for ``n_blocks``: about ``sqrt(n_blocks)`` lanes, none shorter
    than its warm-up; one lane and no warm-up when the signal is short for its memory."""
    lanes = min(math.isqrt(n_blocks), n_blocks // memory)
    if lanes < 2:
        return 1, n_blocks, 0
    return lanes, -(-n_blocks // lanes), memory


def _nan_from_non_finite(sos: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Filter ``rows`` with every channel NaN from its first non-finite sample on."""
    finite = np.isfinite(rows)
    first_bad = np.where(finite.all(axis=1), rows.shape[1], np.argmin(finite, axis=1))
    bad = np.arange(rows.shape[1]) >= first_bad[:, None]
    out = sosfilt(sos, np.where(bad, 0.0, rows))
    out[bad] = np.nan
    return out


def sosfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Filter ``x`` along its last axis through the cascade ``sos`` from a zero state.

    Parameters
    ----------
    sos : numpy.ndarray
        ``(n_sections, 6)`` rows ``[b0, b1, b2, 1, a1, a2]``, as ``scipy.signal`` writes them.
    x : numpy.ndarray
        ``(n_samples,)`` or ``(channels, n_samples)``, real; computed in float64.

    Returns
    -------
    numpy.ndarray
        The filtered signal, float64, the shape of ``x``. From a channel's first NaN or
        infinite sample on, its output is NaN (a recursion carries NaN on for ever; infinities
        are not followed sample by sample).

    Raises
    ------
    ValueError
        For sections that are not ``(n, 6)``, finite, normalised and stable, or for ``x`` that
        is complex or neither 1-D nor 2-D.

    Examples
    --------
    >>> sosfilt([[0.5, 0.5, 0.0, 1.0, -0.5, 0.0]], np.array([1.0, 0.0, 0.0, 0.0])).tolist()
    [0.5, 0.75, 0.375, 0.1875]
    """
    sections = _validate(sos)
    given = np.asarray(x)
    if given.ndim not in (1, 2) or np.iscomplexobj(given):
        raise ValueError(f"x must be real and 1-D or 2-D, not {given.dtype} {given.ndim}-D")
    if given.size == 0:
        return np.zeros(given.shape)
    source = given.reshape(-1, given.shape[-1])
    channels, n = source.shape
    # Unless x is C-contiguous float64 already, its float64 copy (made lane by lane while the
    # lane is in cache for its drive) takes the output.
    in_place = source.dtype != np.float64 or not source.flags.c_contiguous
    rows = np.empty((channels, n)) if in_place else source
    toeplitz, from_state, transition, to_state = _block_matrices(sections, BLOCK)
    # The whole blocks, then the last samples zero-padded to one more block.
    full, rest = divmod(n, BLOCK)
    blocks = rows[:, : full * BLOCK].reshape(channels, full, BLOCK)
    tail = np.zeros((channels, BLOCK))
    tail[:, :rest] = source[:, full * BLOCK :]
    lanes, steps, memory = _layout(full + 1, _memory(transition, full + 1))
    used = -(-full // steps)  # lanes holding whole blocks (the tail block follows them)
    drive = np.zeros((steps, channels, lanes, len(transition)))
    for channel, lane in np.ndindex(channels, used):
        first, last = lane * steps, min(lane * steps + steps, full)
        if in_place:
            span = slice(first * BLOCK, last * BLOCK)
            rows[channel, span] = source[channel, span]
        lane_drive = drive[: last - first, channel, lane]
        np.matmul(blocks[channel, first:last], to_state, out=lane_drive)
    drive[full % steps, :, full // steps] = tail @ to_state
    # A NaN or infinity anywhere in x gives one in the drive (so may an overflow).
    if not np.all(np.isfinite(drive)) and not np.all(np.isfinite(source)):
        return _nan_from_non_finite(sections, source).reshape(given.shape)
    states = _lane_states(transition, drive.reshape(steps, channels * lanes, -1), lanes, memory)
    states = states.reshape(steps + 1, channels, lanes, -1)
    out = rows if in_place else np.empty((channels, n))
    lane_input, from_states = np.empty((steps, BLOCK)), np.empty((steps, BLOCK))
    for channel, lane in np.ndindex(channels, used):
        first, last = lane * steps, min(lane * steps + steps, full)
        count = last - first
        inputs = blocks[channel, first:last]
        if in_place:  # the output overwrites the lane's input
            inputs = lane_input[:count]
            inputs[...] = blocks[channel, first:last]
        target = out[channel, first * BLOCK : last * BLOCK].reshape(count, BLOCK)
        np.matmul(inputs, toeplitz, out=target)
        np.matmul(states[:count, channel, lane], from_state, out=from_states[:count])
        target += from_states[:count]
    end = states[full % steps, :, full // steps]
    out[:, full * BLOCK :] = (tail @ toeplitz + end @ from_state)[:, :rest]
    return out.reshape(given.shape)
