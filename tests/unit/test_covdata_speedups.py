"""The compiled kernels (`_speedups.c`) against the Python code they replace.

Each kernel must give the Python path's result on what Go writes, and on damaged input
refuse (ValueError) exactly where the Python path refuses, changing nothing. Expected
values come from the Python functions (`small._decode_functions`, `small._merge_records`,
`uleb.encode`), which the oracle tests check against `go tool covdata` on small input.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coverage_collector.covdata import small, speedups, uleb
from coverage_collector.covdata.commands import _MetaGroupFilter
from coverage_collector.covdata.counterformat import parse_header
from coverage_collector.covdata.hashing import fnv128a_python
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.metaformat import parse_blob_header
from coverage_collector.covdata.model import CounterMode, Granularity
from coverage_collector.covdata.writer import (
    FuncCounters,
    FuncDesc,
    PackageBuilder,
    encode_counter_file,
    encode_meta_file,
    merged_meta_hash,
)
from coverage_collector.exceptions import CovDataError
from tests.helpers.covdatarun import python_paths

KERNELS = speedups.KERNELS
needs_kernels = pytest.mark.skipif(KERNELS is None, reason="the C extension was not built")
U32 = st.integers(0, 0xFFFFFFFF)
UNIT = st.tuples(U32, st.integers(0, 300), U32, st.integers(0, 300), st.integers(0, 200))
FUNCTIONS = st.lists(
    st.tuples(
        st.sampled_from(["f", "g", "T.m"]),
        st.sampled_from(["a.go", "b.go"]),
        st.lists(st.sampled_from([(1, 2, 3, 4, 1), (5, 1, 5, 9, 2)]) | UNIT, max_size=9),
        st.booleans(),
    ),
    max_size=6,
)
DAMAGE = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=3)


def test_the_kernels_are_built_where_every_component_is_required() -> None:
    # CI has a C compiler: a build that silently fell back to Python would hide the speed.
    if os.environ.get("COVERAGE_COLLECTOR_REQUIRE_ALL") != "1" and KERNELS is None:
        pytest.skip("the C extension was not built here")
    assert KERNELS is not None


def _damaged(data: bytes, damage: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for at, value in damage:
        if out:
            out[at % len(out)] = value
    return bytes(out)


def _blob(functions: list) -> bytes:
    builder = PackageBuilder("example.com/p", "p", "example.com")
    for name, file, units, literal in functions:
        builder.add(FuncDesc(name, file, units, literal))
    return builder.encode()


def _python_decode(blob: bytes) -> tuple | str:
    with python_paths():
        try:
            records, units, _ = small._decode_functions(blob, parse_blob_header(blob))
        except (small.NotSmallError, IndexError):
            return "refused"
    return records, units


@needs_kernels
@settings(max_examples=300, deadline=None)
@given(functions=FUNCTIONS, damage=DAMAGE, cut=st.integers(0, 64))
def test_decode_functions_is_the_python_decoder(functions: list, damage: list, cut: int) -> None:
    blob = _blob(functions)
    header = parse_blob_header(blob)
    damaged = _damaged(blob, [(header.records_start + at, v) for at, v in damage])
    damaged = damaged[: len(damaged) - cut] if cut < 8 else damaged
    try:
        header = parse_blob_header(damaged)
    except ValueError:
        return  # damage before the records: not the kernel's part
    expected = _python_decode(damaged)
    assert KERNELS is not None
    try:
        records, units, duplicates = KERNELS.decode_functions(
            damaged, header.records_start, header.num_funcs, header.declared_len
        )
    except ValueError:
        assert expected == "refused"
        return
    assert (records, units) == expected
    flat = array("I", units)
    rows = [tuple(flat[i : i + 5]) for i in range(0, len(flat), 5)]
    first, repeated = 0, False
    for n_units, *_ in records:
        mine = rows[first : first + n_units]
        repeated = repeated or len(set(mine)) != len(mine)
        first += n_units
    assert duplicates == repeated


@needs_kernels
def test_a_function_of_many_units_is_checked_for_duplicates_by_sorting() -> None:
    # More units than the pairwise check takes: the sorted check must find a repeat at any
    # distance, and find none when all differ.
    units = [(line, 1, line, 9, 1) for line in range(1, 200)]
    assert KERNELS is not None
    for listed, expected in ((units, False), ([*units, units[3]], True)):
        blob = _blob([("f", "a.go", listed, False)])
        header = parse_blob_header(blob)
        result = KERNELS.decode_functions(
            blob, header.records_start, header.num_funcs, header.declared_len
        )
        assert result[2] is expected


def _tables(shape: list[list[int]]) -> small.FunctionTables:
    """Tables for packages of functions with `shape[p][f]` units each."""
    pkg_first, pkg_funcs, func_units = array("q"), array("q"), array("q", [0])
    for functions in shape:
        pkg_first.append(len(func_units) - 1)
        pkg_funcs.append(len(functions))
        for n_units in functions:
            func_units.append(func_units[-1] + n_units)
    return pkg_first, pkg_funcs, func_units


SHAPE = st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=4), min_size=1, max_size=3)
COUNT = st.integers(0, 3) | st.integers(0, 0xFFFFFFFF) | st.integers(0, 1 << 40)
RECORD = st.tuples(st.integers(0, 3), st.integers(0, 4), st.lists(COUNT, max_size=4), st.booleans())


def _records(shape: list[list[int]], picks: list) -> list[FuncCounters]:
    """Records for functions of `shape` (`_tables`): (package, function, counts cycled over
    the units, one counter too many) each; an unknown function gets 2 counters."""
    records = []
    for pkg, func, counts, wrong_length in picks:
        known = pkg < len(shape) and func < len(shape[pkg])
        n_units = (shape[pkg][func] if known else 2) + wrong_length
        values = [counts[k % len(counts)] if counts else 0 for k in range(n_units)]
        records.append(FuncCounters(pkg, func, values))
    return records


@needs_kernels
@settings(max_examples=300, deadline=None)
@given(shape=SHAPE, picks=st.lists(RECORD, max_size=8), damage=DAMAGE, extra=st.integers(0, 2))
def test_merge_records_is_the_python_merge(
    shape: list, picks: list, damage: list, extra: int
) -> None:
    # Mostly regular records; some of unknown functions, of the wrong length, with counts
    # past 32 bits, damaged bytes, or more records announced than written.
    records = _records(shape, picks)
    data = encode_counter_file(b"\x01" * 16, {"argc": "1", "argv0": "x"}, records)
    header = parse_header(data)
    data = _damaged(data, [(header.records_start + at, v) for at, v in damage])
    tables = _tables(shape)
    n_units, n_funcs = tables[2][-1], len(tables[2]) - 1
    start, n_entries = header.records_start, header.n_entries + extra

    expected = array("Q", [7] * n_units), bytearray(n_funcs)
    try:
        with python_paths():
            small._merge_records(data, start, n_entries, tables, *expected)
        refused = False
    except (small.NotSmallError, IndexError):
        refused = True
    actual = array("Q", [7] * n_units), bytearray(n_funcs)
    assert KERNELS is not None
    try:
        KERNELS.merge_records(data, start, n_entries, *tables, *actual)
    except ValueError:
        assert refused
        assert actual == (array("Q", [7] * n_units), bytearray(n_funcs))  # nothing changed
        return
    assert not refused
    assert actual == expected


@needs_kernels
def test_merge_records_saturates_at_64_bits_and_refuses_a_lying_header() -> None:
    assert KERNELS is not None
    tables = _tables([[1]])
    data = encode_counter_file(b"\x01" * 16, {}, [FuncCounters(0, 0, [5])])
    header = parse_header(data)
    totals, executed = array("Q", [(1 << 64) - 3]), bytearray(1)
    KERNELS.merge_records(data, header.records_start, 1, *tables, totals, executed)
    assert (totals[0], executed) == ((1 << 64) - 1, bytearray(b"\x01"))
    for n_entries in (2, (1 << 64) - 1):  # more records than the file holds
        with pytest.raises(ValueError):
            KERNELS.merge_records(data, header.records_start, n_entries, *tables, totals, executed)
    with pytest.raises(TypeError):  # a table of the wrong kind is the caller's bug
        KERNELS.merge_records(data, header.records_start, 1, *tables, array("I", [0]), executed)


@needs_kernels
@given(st.lists(st.integers(0, (1 << 64) - 1) | st.integers(0, 300)))
def test_encode_uvarints_is_minimal_uleb128(values: list[int]) -> None:
    assert KERNELS is not None
    assert KERNELS.encode_uvarints(array("Q", values)) == b"".join(map(uleb.encode, values))


def _binary(directory: Path, shape: list[list[int]], mode: CounterMode) -> str:
    """Write a meta file of packages with functions of `shape[p][f]` units; return its path."""
    blobs = []
    for p, functions in enumerate(shape):
        builder = PackageBuilder(f"example.com/p{p}", f"p{p}", "example.com")
        for f, n_units in enumerate(functions):
            units = [(f + 1, k + 1, f + 1, k + 2, 1) for k in range(n_units)]
            builder.add(FuncDesc(f"f{f}", "a.go", units, False))
        blobs.append(builder.encode())
    file_hash = merged_meta_hash(blobs)
    path = directory / f"covmeta.{file_hash.hex()}"
    path.write_bytes(encode_meta_file(file_hash, blobs, mode, Granularity.PERBLOCK))
    return str(path)


FILES = st.lists(st.tuples(st.integers(0, 2), st.lists(RECORD, max_size=6)), min_size=1, max_size=6)


@needs_kernels
@settings(max_examples=200, deadline=None)
@example(  # a later file with two records of one function: judged on their sum, not each
    shape=[[1]],
    files=[(0, [(0, 0, [1], False)]), (1, [(0, 0, [0], False), (0, 0, [5], False)])],
    intersect=True,
    mode=CounterMode.COUNT,
)
@given(
    shape=SHAPE,
    files=FILES,
    intersect=st.booleans(),
    mode=st.sampled_from([CounterMode.SET, CounterMode.COUNT]),
)
def test_subtract_and_intersect_give_the_exact_paths_result(
    shape: list, files: list, intersect: bool, mode: CounterMode
) -> None:
    # Files of the first input and of later ones (records of unknown functions, of the wrong
    # length, repeated, past 32 bits): covdata's rules applied file by file, with the kernels
    # (merge_records, filter_records) and without.
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        meta = read_meta(_binary(directory, shape, mode))
        paths = []
        for index, (dir_index, picks) in enumerate(sorted(files, key=lambda f: f[0])):
            records = _records(shape, picks)
            path = directory / f"covcounters.{meta.file_hash.hex()}.{index}.0"
            path.write_bytes(encode_counter_file(meta.file_hash, {}, records))
            paths.append((dir_index, str(path)))

        def apply() -> tuple[list[int], list[bool], list[str]]:
            warnings: list[str] = []
            state = _MetaGroupFilter(meta, intersect)
            current = -1
            for dir_index, path in paths:
                if dir_index != current:
                    state.enter_dir(dir_index)
                    current = dir_index
                try:
                    state.add_file(path, dir_index, warnings.append)
                except CovDataError as exc:
                    return [], [], [str(exc)]
            state.prune()
            result = state.result()
            return result.counts.tolist(), result.executed_funcs.tolist(), warnings

        compiled = apply()
        with python_paths():
            assert apply() == compiled


@needs_kernels
def test_fnv128a_is_gos_hash() -> None:
    # Go's hash/fnv.New128a of "" is the offset basis; of "a", a published test vector.
    assert KERNELS is not None and hasattr(KERNELS, "fnv128a")
    assert KERNELS.fnv128a(b"").hex() == "6c62272e07bb014262b821756295c58d"
    assert KERNELS.fnv128a(b"a").hex() == "d228cb696f1a8caf78912b704e4a8964"
    data = bytes(range(256)) * 40
    assert KERNELS.fnv128a(data) == fnv128a_python(data)
