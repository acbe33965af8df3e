"""Every message, usage text, flag error, trace line and exit status of `covdata` is Go's.

Each case runs one command line with `go tool covdata` (Go 1.27.3) and with ours and
compares stdout, stderr and the exit status byte for byte. Placeholders in the
arguments name real data sets and paths made for the case:

    {lab}     lab_count (one binary, three runs)     {d1} {d2}  the two_dirs inputs
    {clash}   mixed_modes (count and set binaries)   {orphan}   panic_orphan (orphans)
    {out}     an existing, empty output directory    {file}     a regular file
    {txt}     an output file to create               {missing}  a path in no directory
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.covdatarun import Run, assert_same_run, ours, theirs
from tests.helpers.gofixtures import Dataset, require_dataset

COMMANDS = ["textfmt", "percent", "func", "pkglist", "debugdump", "merge", "subtract", "intersect"]


OUTPUTS = {
    "textfmt": "-o={txt}",
    "merge": "-o={out}",
    "subtract": "-o={out}",
    "intersect": "-o={out}",
}
"""The -o each command needs."""


def _valid(command: str, inputs: str) -> list[str]:
    """A command line `command` accepts, reading `inputs` (subtract: twice, if one)."""
    if command == "subtract" and "," not in inputs:
        inputs = f"{inputs},{inputs}"
    return [command, f"-i={inputs}", *([OUTPUTS[command]] if command in OUTPUTS else [])]


TOP_LEVEL = [
    [],
    ["frobnicate"],
    ["-h"],
    ["-help"],
    ["--help"],
    ["help"],
    ["-i={lab}"],
    ["Percent"],
    ["caf\u00e9\t\x01"],
]
FLAG_ERRORS = [
    ["-bogus"],
    ["-help"],
    ["--help"],
    ["-h"],
    ["-i"],
    ["-v=abc", "-i={lab}"],
    ["-v", "99999999999999999999", "-i={lab}"],
    ["-v=-0x8000000000000001"],
    ["-v=1_"],
    ["-v", "0x"],
    ["-v=\udcff"],
    ["---i=x"],
    ["-=x"],
    ["-live=maybe"],
    ["-pcombine=2"],
    ["-hw=yes"],
    ["-memprofilerate=x"],
]
PER_COMMAND: list[tuple[str | None, list[str]]] = [
    (None, []),
    ("{lab}", ["extra"]),
    ("{lab}", ["--", "-x"]),
    ("not there", []),
    ("{file}", []),
    ("{lab},", []),
    ("{lab}", ["-cpuprofile={missing}"]),
    ("{lab}", ["-memprofile={missing}"]),
]
"""(inputs, more arguments) tried on every command; None: no arguments at all."""
SPECIFIC = [
    ["textfmt", "-i={lab}"],
    ["textfmt", "-i={lab}", "-o={missing}"],
    ["textfmt", "-i={lab}", "-o={out}"],
    ["textfmt", "-i={clash}", "-o={txt}"],
    ["percent", "-i={lab}", "-o={missing}"],
    ["percent", "-i={clash}"],
    ["func", "-i={clash}"],
    ["pkglist", "-i={clash}"],
    ["merge", "-i={lab}"],
    ["merge", "-i={lab}", "-o={missing}"],
    ["merge", "-i={lab}", "-o={file}"],
    ["merge", "-i={lab}", "-o={missing}", "-pcombine"],
    ["merge", "-i={lab}", "-o={missing}", "-pkg=example.com/lab/a"],
    ["merge", "-i={clash}", "-o={out}"],
    ["merge", "-i={out}", "-o={out}", "-pcombine"],
    ["subtract", "-i={lab}", "-o={out}"],
    ["subtract", "-i={d1},{d2},{d1}", "-o={out}"],
    ["subtract", "-i={d1},{d2}"],
    ["subtract", "-o={out}"],
    ["intersect", "-i={d1},{d2}"],
    ["intersect", "-o={out}"],
    ["intersect", "-i={d1}", "-o={missing}"],
    ["debugdump", "-i={lab}", "extra"],
]
TRACED = ["-v=1", "-v=2", "-v=3", "-v=0x4", "-v=5", "-v", "-7"]
"""Trace levels: 1 run and meta groups, 2 files, 3 merge's functions, 4 merge's writes,
5 records."""
TRACED_MERGES = [
    ["merge", "-i={d1},{d2}", "-o={out}", "-pcombine"],
    ["merge", "-i={clash}", "-o={out}", "-pcombine"],
    ["merge", "-i={lab}", "-o={out}", "-pkg=example.com/lab/a,example.com/lab/c"],
    ["intersect", "-i={d1},{d2}", "-o={out}", "-pkg=example.com/lab/a"],
]


def _cases() -> list[list[str]]:
    cases = list(TOP_LEVEL)
    cases += [[command, *flags] for command in ("percent", "merge") for flags in FLAG_ERRORS]
    cases += [[command, "-bogus"] for command in COMMANDS]
    cases += [[command, "-help"] for command in COMMANDS]
    cases += [[command, "-v=abc"] for command in COMMANDS]
    for command in COMMANDS:
        for inputs, more in PER_COMMAND:
            cases.append([*_valid(command, inputs), *more] if inputs else [command])
    cases += SPECIFIC
    cases += [_valid(command, "{orphan}") for command in COMMANDS]
    traced = [command for command in COMMANDS if command != "debugdump"]  # its own tests
    cases += [[*_valid(command, "{d1},{d2}"), level] for command in traced for level in TRACED]
    cases += [[*merge, level] for merge in TRACED_MERGES for level in ("-v=3", "-v=5")]
    return cases


CASES = _cases()


@pytest.fixture
def places(go_datasets: dict[str, Dataset], tmp_path: Path) -> dict[str, str]:
    """The placeholders' values for one case."""
    two_dirs = require_dataset(go_datasets, "two_dirs").dirs
    (tmp_path / "plain").write_text("not a directory\n")
    return {
        "lab": str(require_dataset(go_datasets, "lab_count").dirs[0]),
        "clash": str(require_dataset(go_datasets, "mixed_modes").dirs[0]),
        "orphan": str(require_dataset(go_datasets, "panic_orphan").dirs[0]),
        "d1": str(two_dirs[0]),
        "d2": str(two_dirs[1]),
        "out": str(tmp_path / "out"),
        "txt": str(tmp_path / "out.txt"),
        "file": str(tmp_path / "plain"),
        "missing": str(tmp_path / "missing" / "x"),
    }


