"""`coverage-collector covdata <cmd>`: `go tool covdata`'s command line, byte for byte.

Dispatch, flag parsing, usage texts, the checks of each subcommand's `Setup`, the
messages, the `-v` trace lines (stdout and stderr, every level) and the exit
statuses (0, 1 for an error, 2 for a bad command line) are Go 1.27's `cmd/covdata`,
so scripts and CI logs that read Go's output read ours. Counter files without their
meta file are skipped silently and the `-o` directory of merge, subtract and
intersect is not created, as in Go.

The differences from Go, all deliberate:

- `debugdump`'s banner names the command that produced the dump as
  `coverage-collector covdata debugdump ...`; Go names the path of its `covdata`
  executable (a build-cache path that differs between machines anyway).
- `-h` and `-hw` (panic on errors/warnings, for a Go stack trace) are accepted and
  change nothing: there is no Go stack to show. `-cpuprofile` and `-memprofile`
  create their file (so a bad path fails as in Go) and leave it empty: there is no
  Go runtime to profile. `-memprofilerate` is accepted and ignored.
- Input Go mishandles gets a one-line error naming the file and the defect (exit 1)
  instead of Go's panic (exit 2 and a goroutine dump): a counter file with an
  unknown flavor or fewer counters than its function has units, a meta file whose
  truncated blobs Go maps and reads past (see go-coverage-format.md §5); and
  `subtract`/`intersect` over several binaries spread across the inputs, which Go
  aborts with "decreasing dir index", are computed binary by binary.
- A corrupt file that Go rejects before reading its records (empty, truncated, bad
  magic or version, no segments, tables past the end, insane package offsets, an
  unreadable blob) gets Go's message (`covdata.gowording`). One whose records or
  blobs are corrupt gets our one-line message naming the file and the defect,
  with Go's exit status (1), where Go says e.g. `error: error: reading counter
  data file F: EOF` (possibly after warnings about the garbage it read).
- `warning: uint32 overflow during counter merge` is printed once per binary whose
  sums saturate (Go: once per record merge that saturates), and a counter record
  for an unknown function is warned about by every command (Go: only by the
  reports and debugdump; merge, subtract and intersect drop it silently).
- An output file of merge, subtract or intersect that can't be written is removed
  (Go leaves it empty or partial); the message is Go's. When `percent -o FILE` can't
  write FILE, Go has already printed the percentages; we print only the error.
- Standard output that can't be written (`> /dev/full`, a closed pipe) ends the run
  with `error: Couldn't write to standard output: ...` and status 1; Go ignores the
  failed write (status 0) or dies of SIGPIPE.
- Messages are printed as raw bytes, as Go prints them, except on a terminal, where
  control characters in file names are shown escaped.
"""

from __future__ import annotations

import os
import sys

from coverage_collector import goflags
from coverage_collector.covdata.decodeerrors import CounterDecodeError, MetaDecodeError
from coverage_collector.covdata.goerrors import path_error
from coverage_collector.covdata.gowording import go_error
from coverage_collector.covdata.metagroups import InputDirError
from coverage_collector.covdata.request import Outcome, Request
from coverage_collector.covdata.small import run_small
from coverage_collector.covdata.trace import STDOUT, StdoutFailedError, Trace, write_stderr
from coverage_collector.covdata.usage import COMMANDS, command_usage, flags_of, overview
from coverage_collector.exceptions import CollectorError, CovDataError
from coverage_collector.trust import terminal

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CANCELLED = 130
PROGRAM = "coverage-collector covdata"
"""What the debugdump banner names as the program (Go: its executable's path)."""


class _UsageExitError(Exception):
    """A command line Go answers with a usage text on stderr and exit status 2."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def run_covdata(command: str | None, args: list[str]) -> int:
    """Run one covdata command line; return the exit status.

    Standard output that can't be written (`> /dev/full`, a closed pipe) ends the
    run with one line on stderr and status 1, as any other failure does.
    """
    try:
        status = _run(command, args)
        STDOUT.flush()
    except StdoutFailedError as exc:
        return _stdout_failed(exc.cause)
    return status


def _run(command: str | None, args: list[str]) -> int:
    if command is None:
        _stderr(overview("missing command selector"))
        return EXIT_USAGE
    try:
        request = _parse(command, args)
    except _UsageExitError as exc:
        _stderr(exc.text)
        return EXIT_USAGE
    except CollectorError as exc:
        _stderr(f"error: {exc.message}\n")
        return EXIT_ERROR
    request.trace.dbg(1, "starting perform")
    try:
        outcome = _perform(command, request)
    except InputDirError as exc:  # the reader's error: Go's main prints it and goes on
        _stderr(f"error: {exc.message}\n")
        request.trace.dbg(1, "leaving main")
        return EXIT_ERROR
    except (MetaDecodeError, CounterDecodeError) as exc:
        return _decode_failed(command, exc, request.trace)
    except CollectorError as exc:
        _stderr(f"error: {exc.message}\n")
        return EXIT_ERROR
    except StdoutFailedError:
        raise
    except KeyboardInterrupt:
        _stderr("Cancelled by user\n")
        return EXIT_CANCELLED
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks
        _stderr(f"error: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_ERROR
    STDOUT.write(outcome.stdout)
    request.trace.dbg(1, "leaving main")
    return EXIT_OK


def _perform(command: str, request: Request) -> Outcome:
    """Run the subcommand: small inputs without numpy, anything else on the full path."""
    outcome = run_small(command, request)
    if outcome is None:
        from coverage_collector.covdata.commands import run

        outcome = run(command, request)
    return outcome


def _decode_failed(command: str, exc: MetaDecodeError | CounterDecodeError, trace: Trace) -> int:
    """Report a corrupt input file in Go's words where Go rejects it cleanly, else in ours."""
    go = go_error(command, exc)
    _stderr(f"error: {go.message if go else exc.message}\n")
    if go and go.from_reader:
        trace.dbg(1, "leaving main")
    return EXIT_ERROR


