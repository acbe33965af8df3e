"""`subtract` and `intersect` on the numpy-free path (`covdata/smallfilter.py`).

Expected counters are worked out by hand from covdata's rules (cmd/covdata
subtractintersect.go): subtract zeroes, in the first input, each unit a later input counted;
intersect zeroes each unit a later input did not count and drops the functions it did not
run. The full path must agree (it is checked against `go tool covdata` in the oracle tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage_collector.covdata import small, speedups
from coverage_collector.covdata.commands import run
from coverage_collector.covdata.counters import read_counters
from coverage_collector.covdata.model import CounterMode, Granularity
from coverage_collector.covdata.request import Request
from coverage_collector.covdata.writer import (
    FuncCounters,
    FuncDesc,
    PackageBuilder,
    encode_counter_file,
    encode_meta_file,
    merged_meta_hash,
)

pytestmark = pytest.mark.skipif(speedups.KERNELS is None, reason="needs the compiled kernels")


def _inputs(tmp_path: Path, runs: list[list[FuncCounters]]) -> list[str]:
    """One binary (f: 3 units, g: 2 units, h: 1 unit), one input directory per run."""
    builder = PackageBuilder("example.com/p", "p", "example.com")
    for name, n_units in (("f", 3), ("g", 2), ("h", 1)):
        units = [(line, 1, line, 9, 1) for line in range(1, n_units + 1)]
        builder.add(FuncDesc(name, f"{name}.go", units, False))
    blobs = [builder.encode()]
    file_hash = merged_meta_hash(blobs)
    meta = encode_meta_file(file_hash, blobs, CounterMode.COUNT, Granularity.PERBLOCK)
    inputs = []
    for index, records in enumerate(runs):
        directory = tmp_path / f"in{index}"
        directory.mkdir()
        (directory / f"covmeta.{file_hash.hex()}").write_bytes(meta)
        data = encode_counter_file(file_hash, {}, records)
        (directory / f"covcounters.{file_hash.hex()}.{index + 1}.1").write_bytes(data)
        inputs.append(str(directory))
    return inputs


def _counters(runner, command: str, inputs: list[str], out: Path) -> dict[int, list[int]]:
    out.mkdir()
    assert runner(command, Request(inputs=inputs, output=str(out))) is not None
    (path,) = out.glob("covcounters.*")
    decoded = read_counters(str(path))
    layout = decoded.layout
    return {int(layout.funcs[k]): decoded.counters(k).tolist() for k in range(len(layout.starts))}


FIRST = [FuncCounters(0, 0, [5, 0, 2]), FuncCounters(0, 1, [1, 1])]
LATER = [FuncCounters(0, 0, [0, 0, 7]), FuncCounters(0, 2, [3])]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # f: the later input counted its third unit; g and h: f alone was in both
        ("subtract", {0: [5, 0, 0], 1: [1, 1]}),
        # f: only its third unit counted in both; g: not run later, dropped; h: not run first
        ("intersect", {0: [0, 0, 2]}),
    ],
)
def test_subtract_and_intersect_follow_covdatas_rules(
    command: str, expected: dict[int, list[int]], tmp_path: Path
) -> None:
    inputs = _inputs(tmp_path, [FIRST, LATER])
    assert _counters(small.run_small, command, inputs, tmp_path / "small") == expected
    assert _counters(run, command, inputs, tmp_path / "full") == expected


def test_a_refused_file_hands_the_whole_command_to_the_full_path(tmp_path: Path) -> None:
    # A later file with two records of one function: the kernels refuse it, nothing is
    # written on the small path, and the full path (covdata's exact rules) answers.
    inputs = _inputs(tmp_path, [FIRST, [*LATER, FuncCounters(0, 0, [1, 1, 1])]])
    out = tmp_path / "small"
    out.mkdir()
    assert small.run_small("intersect", Request(inputs=inputs, output=str(out))) is None
    assert not list(out.iterdir())