def _fresh_outputs(places: dict[str, str]) -> None:
    """Give each run the same empty output directory and no output file."""
    shutil.rmtree(places["out"], ignore_errors=True)
    Path(places["out"]).mkdir()
    Path(places["txt"]).unlink(missing_ok=True)


def run_both(go_toolchain: Path, template: list[str], places: dict[str, str]) -> tuple[Run, Run]:
    """Run the command line `template` (placeholders filled in) with Go, then with us."""
    args = [arg.format(**places) for arg in template]
    _fresh_outputs(places)
    expected = theirs(go_toolchain, args)
    _fresh_outputs(places)
    return expected, ours(args)


def _case_id(template: list[str]) -> str:
    return " ".join(template) or "<no arguments>"


@pytest.mark.parametrize("template", CASES, ids=[_case_id(case) for case in CASES])
def test_output_and_status_are_gos(
    template: list[str], places: dict[str, str], go_toolchain: Path
) -> None:
    # stdout, stderr and the exit status, byte for byte, for the same command line (only
    # the program name in a debugdump banner differs).
    expected, actual = run_both(go_toolchain, template, places)
    assert_same_run(expected, actual)


def test_cases_cover_every_exit_status(go_toolchain: Path, places: dict[str, str]) -> None:
    # The cases provoke usage errors (2), fatal errors (1) and successes (0) alike.
    statuses = {
        run_both(go_toolchain, case, places)[0].status
        for case in (["percent", "-bogus"], ["percent", "-i=not there"], ["percent", "-i={lab}"])
    }
    assert statuses == {0, 1, 2}


def test_textfmt_output_of_a_mode_clash_is_left_empty(
    go_toolchain: Path, places: dict[str, str]
) -> None:
    # Go creates the -o file before reading: a failed run leaves it empty, ours too.
    args = ["textfmt", "-i={clash}", "-o={txt}"]
    run_both(go_toolchain, args, places)
    assert Path(places["txt"]).read_bytes() == b""


def test_merge_into_a_missing_directory_creates_nothing(
    go_toolchain: Path, places: dict[str, str]
) -> None:
    # covdata doesn't create the -o directory; neither do we.
    expected, actual = run_both(go_toolchain, ["merge", "-i={lab}", "-o={missing}"], places)
    assert expected.status == actual.status == 1
    assert not Path(places["missing"]).parent.exists()


def test_control_characters_are_escaped_only_on_a_terminal(
    tmp_path: Path, go_toolchain: Path
) -> None:
    # Go prints a file name's bytes as they are; so do we, except to a terminal, where
    # an escape sequence in a name from an untrusted directory is shown, not obeyed.
    missing = str(tmp_path / "not\x1b[2Jthere")
    piped = ours(["percent", f"-i={missing}"])
    assert piped == theirs(go_toolchain, ["percent", f"-i={missing}"])
    assert b"\x1b[2J" in piped.stderr
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "coverage_collector", "covdata", "percent", f"-i={missing}"],
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            check=False,
        )
        shown = os.read(controller, 4096)
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert b"not\\x1b[2Jthere" in shown and b"\x1b" not in shown
