"""The numpy-free path for small inputs (`covdata.small`) against Go's own `go tool covdata`.

Every data set is run on the small path (forced with `SMALL_PATH`, whatever its size) and
compared with Go byte for byte; test_covdata_oracle runs the full path on the same data.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coverage_collector.covdata import small, speedups
from coverage_collector.covdata.request import Request
from coverage_collector.covdata.writer import FuncCounters, encode_counter_file
from coverage_collector.demo import SAMPLE
from tests.helpers.covdatarun import (
    FULL_PATH,
    KERNEL_MODES,
    SMALL_PATH,
    Run,
    assert_same_merge,
    counter_contents,
    ours,
    theirs,
)
from tests.helpers.gofixtures import DATASET_NAMES, Dataset, require_dataset, skip_or_fail

REPORTS = ["percent", "func", "pkglist"]
FILTERS = {
    "lab_count": "example.com/lab/...",
    "two_binaries": "example.com/...",
    "go126_features": "example.com/features/gen",
    "coverpkg_all": "runtime,internal/...,example.com/...",
}
MERGES = [
    ("lab_count", []),
    ("two_binaries", ["-pcombine"]),
    ("mixed_modes", ["-pcombine"]),
    ("go125_features", ["-pcombine", "-pkg=example.com/..."]),
    ("two_binaries", []),
    ("lab_set", ["-pkg=example.com/lab/a,example.com/lab/c"]),
    ("many_runs", ["-pkg=example.com/..."]),
    ("two_dirs", []),
    ("go121", []),
    ("go124_features", []),
    ("go126", []),
    ("empty_counters", []),
]


@pytest.fixture(params=DATASET_NAMES)
def dataset(request: pytest.FixtureRequest, go_datasets: dict[str, Dataset]) -> Dataset:
    return require_dataset(go_datasets, request.param)


def taken(command: str, data: Dataset, output: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Return whether `command` on `data` runs on the small path (in this process)."""
    monkeypatch.setenv(small.LIMIT_VARIABLE, SMALL_PATH[small.LIMIT_VARIABLE])
    request = Request(inputs=[str(d) for d in data.dirs], output=output)
    return small.run_small(command, request) is not None


