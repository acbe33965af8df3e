"""`cluster diff`: what a test run or a release added, lost, or never reached.

Compared statement by statement (run.py), shown (output.py) and gated (gates.py); `run`
is the stage (stage.py)."""

from coverage_collector.diff.stage import Options, Summary, run

__all__ = ["Options", "Summary", "run"]
