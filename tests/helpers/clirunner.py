"""Run the command line in-process, as a user would, and capture what it prints.

`run_cli` goes through `cli.main` (the only place where errors become messages and exit
codes) inside click's CliRunner isolation, so stdout, stderr and the environment are
the test's own; logging is set back to stderr-only afterwards (no log file stays open).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from click.testing import CliRunner

from coverage_collector import cli, logs


@dataclass(frozen=True)
class CliResult:
    status: int
    out: str
    err: str


def run_cli(*args: str, env: Mapping[str, str | None] | None = None) -> CliResult:
    """Run `coverage-collector ARGS...`; return its exit status and output."""
    runner = CliRunner()
    try:
        with runner.isolation(env=env) as (out, err, _):
            status = cli.main(list(args))
            sys.stdout.flush()  # print() buffers in the isolated streams
            sys.stderr.flush()
            return CliResult(status, out.getvalue().decode(), err.getvalue().decode())
    finally:
        logs.configure("info")
