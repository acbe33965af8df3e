"""`covdata debugdump` against Go's own, byte for byte, on every data set.

The one line allowed to differ is the banner's program name (Go prints the path of its
`covdata` executable, we print `coverage-collector covdata`); the rest of the banner,
the dump, stderr and the exit status must be Go's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.covdatarun import PATHS, assert_same_debugdump, ours
from tests.helpers.gofixtures import DATASET_NAMES, Dataset, require_dataset


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", DATASET_NAMES)
def test_debugdump_matches_go(
    name: str, path: str, go_datasets: dict[str, Dataset], go_toolchain: Path
) -> None:
    # Every data set, on the small (numpy-free) path and on the full one: modes, counter
    # files with their args, functions, units, totals.
    data = require_dataset(go_datasets, name)
    expected = assert_same_debugdump(go_toolchain, [data.i_arg], PATHS[path])
    assert expected.status == 0
    assert b"\nFunc: " in expected.stdout or name == "empty_counters"


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("lab_count", ["-live"]),
        ("lab_count", ["-live=true", "-pkg=example.com/lab/a"]),
        ("two_dirs", ["-live", "-pkg=example.com/..."]),
        ("two_binaries", ["-pkg=example.com/lab/a,example.com/lab/b"]),
        ("mixed_modes", ["-live"]),
        ("coverpkg_all", ["-live", "-pkg=runtime,internal/..."]),
        ("gofmt", ["-live=false", "-pkg=go/..."]),
        ("lab_set", ["-pkg=,"]),
        ("go121", ["-live"]),
    ],
)
@pytest.mark.parametrize("path", PATHS)
def test_debugdump_flags_match_go(
    name: str, flags: list[str], path: str, go_datasets: dict[str, Dataset], go_toolchain: Path
) -> None:
    # -live hides functions without counter records (their statements still count in the
    # totals); -pkg selects packages as everywhere else.
    data = require_dataset(go_datasets, name)
    assert_same_debugdump(go_toolchain, [*flags, data.i_arg], PATHS[path])


@pytest.mark.parametrize("level", ["-v=1", "-v=2", "-v=3", "-v=5"])
def test_debugdump_trace_matches_go(
    level: str, go_datasets: dict[str, Dataset], go_toolchain: Path
) -> None:
    # The -v trace lines land where Go prints them: stdout between the dump's lines
    # (level 5: each counter record and each function), the reader's lines on stderr.
    data = require_dataset(go_datasets, "two_dirs")
    expected = assert_same_debugdump(go_toolchain, [level, data.i_arg])
    assert b"starting perform" in expected.stdout


def test_debugdump_of_an_empty_directory_matches_go(go_toolchain: Path, tmp_path: Path) -> None:
    # No data: the banner, Go's warning and zero totals.
    expected = assert_same_debugdump(go_toolchain, [f"-i={tmp_path}"])
    assert expected.stdout.endswith(b"totalStmts: 0 coveredStmts: 0\n")


def test_debugdump_reads_merge_output_as_go_does(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    # What Go's own checks do with merge outputs: our merge, dumped by both.
    data = require_dataset(go_datasets, "two_binaries")
    merged = ours(["merge", data.i_arg, f"-o={tmp_path}", "-pcombine"])
    assert merged.status == 0, merged.stderr
    expected = assert_same_debugdump(go_toolchain, [f"-i={tmp_path}"])
    assert b"program args" not in expected.stdout  # the two binaries' args differ


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_a_dump_to_a_full_disk_is_one_line(buffered: bool, go_datasets: dict[str, Dataset]) -> None:
    # The dump streams; stdout failing halfway through a large one (buffered or not) ends
    # the run with one line, never blamed on an input file.
    data = require_dataset(go_datasets, "gofmt")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED" or not buffered}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "coverage_collector", "covdata", "debugdump", data.i_arg],
            stdout=full,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == b"error: Couldn't write to standard output: No space left on device\n"
