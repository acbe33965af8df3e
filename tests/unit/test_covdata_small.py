"""The numpy-free small path against the full path on generated binaries, each with and
without the compiled kernels.

The full path is checked byte for byte against `go tool covdata` (test_covdata_oracle);
here random packages, functions, units and counters (overlapping positions, shared files,
several binaries, function literals, every mode) are written as Go writes them, and the
two paths must print and write the same bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from coverage_collector.covdata import small
from coverage_collector.covdata.commands import run
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
from tests.helpers.covdatarun import python_paths

SMALL = st.integers(min_value=1, max_value=4)
UNITS = st.lists(st.tuples(SMALL, SMALL, SMALL, SMALL, st.integers(0, 3)), min_size=1, max_size=6)
FUNCS = st.lists(
    st.tuples(
        st.sampled_from(["f", "g", "main"]), st.sampled_from(["a.go", "b.go"]), UNITS, st.booleans()
    ),
    min_size=1,
    max_size=4,
)
PACKAGES = st.lists(st.tuples(st.sampled_from(["x/a", "x/b", "y"]), FUNCS), min_size=1, max_size=3)
MODES = st.sampled_from([CounterMode.SET, CounterMode.COUNT, CounterMode.ATOMIC])


def _write_binary(
    directory: Path, packages: list[tuple[str, list]], mode: CounterMode, runs: list[list[int]]
) -> None:
    """Write one binary's meta file and one counter file per run (counts cycled over units)."""
    blobs, functions = [], []
    for pkg_index, (path, funcs) in enumerate(packages):
        builder = PackageBuilder(path, path.rsplit("/", 1)[-1], "x")
        for name, file, units, lit in funcs:
            known = len(builder.funcs)
            index = builder.add(FuncDesc(name, file, list(units), lit))
            if index >= known:  # a new function (Go writes one record per function)
                functions.append((pkg_index, index, len(units)))
        blobs.append(builder.encode())
    file_hash = merged_meta_hash(blobs)
    meta = encode_meta_file(file_hash, blobs, mode, Granularity.PERBLOCK)
    (directory / f"covmeta.{file_hash.hex()}").write_bytes(meta)
    for run_index, counts in enumerate(runs):
        records = [
            FuncCounters(pkg, func, [counts[(pkg + func + k) % len(counts)] for k in range(n)])
            for pkg, func, n in functions
            if counts[(pkg + func) % len(counts)] % 3 != 1  # some functions not executed
        ]
        data = encode_counter_file(file_hash, {"argc": "1", "argv0": "prog"}, records)
        (directory / f"covcounters.{file_hash.hex()}.{run_index + 1}.{run_index}").write_bytes(data)


def _outputs(runner, command: str, inputs: list[str], where: Path, pkg: str) -> tuple:
    out = where / "out"
    out.mkdir()
    output = str(out / "profile.txt") if command in ("textfmt", "percent") else str(out)
    if command == "textfmt":
        (out / "profile.txt").write_bytes(b"")
    name, _, flag = command.partition("-")  # "merge-pcombine": merge -pcombine
    request = Request(inputs=inputs, output=output, packages=pkg, pcombine=flag == "pcombine")
    outcome = runner(name, request)
    files = sorted(
        (p.name.rsplit(".", 2)[0] if p.name.startswith("covcounters") else p.name, p.read_bytes())
        for p in out.iterdir()
    )
    return (None if outcome is None else outcome.stdout), files


@settings(max_examples=300, deadline=None)
@given(
    packages=PACKAGES,
    modes=st.lists(MODES, min_size=1, max_size=3),
    other=st.none() | PACKAGES,
    runs=st.lists(st.lists(st.integers(0, 5), min_size=1, max_size=5), min_size=0, max_size=3),
    command=st.sampled_from(
        [
            "textfmt",
            "percent",
            "func",
            "pkglist",
            "merge",
            "merge-pcombine",
            "subtract",
            "intersect",
        ]
    ),
    pkg=st.sampled_from(["", "x/...", "y"]),
)
def test_small_path_equals_full_path(
    packages: list,
    modes: list[CounterMode],
    other: list | None,
    runs: list[list[int]],
    command: str,
    pkg: str,
) -> None:
    # The same packages in several binaries (other modes, other counters) make the same
    # units meet in one report; `other` adds a binary of different packages.
    binaries = [(packages, mode) for mode in modes] + ([(other, modes[0])] if other else [])
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        inputs = []
        for index, (binary, mode) in enumerate(binaries):
            directory = root / f"in{index}"
            directory.mkdir()
            _write_binary(directory, binary, mode, [r[index:] or r for r in runs])
            inputs.append(str(directory))
        for name in ("small", "small-python", "full", "full-kernels"):
            (root / name).mkdir()
        try:
            with python_paths():  # the reference: the full path without the kernels
                expected = _outputs(run, command, inputs, root / "full", pkg)
        except Exception as exc:  # noqa: BLE001 - a mode clash: small must hand over
            assert _outputs(small.run_small, command, inputs, root / "small", pkg)[0] is None, exc
            with python_paths():
                outcome = _outputs(small.run_small, command, inputs, root / "small-python", pkg)
            assert outcome[0] is None, exc
            return
        assert _outputs(small.run_small, command, inputs, root / "small", pkg) == expected
        assert _outputs(run, command, inputs, root / "full-kernels", pkg) == expected
        with python_paths():
            actual = _outputs(small.run_small, command, inputs, root / "small-python", pkg)
        if command in small.FILTER_COMMANDS:  # only with the kernels: the full path runs
            assert actual == (None, [])
        else:
            assert actual == expected
