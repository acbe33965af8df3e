"""Unsigned LEB128: vectorised decoding of whole byte runs, and encoding.

Go's readers accept any encoding and keep the low 64 bits (a shift of 64 or more
contributes nothing), so bytes past the tenth of one value are ignored here too.
The vectorised functions import numpy when called: `read` and `encode` serve the
numpy-free small-input path (`covdata.small`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    U8 = npt.NDArray[np.uint8]
    U64 = npt.NDArray[np.uint64]
    I64 = npt.NDArray[np.int64]

_MAX_USEFUL_BYTES = 10  # 10 * 7 = 70 >= 64 bits


def decode(buf: U8) -> tuple[U64, I64]:
    """Decode every complete ULEB128 value in `buf`.

    Returns the values and the byte offset at which each one starts. A trailing
    run of continuation bytes (an unfinished value) is not returned.
    """
    import numpy as np

    ends = np.flatnonzero(buf < 0x80)
    starts = np.empty(len(ends), dtype=np.int64)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    values = buf[ends].astype(np.uint64)
    multi = np.flatnonzero(ends != starts)
    if len(multi):
        values[multi] = _decode_multibyte(buf, starts[multi], ends[multi])
    return values, starts


def decode_u32(buf: U8) -> tuple[npt.NDArray[np.uint32], I64]:
    """Decode like `decode`, truncating each value to 32 bits as Go's counter reader does.

    Returns the values and the index of each value's last byte.
    """
    import numpy as np

    ends = np.flatnonzero(buf < 0x80)
    values = buf[ends].astype(np.uint32)
    if len(ends) != len(buf):  # some values span several bytes
        gaps = np.diff(ends, prepend=-1)
        multi = np.flatnonzero(gaps > 1)
        if len(multi):
            last = ends[multi]
            first = last - gaps[multi] + 1
            values[multi] = _decode_multibyte(buf, first, last).astype(np.uint32)
    return values, ends


def _decode_multibyte(buf: U8, first: I64, last: I64) -> U64:
    """Return the values of the multi-byte groups `buf[first[i]:last[i] + 1]`."""
    import numpy as np

    lengths = last - first + 1
    out = np.zeros(len(first), dtype=np.uint64)
    for k in range(min(int(lengths.max()), _MAX_USEFUL_BYTES)):
        sel = np.flatnonzero(lengths > k)
        group = (buf[first[sel] + k] & 0x7F).astype(np.uint64)
        out[sel] |= group << np.uint64(7 * k)
    return out


def read(data: bytes, pos: int) -> tuple[int, int]:
    """Read one value at `pos`; return it (low 64 bits) and the next position.

    Raises IndexError when the data ends inside the value.
    """
    byte = data[pos]
    if byte < 0x80:  # the common case: one byte
        return byte, pos + 1
    value = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        if shift < 64:
            value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7


def encode(value: int) -> bytes:
    """Return the minimal encoding of `value`, as Go's writers produce it."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_array(values: npt.NDArray[np.uint64]) -> bytes:
    """Return the concatenated minimal encodings of `values` (vectorised)."""
    import numpy as np

    values = values.astype(np.uint64)
    nbytes = np.ones(len(values), dtype=np.int64)
    for k in range(1, _MAX_USEFUL_BYTES):
        nbytes += values >= (np.uint64(1) << np.uint64(7 * k))
    total = int(nbytes.sum())
    out = np.empty(total, dtype=np.uint8)
    starts = np.zeros(len(values), dtype=np.int64)
    np.cumsum(nbytes[:-1], out=starts[1:])
    for k in range(int(nbytes.max()) if len(values) else 0):
        sel = np.flatnonzero(nbytes > k)
        group = (values[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[sel] + k] = (group | more).astype(np.uint8)
    return out.tobytes()