@pytest.mark.parametrize("kernels", KERNEL_MODES)
@pytest.mark.parametrize("report", REPORTS)
def test_reports_match_go(
    report: str,
    kernels: str,
    dataset: Dataset,
    go_toolchain: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each report prints what covdata prints, and clean data does take the small path.
    assert taken(report, dataset, "", monkeypatch)
    expected = theirs(go_toolchain, [report, dataset.i_arg])
    assert expected.status == 0, expected.stderr
    assert ours([report, dataset.i_arg], {**SMALL_PATH, **KERNEL_MODES[kernels]}) == expected


@pytest.mark.parametrize("kernels", KERNEL_MODES)
def test_textfmt_matches_go(
    kernels: str,
    dataset: Dataset,
    go_toolchain: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same text profile; a mode clash falls back to the full path and fails as Go does.
    go_file, our_file = tmp_path / "go.txt", tmp_path / "ours.txt"
    assert taken("textfmt", dataset, str(tmp_path / "probe.txt"), monkeypatch) is not (
        dataset.mode_clash
    )
    expected = theirs(go_toolchain, ["textfmt", dataset.i_arg, f"-o={go_file}"])
    actual = ours(
        ["textfmt", dataset.i_arg, f"-o={our_file}"], {**SMALL_PATH, **KERNEL_MODES[kernels]}
    )
    assert (actual.status, actual.stderr) == (expected.status, expected.stderr)
    assert our_file.read_bytes() == go_file.read_bytes()


@pytest.mark.parametrize("name", sorted(FILTERS))
@pytest.mark.parametrize("report", ["percent", "func"])
def test_package_filter_matches_go(
    name: str, report: str, go_datasets: dict[str, Dataset], go_toolchain: Path
) -> None:
    data = require_dataset(go_datasets, name)
    args = [report, data.i_arg, f"-pkg={FILTERS[name]}"]
    expected = theirs(go_toolchain, args)
    assert expected.status == 0 and expected.stdout, expected.stderr
    assert ours(args, SMALL_PATH) == expected


def test_percent_writes_the_profile_too(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    data = require_dataset(go_datasets, "lab_atomic")
    expected = theirs(go_toolchain, ["percent", data.i_arg, f"-o={tmp_path / 'go.txt'}"])
    actual = ours(["percent", data.i_arg, f"-o={tmp_path / 'ours.txt'}"], SMALL_PATH)
    assert actual == expected
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "go.txt").read_bytes()


@pytest.mark.parametrize("kernels", KERNEL_MODES)
@pytest.mark.parametrize(("name", "flags"), MERGES)
def test_merge_matches_go(
    name: str,
    flags: list[str],
    kernels: str,
    go_datasets: dict[str, Dataset],
    go_toolchain: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same meta files byte for byte and the same counter records, read back with Go.
    data = require_dataset(go_datasets, name)
    (tmp_path / "probe").mkdir()
    assert taken("merge", data, str(tmp_path / "probe"), monkeypatch)
    go_out, our_out = tmp_path / "go", tmp_path / "ours"
    go_out.mkdir()
    our_out.mkdir()
    expected = theirs(go_toolchain, ["merge", data.i_arg, *flags, f"-o={go_out}"])
    env = {**SMALL_PATH, **KERNEL_MODES[kernels]}
    actual = ours(["merge", data.i_arg, *flags, f"-o={our_out}"], env)
    assert (actual.status, actual.stderr) == (expected.status, expected.stderr) == (0, b"")
    assert_same_merge(go_toolchain, go_out, our_out, tmp_path)


def _add_counter_file(directory: Path, data: Dataset, records: list[FuncCounters]) -> None:
    """Copy `data`'s files into `directory`, with one more counter file holding `records`."""
    meta = data.meta_files()[0]
    tag = meta.name.removeprefix("covmeta.")
    for path in data.dirs[0].iterdir():
        (directory / path.name).write_bytes(path.read_bytes())
    content = encode_counter_file(bytes.fromhex(tag), {}, records)
    (directory / f"covcounters.{tag}.4242.1").write_bytes(content)


SUBTRACTIONS = [
    ("subtract", "two_dirs", []),
    ("intersect", "two_dirs", []),
    ("intersect", "two_dirs", ["-pkg=example.com/lab/a"]),
    ("subtract", "lab_count", []),
    ("subtract", "go124", []),
]


@pytest.mark.parametrize(("command", "name", "flags"), SUBTRACTIONS)
def test_subtract_intersect_match_go(
    command: str,
    name: str,
    flags: list[str],
    go_datasets: dict[str, Dataset],
    go_toolchain: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With the kernels, subtract and intersect take the small path and write what Go writes.
    if speedups.KERNELS is None:
        skip_or_fail("the compiled kernels were not built (checked in test_covdata_speedups)")
    data = require_dataset(go_datasets, name)
    dirs = list(data.dirs) if len(data.dirs) > 1 else [data.dirs[0], data.dirs[0]]
    i_arg = "-i=" + ",".join(map(str, dirs))
    (tmp_path / "probe").mkdir()
    monkeypatch.setenv(small.LIMIT_VARIABLE, SMALL_PATH[small.LIMIT_VARIABLE])
    probe = Request(inputs=[str(d) for d in dirs], output=str(tmp_path / "probe"))
    assert small.run_small(command, probe) is not None
    go_out, our_out = tmp_path / "go", tmp_path / "ours"
    go_out.mkdir()
    our_out.mkdir()
    expected = theirs(go_toolchain, [command, i_arg, *flags, f"-o={go_out}"])
    actual = ours([command, i_arg, *flags, f"-o={our_out}"], SMALL_PATH)
    assert (actual.status, actual.stderr) == (expected.status, expected.stderr) == (0, b"")
    assert {p.name for p in our_out.glob("covmeta.*")} == {p.name for p in go_out.glob("covmeta.*")}
    assert counter_contents(our_out) == counter_contents(go_out)


@pytest.mark.parametrize("command", ["subtract", "intersect"])
def test_subtract_intersect_of_several_binaries_are_the_full_paths(
    command: str, go_datasets: dict[str, Dataset], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where Go panics ("decreasing dir index"), the small path writes what the full path
    # writes (test_covdata_oracle checks that against Go binary by binary).
    if speedups.KERNELS is None:
        skip_or_fail("the compiled kernels were not built (checked in test_covdata_speedups)")
    data = require_dataset(go_datasets, "two_dirs_two_binaries")
    (tmp_path / "probe").mkdir()
    assert taken(command, data, str(tmp_path / "probe"), monkeypatch)
    outputs = {}
    for path, env in (("small", SMALL_PATH), ("full", FULL_PATH)):
        (tmp_path / path).mkdir()
        result = ours([command, data.i_arg, f"-o={tmp_path / path}"], env)
        assert (result.status, result.stderr) == (0, b"")
        outputs[path] = counter_contents(tmp_path / path)
    assert outputs["small"] == outputs["full"]
    assert len(outputs["small"]) == 2


@pytest.mark.parametrize("command", ["percent", "merge"])
def test_an_irregular_record_falls_back_to_the_full_path(
    command: str,
    go_datasets: dict[str, Dataset],
    go_toolchain: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A record of a function the meta file lacks: the small path hands the input over
    # before writing anything, and the full path prints Go's warning and result.
    data = require_dataset(go_datasets, "lab_count")
    directory = tmp_path / "in"
    directory.mkdir()
    _add_counter_file(directory, data, [FuncCounters(0, 999, [1, 2])])
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv(small.LIMIT_VARIABLE, SMALL_PATH[small.LIMIT_VARIABLE])
    request = Request(inputs=[str(directory)], output=str(out) if command == "merge" else "")
    assert small.run_small(command, request) is None
    assert list(out.iterdir()) == []
    if command == "percent":
        expected = theirs(go_toolchain, ["percent", f"-i={directory}"])
        assert b"func payload inconsistency" in expected.stderr
        assert ours(["percent", f"-i={directory}"], SMALL_PATH) == expected


def test_a_sum_past_32_bits_falls_back_to_the_full_path(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    # Go warns about the overflow and saturates: the full path does the same.
    data = require_dataset(go_datasets, "lab_count")
    directory = tmp_path / "in"
    directory.mkdir()
    saturated = FuncCounters(0, 0, [0xFFFFFFFF] * _units(data, 0, 0))
    _add_counter_file(directory, data, [saturated, saturated])
    expected = theirs(go_toolchain, ["func", f"-i={directory}"])
    assert b"overflow" in expected.stderr
    assert ours(["func", f"-i={directory}"], SMALL_PATH) == expected


def _units(data: Dataset, package: int, function: int) -> int:
    meta = small.read_small_meta(str(data.meta_files()[0]))
    return meta.packages[package].functions[function].n_units


def test_a_sample_entry_runs_without_numpy() -> None:
    # One cluster entry is small: covdata answers without importing numpy, and the answer
    # is the full path's.
    entry = next(p for p in sorted(SAMPLE.iterdir()) if p.is_dir())
    for command in ("percent", "func"):
        script = (
            "import sys\nfrom coverage_collector.entry import main\n"
            f"status = main(['covdata', {command!r}, '-i={entry}'])\n"
            "sys.stdout.flush()\nsys.stderr.write(str('numpy' in sys.modules))\n"
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
        assert result.stderr == b"False"
        full = ours([command, f"-i={entry}"], {small.LIMIT_VARIABLE: "0"})
        assert Run(result.stdout, b"", result.returncode) == Run(full.stdout, b"", full.status)
        assert full.stdout.count(b"\n") >= 2


def test_large_input_takes_the_full_path_without_the_kernels(
    go_datasets: dict[str, Dataset], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Above the limit, without the compiled kernels, nothing is read on the small path.
    monkeypatch.delenv(small.LIMIT_VARIABLE, raising=False)
    monkeypatch.setattr(speedups, "KERNELS", None)
    data = require_dataset(go_datasets, "gofmt")
    sizes = sum(p.stat().st_size for d in data.dirs for p in d.iterdir())
    assert sizes > small.SMALL_INPUT_BYTES
    request = Request(inputs=[str(d) for d in data.dirs])
    assert small.run_small("percent", request) is None


@pytest.mark.parametrize(("command", "taken"), [("percent", True), ("textfmt", False)])
def test_with_the_kernels_large_input_of_one_binary_takes_the_small_path(
    go_datasets: dict[str, Dataset], monkeypatch: pytest.MonkeyPatch, command: str, taken: bool
) -> None:
    # percent needs no unit table for one binary: the kernels take it at any size; textfmt's
    # sorted table is numpy's job.
    if speedups.KERNELS is None:
        pytest.skip("the compiled kernels were not built (checked in test_speedups)")
    monkeypatch.delenv(small.LIMIT_VARIABLE, raising=False)
    data = require_dataset(go_datasets, "gofmt")
    request = Request(inputs=[str(d) for d in data.dirs], output=os.devnull)
    assert (small.run_small(command, request) is not None) is taken


def test_debugdump_takes_the_small_path(dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    # Clean data is dumped without numpy (test_covdata_debugdump compares it with Go's).
    monkeypatch.setenv(small.LIMIT_VARIABLE, SMALL_PATH[small.LIMIT_VARIABLE])
    out = io.BytesIO()
    request = Request(inputs=[str(d) for d in dataset.dirs], stdout=out)
    assert small.run_small("debugdump", request) is not None
    assert out.getvalue().endswith(b"\n") and b"totalStmts: " in out.getvalue()
