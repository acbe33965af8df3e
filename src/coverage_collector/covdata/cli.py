"""`coverage-collector covdata <cmd>`: Go-style flags in, covdata's bytes and exit codes out."""

from __future__ import annotations

import os
import sys

from coverage_collector import goflags
from coverage_collector.covdata.commands import COMMANDS, Outcome, Request, run
from coverage_collector.exceptions import CollectorError, UsageError
from coverage_collector.trust import terminal

INPUT = goflags.FlagSpec("i", "Input dirs to examine (comma separated)")
PKG = goflags.FlagSpec("pkg", "Restrict output to package(s) matching specified package pattern.")
VERBOSE = goflags.FlagSpec("v", "Verbose trace output level (accepted for compatibility)")
OUT_FILE = goflags.FlagSpec("o", "Output text format to file")
OUT_DIR = goflags.FlagSpec("o", "Output directory to write")
PCOMBINE = goflags.FlagSpec(
    "pcombine", "Combine profiles derived from distinct program executables", boolean=True
)
HELP = [
    goflags.FlagSpec("h", "Show this help", boolean=True),
    goflags.FlagSpec("help", "Show this help", boolean=True),
]

FLAGS = {
    "textfmt": [INPUT, PKG, VERBOSE, OUT_FILE],
    "percent": [INPUT, PKG, VERBOSE, OUT_FILE],
    "func": [INPUT, PKG, VERBOSE],
    "pkglist": [INPUT, PKG, VERBOSE],
    "merge": [INPUT, PKG, VERBOSE, OUT_DIR, PCOMBINE],
    "subtract": [INPUT, PKG, VERBOSE, OUT_DIR],
    "intersect": [INPUT, PKG, VERBOSE, OUT_DIR],
}
OVERVIEW = """usage: coverage-collector covdata <command> -i=<dirs> [flags]

Commands (byte-identical to `go tool covdata`, no Go toolchain needed):
  textfmt     convert coverage data to textual format (-o FILE)
  percent     output total percentage of statements covered
  pkglist     output list of package import paths
  func        output coverage profile information for each function
  merge       merge data files together (-o DIR, -pcombine)
  subtract    subtract one set of data files from another set (-o DIR)
  intersect   generate intersection of sets of data files (-o DIR)
"""


def run_covdata(command: str | None, args: list[str]) -> int:
    """Run one covdata command line; return the exit status.

    Standard output that can't be written (`> /dev/full`, a closed pipe) ends the
    run with one line on stderr and status 1, as any other failure does.
    """
    try:
        status = _run(command, args)
        sys.stdout.flush()
    except OSError as exc:
        return _stdout_failed(exc)
    return status


def _run(command: str | None, args: list[str]) -> int:
    if command is None:
        sys.stderr.write(OVERVIEW)
        return 2
    if command in ("-h", "-help", "--help", "help"):
        sys.stdout.write(OVERVIEW)
        return 0
    if command not in COMMANDS:
        sys.stderr.write(f"error: unknown covdata command {terminal(repr(command))}\n\n{OVERVIEW}")
        return 2
    specs = FLAGS[command]
    try:
        values, rest = goflags.parse(args, specs + HELP)
        if values.get("h") or values.get("help"):
            sys.stdout.write(goflags.usage(command, specs))
            return 0
        if rest:
            raise UsageError(f"unknown extra arguments: {' '.join(rest)}")
        if not values.get("i"):
            raise UsageError("select input directories with '-i' option")
        request = Request(
            inputs=str(values["i"]).split(","),
            output=str(values.get("o", "")),
            packages=str(values.get("pkg", "")),
            pcombine=bool(values.get("pcombine", False)),
            warn=_warn,
        )
        outcome = run(command, request)
    except UsageError as exc:
        sys.stderr.write(f"error: {terminal(exc.message)}\n{goflags.usage(command, specs)}")
        return 2
    except CollectorError as exc:
        sys.stderr.write(f"error: {terminal(exc.message)}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("Cancelled by user\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {terminal(str(exc))}\n")
        return 1
    return _emit(outcome)


def _emit(outcome: Outcome) -> int:
    """Write the command's output, then its problems (even when stdout failed)."""
    status = 1 if outcome.problems else 0
    try:
        sys.stdout.buffer.write(outcome.stdout)
        sys.stdout.flush()
    except OSError as exc:
        status = _stdout_failed(exc)
    for problem in outcome.problems:
        sys.stderr.write(f"error: {terminal(problem)}\n")
    return status


def _stdout_failed(exc: OSError) -> int:
    """Report a failed write to standard output; point it at /dev/null so that the
    interpreter's own flush at exit finds nothing left to fail on."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    sys.stderr.write(f"error: Couldn't write to standard output: {exc.strerror or exc}\n")
    return 1


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {terminal(message)}\n")
