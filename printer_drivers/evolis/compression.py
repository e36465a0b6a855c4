"""The `Dbc` compressed panel formats, host side (encoding), vectorised with numpy.

Two schemes, one per kind of panel (EVOLIS.md, "Compression"):

* K and O (1 bit per pixel, 81 bytes a line): each line starts with a byte that is `0x00`
  (white line), `0xFF` (black line) or N in 1..81, the count of packed bytes that follow —
  the line up to its last non-zero byte; the rest of the line is white.
* Y, M and C (one pixel value a token, 5/6/7 bits): a byte with the top bit clear is one
  pixel. A byte with the top bit set holds a value in its low `bits` bits and is followed
  by a count byte; at 6 and 5 bits the spare bits of the first byte (6, or 5 and 6) are the
  high bits of the count, so one token covers up to 511 / 1023 pixels (255 at 7 bits).
  A count of 0 means the rest of the line is blank (value 0). Runs never cross a line.

The device-side decoder lives with the simulator (`devices.sim.evolis_decode`): it is a
separate reading of the same notes, so a round trip checks one against the other.
"""

from __future__ import annotations

import numpy as np

LEVEL_BITS = {2: 1, 32: 5, 64: 6, 128: 7}


def bits_for_levels(levels: int) -> int:
    try:
        return LEVEL_BITS[levels]
    except KeyError:
        raise ValueError(f"unsupported level count {levels}; use one of {sorted(LEVEL_BITS)}") from None


def max_run(levels: int) -> int:
    """The longest run one token can carry: 8 count bits plus the spare bits of the head."""
    return (1 << (8 + 7 - bits_for_levels(levels))) - 1


def encode_mono(packed: np.ndarray) -> bytes:
    """Compress a packed 1-bit panel (lines x bytes-per-line, uint8)."""
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    lines, width = packed.shape
    if width >= 0xFF:
        raise ValueError(f"a K/O line of {width} bytes cannot be told from the 0xFF black-line mark")
    nonzero = packed != 0
    # Length of each line up to and including its last non-zero byte.
    used = np.where(nonzero.any(axis=1), width - np.argmax(nonzero[:, ::-1], axis=1), 0)
    full_black = (packed == 0xFF).all(axis=1)
    header = np.where(full_black, 0xFF, used).astype(np.uint8)
    table = np.empty((lines, width + 1), dtype=np.uint8)
    table[:, 0] = header
    table[:, 1:] = packed
    keep = np.zeros((lines, width + 1), dtype=bool)
    keep[:, 0] = True
    keep[:, 1:] = (np.arange(width)[None, :] < used[:, None]) & ~full_black[:, None]
    return table[keep].tobytes()


def encode_runs(values: np.ndarray, levels: int) -> bytes:
    """Compress a Y/M/C panel of pixel values (lines x pixels, each < levels)."""
    bits = bits_for_levels(levels)
    values = np.ascontiguousarray(values, dtype=np.uint8)
    if values.size and int(values.max()) >= levels:
        raise ValueError(f"pixel value {int(values.max())} does not fit {levels} levels")
    lines, width = values.shape
    flat = values.ravel()
    # A run starts where the value changes or a new line begins.
    starts_mask = np.ones(flat.size, dtype=bool)
    starts_mask[1:] = flat[1:] != flat[:-1]
    starts_mask[::width] = True
    starts = np.flatnonzero(starts_mask)
    lengths = np.diff(np.append(starts, flat.size))
    run_values = flat[starts]
    ends_line = (starts + lengths) % width == 0
    blank_tail = ends_line & (run_values == 0) & (lengths >= 2)

    limit = max_run(levels)
    repeated = (lengths >= 2) & ~blank_tail
    # Literal runs give one token per pixel, repeated runs one token per `limit` pixels.
    tokens_per_run = np.where(repeated, -(-lengths // limit), np.where(blank_tail, 1, lengths))
    run_of_token = np.repeat(np.arange(starts.size), tokens_per_run)
    first_token = np.cumsum(tokens_per_run) - tokens_per_run
    index_in_run = np.arange(run_of_token.size) - first_token[run_of_token]

    token_value = run_values[run_of_token]
    token_repeated = repeated[run_of_token]
    token_tail = blank_tail[run_of_token]
    token_count = np.where(token_repeated,
                           np.minimum(lengths[run_of_token] - index_in_run * limit, limit), 0)
    two_bytes = token_repeated | token_tail
    sizes = np.where(two_bytes, 2, 1)
    offsets = np.cumsum(sizes) - sizes
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    head = np.where(two_bytes, 0x80 | token_value | ((token_count >> 8) << bits), token_value)
    out[offsets] = head.astype(np.uint8)
    out[offsets[two_bytes] + 1] = (token_count[two_bytes] & 0xFF).astype(np.uint8)
    return out.tobytes()
