"""The HTML report: annotated source, per-binary pages and the index."""
