"""Source code for the reports: exact-commit checkouts and, per binary, where each file is.

`run` is the `cluster clone-sources` stage: clone, then resolve."""

from coverage_collector.sources.run import Options, Summary, run

__all__ = ["Options", "Summary", "run"]
