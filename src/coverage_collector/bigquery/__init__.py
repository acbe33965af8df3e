"""BigQuery ingest: batch load jobs, one atomic replace per collection.

`run` is the `bigquery ingest` stage (ingest.py)."""

from coverage_collector.bigquery.ingest import Options, Summary, run

__all__ = ["Options", "Summary", "run"]
