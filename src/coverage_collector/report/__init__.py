"""The HTML report (`cluster render`): annotated source, per-binary pages and the index.

A stage of the common shape: `run(Options(...))` returns a `Summary` whose `lines()` the CLI
prints and whose `exit_status` it returns.
"""

from coverage_collector.report.render import Options, Summary, run

__all__ = ["Options", "Summary", "run"]
