"""Exports: our numbers in the formats other tools read (Go profiles, LCOV, Cobertura, ...).

`run` is the `cluster export` stage; one module per format writes one group's files."""

from coverage_collector.export.run import Options, Summary, run

__all__ = ["Options", "Summary", "run"]
