"""Run one covdata command line with Go's `go tool covdata` and with ours, and compare.

The comparison is of everything a script or a CI log sees: standard output,
standard error and the exit status. Expected values always come from Go.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.gofixtures import cache_root, covdata, go_env

PRODUCED_BY = b" * produced by:"
"""The debugdump banner line before the one naming the program (Go: its executable path)."""


@dataclass(frozen=True)
class Run:
    """What one command line printed and how it exited."""

    stdout: bytes
    stderr: bytes
    status: int

    @classmethod
    def of(cls, result: subprocess.CompletedProcess[bytes]) -> Run:
        return cls(result.stdout, result.stderr, result.returncode)


def ours(args: list[str]) -> Run:
    """Run `coverage-collector covdata ARGS` in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-m", "coverage_collector", "covdata", *args],
        capture_output=True,
        check=False,
    )
    return Run.of(result)


def theirs(go_toolchain: Path, args: list[str]) -> Run:
    """Run `go tool covdata ARGS` (the oracle)."""
    return Run.of(covdata(go_toolchain, args, go_env(cache_root())))


def without_banner_program(stdout: bytes) -> tuple[list[bytes], bytes]:
    """Split a debugdump's stdout into its lines with the banner's program line blanked,
    and the command line named after the program (`debugdump ARGS`)."""
    lines = stdout.split(b"\n")
    if PRODUCED_BY not in lines:
        return lines, b""
    index = _program_line(lines)
    program_line = lines[index]
    lines[index] = b""
    return lines, program_line.partition(b" debugdump")[2]


def _program_line(lines: list[bytes]) -> int:
    return lines.index(PRODUCED_BY) + 1


def assert_same_run(expected: Run, actual: Run) -> None:
    """Assert that `actual` printed and exited as `expected` (Go's run), apart from the
    program name in a debugdump banner, which must be `coverage-collector covdata`."""
    assert actual.stderr.decode(errors="replace") == expected.stderr.decode(errors="replace")
    assert (actual.status, actual.stderr) == (expected.status, expected.stderr)
    assert without_banner_program(actual.stdout) == without_banner_program(expected.stdout)
    ours_lines, go_lines = actual.stdout.split(b"\n"), expected.stdout.split(b"\n")
    if PRODUCED_BY in go_lines:
        assert ours_lines[_program_line(ours_lines)].startswith(
            b" *\tcoverage-collector covdata debugdump "
        )
        assert go_lines[_program_line(go_lines)].startswith(b" *\t/")


def assert_same_debugdump(go_toolchain: Path, args: list[str]) -> Run:
    """Assert that our `debugdump ARGS` prints and exits as Go's (see `assert_same_run`);
    return Go's run."""
    expected = theirs(go_toolchain, ["debugdump", *args])
    assert_same_run(expected, ours(["debugdump", *args]))
    assert b"\n/* WARNING" in b"\n" + expected.stdout
    return expected
