"""bigquery/load.py: which existing tables take our rows, and how an older one is widened."""

from __future__ import annotations

import dataclasses

from google.cloud import bigquery

from coverage_collector.bigquery import schema
from coverage_collector.bigquery.load import ADDABLE, schema_fields, schema_problems, widened_schema


def _before_clusters() -> list[bigquery.SchemaField]:
    """coverage_owners as the release before issue 16 created it."""
    return schema_fields(
        dataclasses.replace(
            c, fields=tuple(f for f in c.fields if f.name not in ("cluster", "last_seen"))
        )
        for c in schema.COVERAGE_OWNERS.columns
        if c.name != "clusters"
    )


def test_new_nullable_and_repeated_columns_are_addable() -> None:
    problems = schema_problems(schema.COVERAGE_OWNERS.columns, _before_clusters())
    assert problems == [
        f"column clusters {ADDABLE}",
        f"column processes.cluster {ADDABLE}",
        f"column processes.last_seen {ADDABLE}",
    ]


def test_a_missing_required_column_is_not_addable() -> None:
    existing = [f for f in _before_clusters() if f.name != "statements"]
    problems = schema_problems(schema.COVERAGE_OWNERS.columns, existing)
    assert "column statements is missing" in problems


def test_widening_appends_missing_columns_and_keeps_the_tables_own() -> None:
    existing = [*_before_clusters(), bigquery.SchemaField("team_note", "STRING")]
    widened = widened_schema(schema.COVERAGE_OWNERS.columns, existing)
    names = [f.name for f in widened]
    assert names == [f.name for f in existing] + ["clusters"]
    processes = widened[names.index("processes")]
    assert [f.name for f in processes.fields] == [
        "pod",
        "container",
        "host",
        "pid",
        "discovered_at",
        "cluster",
        "last_seen",
    ]
    assert processes.mode == "REPEATED" and widened[-1].mode == "REPEATED"
    assert schema_problems(schema.COVERAGE_OWNERS.columns, widened) == []
