"""BigQuery ingest: batch load jobs, one atomic replace per collection."""
