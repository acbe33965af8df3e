"""`coverage-collector covdata <cmd>`: Go-style flags in, covdata's bytes and exit codes out."""

from __future__ import annotations

import sys

from coverage_collector import goflags
from coverage_collector.covdata.commands import COMMANDS, Request, run
from coverage_collector.exceptions import CollectorError, UsageError

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
    """Run one covdata command line; return the exit status."""
    if command is None:
        sys.stderr.write(OVERVIEW)
        return 2
    if command in ("-h", "-help", "--help", "help"):
        sys.stdout.write(OVERVIEW)
        return 0
    if command not in COMMANDS:
        sys.stderr.write(f"error: unknown covdata command {command!r}\n\n{OVERVIEW}")
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
        sys.stderr.write(f"error: {exc.message}\n{goflags.usage(command, specs)}")
        return 2
    except CollectorError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("Cancelled by user\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        return 1
    sys.stdout.buffer.write(outcome.stdout)
    sys.stdout.flush()
    for problem in outcome.problems:
        sys.stderr.write(f"error: {problem}\n")
    return 1 if outcome.problems else 0


def _warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
