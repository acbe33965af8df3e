"""`cluster codecov-upload`: one Go profile per repository and commit, through codecov-cli.

A stage of its own (not a format of `cluster export`): it sends, and it can fail per upload.
"""

from coverage_collector.codecov.run import Options, Summary, run

__all__ = ["Options", "Summary", "run"]
