"""Process entry point: `covdata` goes straight to its Go-compatible front end.

covdata runs are often short, so they skip the click tree and logging set-up
(about 35 ms, a quarter of the start-up); everything else goes through `cli`.
covdata never calls BLAS, so numpy's OpenBLAS starts no thread pool for it (about 25 ms
of CPU time saved when numpy loads) unless the user asked for one.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run `coverage-collector` with `argv` (default: the process arguments)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["covdata"]:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        from coverage_collector.covdata.cli import run_covdata

        return run_covdata(args[1] if len(args) > 1 else None, args[2:])
    from coverage_collector.cli import main as cli_main

    return cli_main(args)
