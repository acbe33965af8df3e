"""`cluster diff` as a stage: compare (run.py), show the comparison, check the gates.

The comparison itself (`run.diff`) is shared with `cluster render --baseline`; this module
adds what only the command does: the table, JSON or Markdown on stdout, `diff.json` and
`diff.md` with `--output-dir`, and `--fail-under`/`--fail-on-lost`, whose verdicts are the
exit status (3, 4, 5: see gates.py).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from rich.console import Console

from coverage_collector import logs
from coverage_collector.diff import output
from coverage_collector.diff.gates import Gates, check
from coverage_collector.diff.run import DiffOptions, DiffResult, diff
from coverage_collector.selection import OwnerSelection

TABLE_WIDTH = 200
"""Columns of the table when stdout is not a terminal (CI logs): no truncated names."""
log = logs.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class Options:
    """The collection and its baseline, which owners, how to show the comparison, and the
    gates that fail the command."""

    collection: str
    baseline: str
    selection: OwnerSelection = field(default_factory=OwnerSelection)
    output_format: str = "table"
    """table, json or markdown (on stdout)."""
    output_dir: str | None = None
    """Also write diff.json and diff.md there."""
    fail_under: float | None = None
    fail_on_lost: bool = False


@dataclass(frozen=True)
class Summary:
    """The comparison and the gates' verdict on it."""

    result: DiffResult
    gates: Gates

    @property
    def ok(self) -> bool:
        return not self.gates.exit_status

    @property
    def exit_status(self) -> int:
        """0, or the gates' own status (3 below --fail-under, 4 lost, 5 both): scripts tell
        the two failures apart by it."""
        return self.gates.exit_status

    def lines(self) -> list[str]:
        """Nothing: the comparison went to stdout and each failed gate was logged as an
        error when `run` found it."""
        return []


def run(options: Options) -> Summary:
    """Compare, print the comparison (and write its files), then check the gates."""
    selection = options.selection
    result = diff(DiffOptions(options.collection, options.baseline, selection))
    table = options.output_format == "table"
    width = None if sys.stdout.isatty() else TABLE_WIDTH
    output.render(result, options.output_format, Console(width=width, soft_wrap=not table))
    if options.output_dir:
        os.makedirs(options.output_dir, exist_ok=True)
        output.write_files(result, options.output_dir)
    gates = check(result, options.fail_under, options.fail_on_lost, not selection.everything)
    for item in gates.below:
        log.error("below --fail-under %.1f%%: %s", options.fail_under, item)
    if gates.lost:
        log.error("%d statements lost their coverage (--fail-on-lost)", gates.lost)
    return Summary(result, gates)