def _parse(command: str, args: list[str]) -> Request:
    """Check the command line as Go's `main` and the subcommand's `Setup` do.

    Raises `_UsageExitError` with Go's usage text, `CovDataError` for Go's fatal errors.
    Returns the request to run.
    """
    if command not in COMMANDS:
        raise _UsageExitError(overview(f"unknown command selector {goflags.go_quote(command)}"))
    try:
        flags = goflags.parse(args, flags_of(command))
    except goflags.FlagError as exc:
        raise _UsageExitError(f"{exc.message}\n{command_usage(command)}") from None
    except goflags.HelpRequestedError:
        raise _UsageExitError(command_usage(command)) from None
    trace = Trace(flags.integer("v"))
    trace.dbg(1, "starting mode-independent setup")
    if flags.args:
        raise _UsageExitError(command_usage(command, "unknown extra arguments"))
    for profile in ("cpuprofile", "memprofile"):
        if flags.string(profile):
            _create(flags.string(profile))
    _setup(command, flags)
    if command == "debugdump":
        from coverage_collector.covdata.dumpformat import banner

        STDOUT.write(banner(PROGRAM, args))
    return Request(
        inputs=flags.string("i").split(","),
        output=flags.string("o"),
        packages=flags.string("pkg"),
        pcombine=flags.boolean("pcombine"),
        live=flags.boolean("live"),
        warn=_warn,
        trace=trace,
    )


def _setup(command: str, flags: goflags.ParsedFlags) -> None:
    """Refuse what the subcommand's Go `Setup` refuses; create textfmt's output file."""
    inputs, output = flags.string("i"), flags.string("o")
    no_inputs = "select input directories with '-i' option"
    if command in ("subtract", "intersect"):
        # Go's sstate.Setup answers with the overview, not with its own usage.
        if not inputs:
            raise _UsageExitError(overview(no_inputs))
        if command == "subtract" and len(inputs.split(",")) != 2:
            raise _UsageExitError(overview("supply exactly two input dirs for subtract operation"))
        if not output:
            raise _UsageExitError(overview("select output directory with '-o' option"))
        return
    if not inputs:
        raise _UsageExitError(command_usage(command, no_inputs))
    if command == "merge" and not output:
        raise _UsageExitError(command_usage(command, "select output directory with '-o' option"))
    if command == "textfmt" or (command == "percent" and output):
        if not output:
            raise _UsageExitError(
                command_usage(command, "select output file name with '-o' option")
            )
        try:
            _create(output)
        except CovDataError as exc:
            message = (
                f"unable to open textfmt output file {goflags.go_quote(output)}: {exc.message}"
            )
            raise _UsageExitError(command_usage(command, message)) from None


def _create(path: str) -> None:
    """Create or empty `path` as Go's `os.Create` does; raise `CovDataError` with Go's text."""
    try:
        with open(path, "wb"):
            pass
    except OSError as exc:
        raise CovDataError(path_error("open", path, exc)) from None


def _stdout_failed(exc: OSError) -> int:
    """Report a failed write to standard output; point it at /dev/null so that the
    interpreter's own flush at exit finds nothing left to fail on."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    _stderr(f"error: Couldn't write to standard output: {exc.strerror or exc}\n")
    return EXIT_ERROR


def _stderr(text: str) -> None:
    """Write `text` to stderr as Go does (raw bytes), escaping control characters on a
    terminal."""
    if sys.stderr.isatty():
        text = "\n".join(terminal(line) for line in text.split("\n"))
    write_stderr(text)


def _warn(message: str) -> None:
    _stderr(f"warning: {message}\n")
