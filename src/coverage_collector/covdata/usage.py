"""The flags and usage texts of `go tool covdata` (Go 1.27 `cmd/covdata`), byte for byte.

Go defines its flags globally in `covdata.go` and per subcommand in `dump.go`,
`merge.go` and `subtractintersect.go`; the usage texts below are theirs, including
their quirks (`percent` ends with a blank line; `subtract` and `intersect` answer a
missing `-i`, a wrong number of inputs or a missing `-o` with the overview, not
their own usage).
"""

from __future__ import annotations

from coverage_collector.goflags import Flag, FlagKind, print_defaults

COMMON_FLAGS = [
    Flag("v", "Verbose trace output level", FlagKind.INT),
    Flag("h", "Panic on fatal errors (for stack trace)", FlagKind.BOOL),
    Flag("hw", "Panic on warnings (for stack trace)", FlagKind.BOOL),
    Flag("i", "Input dirs to examine (comma separated)"),
    Flag("pkg", "Restrict output to package(s) matching specified package pattern."),
    Flag("cpuprofile", "Write CPU profile to specified file"),
    Flag("memprofile", "Write memory profile to specified file"),
    Flag("memprofilerate", "Set memprofile sampling rate to value", FlagKind.INT),
]
_TEXT_OUT = Flag("o", "Output text format to file")
_DIR_OUT = Flag("o", "Output directory to write")
COMMAND_FLAGS = {
    "textfmt": [_TEXT_OUT],
    "percent": [_TEXT_OUT],
    "func": [],
    "pkglist": [],
    "debugdump": [
        Flag("live", "Select only live (executed) functions for dump output.", FlagKind.BOOL)
    ],
    "merge": [
        _DIR_OUT,
        Flag(
            "pcombine", "Combine profiles derived from distinct program executables", FlagKind.BOOL
        ),
    ],
    "subtract": [_DIR_OUT],
    "intersect": [_DIR_OUT],
}
"""The flags each subcommand adds to the common ones."""

OVERVIEW = """usage: go tool covdata [command]

Commands are:

textfmt     convert coverage data to textual format
percent     output total percentage of statements covered
pkglist     output list of package import paths
func        output coverage profile information for each function
merge       merge data files together
subtract    subtract one set of data files from another set
intersect   generate intersection of two sets of data files
debugdump   dump data in human-readable format for debugging purposes

For help on a specific subcommand, try:

go tool covdata <cmd> -help
"""

_EXAMPLES = {
    "pkglist": "  go tool covdata pkglist -i=dir1,dir2\n\n"
    "  \treads coverage data files from dir1+dirs2\n"
    "  \tand writes out a list of the import paths\n"
    "  \tof all compiled packages.\n",
    "textfmt": "  go tool covdata textfmt -i=dir1,dir2 -o=out.txt\n\n"
    "  \tmerges data from input directories dir1+dir2\n"
    "  \tand emits text format into file 'out.txt'\n",
    "percent": "  go tool covdata percent -i=dir1,dir2\n\n"
    "  \tmerges data from input directories dir1+dir2\n"
    "  \tand emits percentage of statements covered\n\n",
    "func": "  go tool covdata func -i=dir1,dir2\n\n"
    "  \treads coverage data files from dir1+dirs2\n"
    "  \tand writes out coverage profile data for\n"
    "  \teach function.\n",
    "debugdump": "  go tool covdata debugdump [flags] -i=dir1,dir2\n\n"
    "  \treads coverage data from dir1+dir2 and dumps\n"
    "  \tcontents in human-readable form to stdout, for\n"
    "  \tdebugging purposes.\n",
    "merge": "  go tool covdata merge -i=dir1,dir2,dir3 -o=outdir\n\n"
    "  \tmerges all files in dir1/dir2/dir3\n"
    "  \tinto output dir outdir\n",
    "subtract": "  go tool covdata subtract -i=dir1,dir2 -o=outdir\n\n"
    "  \tsubtracts dir2 from dir1, writing result\n"
    "  \tinto output dir outdir.\n",
    "intersect": "  go tool covdata intersect -i=dir1,dir2 -o=outdir\n\n"
    "  \tintersects dir2 with dir1, writing result\n"
    "  \tinto output dir outdir.\n",
}
_SYNOPSIS = {
    "merge": "merge -i=<directories> -o=<dir>",
    "subtract": "subtract -i=dir1,dir2 -o=<dir>",
    "intersect": "intersect -i=dir1,dir2 -o=<dir>",
}

COMMANDS = tuple(COMMAND_FLAGS)
"""Every subcommand Go's covdata knows."""


def flags_of(command: str) -> list[Flag]:
    """Return every flag `command` accepts."""
    return COMMON_FLAGS + COMMAND_FLAGS[command]


def _error_line(message: str) -> str:
    return f"error: {message}\n" if message else ""


def overview(message: str) -> str:
    """Return Go's top-level `usage(message)` text (exit status 2)."""
    return _error_line(message) + OVERVIEW


def command_usage(command: str, message: str = "") -> str:
    """Return what `go tool covdata <command>` prints for `op.Usage(message)` (exit 2)."""
    synopsis = _SYNOPSIS.get(command, f"{command} -i=<directories>")
    return (
        _error_line(message)
        + f"usage: go tool covdata {synopsis}\n\n"
        + print_defaults(flags_of(command))
        + "\nExamples:\n\n"
        + _EXAMPLES[command]
    )
