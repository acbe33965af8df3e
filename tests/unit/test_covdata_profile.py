"""The covdata formatter's packed sort keys and the string-table reader's fast path."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from coverage_collector.covdata import uleb
from coverage_collector.covdata.meta import read_string_table
from coverage_collector.covdata.profile import pack_keys

U32 = st.integers(min_value=0, max_value=2**32 - 1)


@given(st.lists(st.tuples(U32, U32, U32, st.integers(0, 7)), min_size=1, max_size=40))
def test_packed_keys_sort_like_the_columns(rows: list[tuple[int, int, int, int]]) -> None:
    # Sorting by the packed keys gives the rows in lexicographic order, ties kept stable.
    columns = [np.array(col, dtype=np.uint32) for col in zip(*rows, strict=True)]
    keys = pack_keys(columns)
    order = np.lexsort(keys[::-1])
    assert [rows[i] for i in order] == sorted(rows)
    assert len(keys) <= len(columns)


def test_small_columns_share_one_key() -> None:
    # Four columns of 16 bits fit in one 64-bit key: one argsort instead of a lexsort.
    columns = [np.array([1, 0xFFFF], dtype=np.uint32) for _ in range(4)]
    assert len(pack_keys(columns)) == 1


def _table(strings: list[bytes]) -> bytes:
    return uleb.encode(len(strings)) + b"".join(uleb.encode(len(s)) + s for s in strings)


@given(st.lists(st.binary(max_size=200), max_size=20))
def test_string_table_round_trips(strings: list[bytes]) -> None:
    # ASCII tables (sliced from one decode) and others (decoded one by one) read the same.
    data = b"xx" + _table(strings) + b"tail"
    decoded, end = read_string_table(data, 2, len(data))
    assert [s.encode("utf-8", "surrogateescape") for s in decoded] == strings
    assert data[end:] == b"tail"
