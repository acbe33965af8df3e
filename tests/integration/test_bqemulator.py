"""Smoke test of the BigQuery emulator fixture: a broken emulator setup fails here, in one place."""

from __future__ import annotations

import datetime as dt

from tests.helpers.bqfixtures import BigQueryEmulator


def test_partitioned_clustered_table_round_trip(bigquery_emulator: BigQueryEmulator) -> None:
    from google.cloud import bigquery

    client = bigquery_emulator.client("smoke-project")
    dataset = client.create_dataset("smoke")
    table = bigquery.Table(
        f"{dataset.project}.{dataset.dataset_id}.runs",
        schema=[
            bigquery.SchemaField("run_id", "STRING", mode="REQUIRED"),
            bigquery.SchemaField("owner", "STRING"),
            bigquery.SchemaField("covered", "INT64"),
            bigquery.SchemaField("collected_at", "TIMESTAMP", mode="REQUIRED"),
        ],
    )
    table.time_partitioning = bigquery.TimePartitioning(
        type_=bigquery.TimePartitioningType.DAY, field="collected_at"
    )
    table.clustering_fields = ["owner", "run_id"]
    client.create_table(table)

    got = client.get_table(table.reference)
    assert got.time_partitioning is not None
    assert got.time_partitioning.type_ == "DAY"
    assert got.time_partitioning.field == "collected_at"
    assert got.clustering_fields == ["owner", "run_id"]
    assert [f.name for f in got.schema] == ["run_id", "owner", "covered", "collected_at"]

    at = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    row = {"run_id": "r1", "owner": "team-a", "covered": 7, "collected_at": at.isoformat()}
    assert client.insert_rows_json(got, [row]) == []
    name = f"`{got.project}.{got.dataset_id}.{got.table_id}`"
    query = f"SELECT owner, covered, DATE(collected_at) AS day FROM {name}"
    rows = list(client.query(query).result())
    assert [(r.owner, r.covered, r.day) for r in rows] == [("team-a", 7, at.date())]
