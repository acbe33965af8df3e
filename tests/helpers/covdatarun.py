"""Run one covdata command line with Go's `go tool covdata` and with ours, and compare.

The comparison is of everything a script or a CI log sees: standard output,
standard error and the exit status. Expected values always come from Go.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coverage_collector.covdata import speedups
from coverage_collector.covdata.counters import read_counters
from coverage_collector.covdata.small import LIMIT_VARIABLE
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


@contextmanager
def python_paths() -> Iterator[None]:
    """Run covdata in this process with the compiled kernels switched off (the subprocess
    equivalent is `PYTHON_PATHS` in the environment)."""
    saved = speedups.KERNELS
    speedups.KERNELS = None
    try:
        yield
    finally:
        speedups.KERNELS = saved


PYTHON_PATHS = {speedups.DISABLE_VARIABLE: "1"}
"""Environment that switches the compiled kernels off (their Python paths run)."""
KERNEL_MODES = {"compiled": {}, "python": PYTHON_PATHS}
"""Environments with the compiled kernels (when built) and with their Python paths."""
FULL_PATH = {LIMIT_VARIABLE: "0"}
"""Environment that sends every input to the full (numpy) path."""
SMALL_PATH = {LIMIT_VARIABLE: str(1 << 40)}
"""Environment that sends every clean input to the small (numpy-free) path."""
PATHS = {"small": SMALL_PATH, "full": FULL_PATH}
"""The small path and the full path, by name (for parametrized tests)."""


def ours(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run `coverage-collector covdata ARGS` in a fresh process, with `env` added to the
    environment (e.g. `FULL_PATH`)."""
    result = subprocess.run(
        [sys.executable, "-m", "coverage_collector", "covdata", *args],
        capture_output=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return Run.of(result)


def counter_contents(directory: Path) -> list[tuple[str, dict[str, str], list[tuple[int, ...]]]]:
    """Decode every counter file of `directory`: meta hash, args, records with counters
    (covdata names its outputs with pid 0; Go orders their string tables at random)."""
    contents = []
    for path in sorted(directory.glob("covcounters.*")):
        decoded = read_counters(str(path))
        records = [
            (int(p), int(f), *decoded.counters(i).tolist())
            for i, (p, f) in enumerate(zip(decoded.layout.pkgs, decoded.layout.funcs, strict=True))
        ]
        assert path.name.split(".")[2] == "0"  # pid 0, as covdata names its outputs
        contents.append((decoded.meta_hash.hex(), decoded.args, records))
    return sorted(contents)


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


def assert_same_debugdump(
    go_toolchain: Path, args: list[str], env: dict[str, str] | None = None
) -> Run:
    """Assert that our `debugdump ARGS` (`env` added to the environment) prints and exits as
    Go's (see `assert_same_run`); return Go's run."""
    expected = theirs(go_toolchain, ["debugdump", *args])
    assert_same_run(expected, ours(["debugdump", *args], env))
    assert b"\n/* WARNING" in b"\n" + expected.stdout
    return expected


def assert_same_merge(go_toolchain: Path, go_out: Path, our_out: Path, work: Path) -> None:
    """Assert that `our_out` holds what Go's merge wrote to `go_out`: the same meta files
    byte for byte, the same counter records, and the same text profile as Go's own `covdata
    textfmt` reads both (Go writes its counter files' string tables in map order)."""
    go_metas = {p.name: p.read_bytes() for p in go_out.glob("covmeta.*")}
    assert {p.name: p.read_bytes() for p in our_out.glob("covmeta.*")} == go_metas
    assert counter_contents(our_out) == counter_contents(go_out)
    profiles = []
    for tag, directory in (("go", go_out), ("ours", our_out)):
        text = work / f"{tag}-merged.txt"
        result = theirs(go_toolchain, ["textfmt", f"-i={directory}", f"-o={text}"])
        assert result.status == 0, result.stderr
        profiles.append(text.read_bytes())
    assert profiles[0] == profiles[1]
