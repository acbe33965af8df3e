"""Process entry point: `covdata` goes straight to its Go-compatible front end.

covdata runs are often short, so they skip the click tree and logging set-up
(about 35 ms, a quarter of the start-up); everything else goes through `cli`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run `coverage-collector` with `argv` (default: the process arguments)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["covdata"]:
        from coverage_collector.covdata.cli import run_covdata

        return run_covdata(args[1] if len(args) > 1 else None, args[2:])
    from coverage_collector.cli import main as cli_main

    return cli_main(args)
