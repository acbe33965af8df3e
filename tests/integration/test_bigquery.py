"""`bigquery ingest` against a real BigQuery REST API (the local-bigquery emulator).

Per-line executions are checked against `go tool covdata textfmt` of the collection's own
entries; schemas against the prior tool's tables; idempotence and atomicity by ingesting
twice and by failing an ingest on purpose, half way.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import json
import sqlite3
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from coverage_collector.bigquery import schema
from coverage_collector.bigquery.load import Loader
from coverage_collector.bigquery.rows import TableBuilder
from coverage_collector.cli import main
from tests.helpers.bqfixtures import BigQueryEmulator
from tests.helpers.clusterfixtures import ClusterCollection, compile_cluster

PROJECT = "test-project"
_datasets = itertools.count(1)

# The prior tool's tables, column for column (reference-tool.md §9).
PRIOR_COVERAGE_DATA = [
    ("ingestion_time", "TIMESTAMP", "REQUIRED"),
    ("binary_hash", "STRING", "REQUIRED"),
    ("collection_id", "STRING", "REQUIRED"),
    ("source_filename", "STRING", "REQUIRED"),
    ("source_line", "STRING", "NULLABLE"),
    ("source_line_number", "INTEGER", "REQUIRED"),
    ("line_executions", "INTEGER", "REQUIRED"),
]
PRIOR_COVERAGE_GENERATORS = [
    ("ingestion_time", "TIMESTAMP", "REQUIRED"),
    ("software_group", "STRING", "NULLABLE"),
    ("binary_hash", "STRING", "REQUIRED"),
    ("collection_id", "STRING", "REQUIRED"),
    ("source_url", "STRING", "NULLABLE"),
    ("software_key", "STRING", "NULLABLE"),
    ("source_commit", "STRING", "NULLABLE"),
    ("generators", "RECORD", "REPEATED"),
]


@pytest.fixture
def dataset() -> str:
    return f"cov_{next(_datasets)}"


@pytest.fixture
def no_google_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Application Default Credentials anywhere, as on a fresh machine."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # nothing listens: not on GCE
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")


def ingest(emulator: BigQueryEmulator, dataset: str, collection: Path, *args: str) -> int:
    """Run `bigquery ingest` in-process against the emulator; return the exit code."""
    argv = ["bigquery", "--project", PROJECT, "--dataset", dataset, "--location", "US"]
    argv += ["--api-endpoint", emulator.endpoint, "ingest", "--collection", str(collection)]
    return main([*argv, *args])


def query(emulator: BigQueryEmulator, sql: str) -> list[dict[str, Any]]:
    return [dict(row) for row in emulator.client(PROJECT).query(sql).result()]


def count(emulator: BigQueryEmulator, dataset: str, table: str, where: str = "TRUE") -> int:
    sql = f"SELECT count(*) AS n FROM `{PROJECT}.{dataset}.{table}` WHERE {where}"
    return int(query(emulator, sql)[0]["n"])


def counts(emulator: BigQueryEmulator, dataset: str) -> dict[str, int]:
    return {spec.name: count(emulator, dataset, spec.name) for spec in schema.TABLES}


def dry_run_rows(
    capsys: pytest.CaptureFixture[str], collection: Path, *args: str
) -> dict[str, int]:
    """Run `ingest --dry-run`; return its rows per table (checking every table has bytes)."""
    argv = ["bigquery", "--project", PROJECT, "--dataset", "unused", "ingest"]
    assert main([*argv, "--collection", str(collection), "--dry-run", *args]) == 0
    tables = [line.split() for line in capsys.readouterr().out.splitlines()]
    tables = [t for t in tables if t[0].startswith("coverage_")]
    for _, _, upload, upload_unit, stored, stored_unit in tables:
        assert float(upload) > 0 and float(stored) > 0 and upload_unit in ("B", "kB", "MB")
        assert stored_unit in ("B", "kB", "MB")
    return {t[0]: int(t[1].replace(",", "")) for t in tables}


# --------------------------------------------------------------------------------------------


def test_sample_ingest_compatible_tables_and_idempotent(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    sample_collection: Path,
    no_google_credentials: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected = dry_run_rows(capsys, sample_collection)
    assert expected["coverage_data"] > 1000 and expected["coverage_generators"] == 4

    assert ingest(bigquery_emulator, dataset, sample_collection) == 0
    first = counts(bigquery_emulator, dataset)
    assert first == expected

    client = bigquery_emulator.client(PROJECT)
    data = client.get_table(f"{PROJECT}.{dataset}.coverage_data")
    assert [(f.name, f.field_type, f.mode) for f in data.schema] == PRIOR_COVERAGE_DATA
    generators = client.get_table(f"{PROJECT}.{dataset}.coverage_generators")
    assert [(f.name, f.field_type, f.mode) for f in generators.schema] == PRIOR_COVERAGE_GENERATORS
    assert [(f.name, f.field_type) for f in generators.schema[-1].fields] == [
        ("namespace", "STRING"),
        ("owner", "STRING"),
        ("container", "STRING"),
        ("binary_name", "STRING"),
    ]
    assert data.clustering_fields == ["binary_hash", "collection_id"]
    assert generators.clustering_fields == [
        "software_group",
        "binary_hash",
        "collection_id",
        "source_url",
    ]
    for spec in schema.TABLES:
        table = client.get_table(f"{PROJECT}.{dataset}.{spec.name}")
        assert table.time_partitioning.field == "ingestion_time"
        assert table.time_partitioning.type_ == "DAY"
        assert tuple(table.clustering_fields) == spec.clustering

    # the collection id is the directory's name; one ingestion time per run
    rows = query(
        bigquery_emulator,
        f"SELECT DISTINCT collection_id, ingestion_time FROM `{PROJECT}.{dataset}.coverage_data`",
    )
    assert [r["collection_id"] for r in rows] == ["sample-collection"]

    # a second ingest replaces the first: same counts, one copy, a newer ingestion time
    assert ingest(bigquery_emulator, dataset, sample_collection) == 0
    assert counts(bigquery_emulator, dataset) == first
    again = query(
        bigquery_emulator,
        f"SELECT DISTINCT ingestion_time FROM `{PROJECT}.{dataset}.coverage_data`",
    )
    assert len(again) == 1 and again[0]["ingestion_time"] > rows[0]["ingestion_time"]
    tables = sorted(t.table_id for t in client.list_tables(f"{PROJECT}.{dataset}"))
    assert tables == sorted(spec.name for spec in schema.TABLES)  # no staging table left

    # another collection id lives beside it
    assert ingest(bigquery_emulator, dataset, sample_collection, "--collection-id", "other") == 0
    assert count(bigquery_emulator, dataset, "coverage_data") == 2 * first["coverage_data"]


def test_generators_and_owners_rows(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    sample_collection: Path,
    no_google_credentials: None,
) -> None:
    assert ingest(bigquery_emulator, dataset, sample_collection) == 0
    conn = sqlite3.connect(sample_collection / "coverage.db")
    owners = conn.execute(
        "SELECT o.namespace, o.owner_type, o.owner_name, o.binary_name, o.containers_json, "
        "b.meta_hash, o.statements, o.covered, o.instances FROM owners o "
        "JOIN binaries b ON b.id = o.binary_id"
    ).fetchall()
    expected_generators = defaultdict(list)
    for ns, kind, name, binary, containers, meta_hash, *_ in owners:
        anonymous = kind in ("Host", "Pod (No Owner)")
        expected_generators[meta_hash].append(
            (
                "" if anonymous else ns,
                "" if anonymous else name,
                "" if anonymous else ",".join(json.loads(containers)),
                binary,
            )
        )
    rows = query(bigquery_emulator, f"SELECT * FROM `{PROJECT}.{dataset}.coverage_generators`")
    got = {
        r["binary_hash"]: sorted(
            (g["namespace"], g["owner"], g["container"], g["binary_name"]) for g in r["generators"]
        )
        for r in rows
    }
    assert got == {h: sorted(v) for h, v in expected_generators.items()}
    assert all(r["source_url"].startswith("https://github.com/example-org/") for r in rows)
    assert {r["software_group"] for r in rows} == {"openshift-4.19"}

    owner_rows = query(
        bigquery_emulator,
        f"SELECT binary_hash, owner_type, owner_name, statements, covered, instances, "
        f"ARRAY_LENGTH(processes) AS processes FROM `{PROJECT}.{dataset}.coverage_owners`",
    )
    assert sorted(
        (r["binary_hash"], r["owner_type"], r["owner_name"], r["statements"], r["covered"])
        for r in owner_rows
    ) == sorted((o[5], o[1], o[2], o[6], o[7]) for o in owners)
    assert all(r["processes"] == r["instances"] for r in owner_rows)

    # per-file and per-function facts add up to the database's numbers
    binaries = dict(conn.execute("SELECT meta_hash, covered FROM binaries"))
    files = query(
        bigquery_emulator,
        f"SELECT binary_hash, SUM(covered) AS covered FROM `{PROJECT}.{dataset}.coverage_files` "
        "GROUP BY binary_hash",
    )
    assert {r["binary_hash"]: r["covered"] for r in files} == binaries
    functions = query(
        bigquery_emulator,
        f"SELECT binary_hash, SUM(covered) AS covered "
        f"FROM `{PROJECT}.{dataset}.coverage_functions` GROUP BY binary_hash",
    )
    assert {r["binary_hash"]: r["covered"] for r in functions} == binaries
    (collection,) = query(
        bigquery_emulator, f"SELECT * FROM `{PROJECT}.{dataset}.coverage_collections`"
    )
    assert collection["binaries"] == len(binaries) and collection["owners"] == len(owners)
    assert collection["covered"] == sum(binaries.values())


def textfmt_lines(go: Path, entries: list[Path], out: Path) -> dict[str, dict[int, int]]:
    """Per file, per line: the largest count of the blocks on the line, from Go's profile."""
    subprocess.run(
        [
            str(go),
            "tool",
            "covdata",
            "textfmt",
            "-i=" + ",".join(map(str, entries)),
            "-o",
            str(out),
        ],
        check=True,
    )
    lines: dict[str, dict[int, int]] = defaultdict(dict)
    for line in out.read_text().splitlines()[1:]:
        location, _, count = line.split()
        path, span = location.rsplit(":", 1)
        start, end = span.split(",")
        for number in range(int(start.split(".")[0]), int(end.split(".")[0]) + 1):
            lines[path][number] = max(lines[path].get(number, -1), int(count))
    return lines


def test_line_executions_match_covdata(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    resolved_collection: tuple[Path, list[Any]],
    go_toolchain: Path,
    no_google_credentials: None,
    tmp_path: Path,
) -> None:
    collection, _ = resolved_collection
    assert ingest(bigquery_emulator, dataset, collection) == 0
    conn = sqlite3.connect(collection / "coverage.db")
    checked = without_source = 0
    for binary_id, meta_hash in conn.execute("SELECT id, meta_hash FROM binaries"):
        entries = [
            collection / "coverage" / name
            for (name,) in conn.execute(
                "SELECT dir_name FROM entries WHERE binary_id = ? AND duplicate_of IS NULL",
                (binary_id,),
            )
        ]
        expected = textfmt_lines(go_toolchain, entries, tmp_path / f"{meta_hash}.txt")
        sources = dict(
            conn.execute(
                "SELECT f.path, s.source_path FROM binary_files f JOIN file_sources s "
                "ON s.binary_id = f.binary_id AND s.file_id = f.file_id "
                "WHERE f.binary_id = ? AND s.status = 'resolved'",
                (binary_id,),
            )
        )
        rows = query(
            bigquery_emulator,
            f"SELECT source_filename, source_line_number, source_line, line_executions "
            f"FROM `{PROJECT}.{dataset}.coverage_data` WHERE binary_hash = '{meta_hash}'",
        )
        got: dict[str, dict[int, tuple[str, int]]] = defaultdict(dict)
        for r in rows:
            got[r["source_filename"]][r["source_line_number"]] = (
                r["source_line"],
                r["line_executions"],
            )
        profile_files = {p for p in expected if not p.endswith("coverage_server.go")}
        assert set(got) == profile_files  # the injected server is not the application
        for path, lines in got.items():
            if path in sources:
                text = (collection / sources[path]).read_text(encoding="utf-8").splitlines()
            else:  # no source: as many lines as the blocks reach, no text
                text = [""] * max(expected[path])
                without_source += 1
            assert sorted(lines) == list(range(1, len(text) + 1))
            assert [lines[n][0] for n in sorted(lines)] == text
            assert {n: c for n, (_, c) in lines.items()} == {
                n: expected[path].get(n, -1) for n in lines
            }
            checked += len(lines)
    assert checked > 100 and without_source > 0


def test_filters_select_owners_and_their_counters(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    cluster: ClusterCollection,
    no_google_credentials: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert compile_cluster(cluster).ok
    conn = sqlite3.connect(cluster.root / "coverage.db")
    owners = conn.execute(
        "SELECT o.namespace, o.owner_type, o.owner_name, b.meta_hash, o.covered "
        "FROM owners o JOIN binaries b ON b.id = o.binary_id"
    ).fetchall()
    namespaces = sorted({ns for ns, *_ in owners if ns})
    globs = [namespaces[0], "host"]
    owner_glob = "*"
    wanted = [
        o
        for o in owners
        if any(fnmatch.fnmatchcase(o[0] or "host", g) for g in globs)
        and fnmatch.fnmatchcase(o[2], owner_glob)
    ]
    assert wanted and len(wanted) < len(owners)
    assert any(o[1] == "Host" for o in wanted)
    args = [f"--namespace={g}" for g in globs] + [f"--owner={owner_glob}"]
    assert ingest(bigquery_emulator, dataset, cluster.root, *args) == 0
    rows = query(
        bigquery_emulator,
        f"SELECT namespace, owner_type, owner_name, binary_hash, covered "
        f"FROM `{PROJECT}.{dataset}.coverage_owners`",
    )
    assert sorted((r["namespace"] or "", r["owner_type"], r["owner_name"]) for r in rows) == sorted(
        (o[0], o[1], o[2]) for o in wanted
    )
    generators = query(
        bigquery_emulator, f"SELECT binary_hash FROM `{PROJECT}.{dataset}.coverage_generators`"
    )
    assert sorted(r["binary_hash"] for r in generators) == sorted({o[3] for o in wanted})

    # a binary whose only selected owner is one of several: its files hold that owner's numbers
    by_hash = defaultdict(list)
    for o in owners:
        by_hash[o[3]].append(o)
    shared = next(
        (o for o in wanted if len(by_hash[o[3]]) > 1 and sum(w[3] == o[3] for w in wanted) == 1),
        None,
    )
    assert shared is not None
    covered = query(
        bigquery_emulator,
        f"SELECT SUM(covered) AS c FROM `{PROJECT}.{dataset}.coverage_files` "
        f"WHERE binary_hash = '{shared[3]}'",
    )[0]["c"]
    assert covered == shared[4]

    # owner globs AND-ed with namespaces; nothing selected is an error that changes nothing
    before = counts(bigquery_emulator, dataset)
    status = ingest(
        bigquery_emulator,
        dataset,
        cluster.root,
        *("--namespace", namespaces[0], "--owner", "no-such-owner-*"),
    )
    assert status == 2
    assert "No owner matches --namespace" in capsys.readouterr().err
    assert counts(bigquery_emulator, dataset) == before


def test_dry_run_needs_no_credentials(
    sample_collection: Path, no_google_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = dry_run_rows(capsys, sample_collection, "--owner", "kv-*")
    assert rows["coverage_owners"] == 1 and rows["coverage_generators"] == 1
    assert set(rows) == {spec.name for spec in schema.TABLES}


def test_no_credentials_is_a_clear_error(
    sample_collection: Path, no_google_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bigquery", "--project", PROJECT, "--dataset", "d", "ingest", "--collection"]
    assert main([*argv, str(sample_collection)]) == 1
    err = capsys.readouterr().err
    assert "error: No Google credentials found" in err
    assert "Traceback" not in err


def test_bad_dataset_name_is_a_usage_error(
    sample_collection: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bigquery", "--project", PROJECT, "--dataset", "d`; DROP TABLE x; --", "ingest"]
    assert main([*argv, "--collection", str(sample_collection), "--dry-run"]) == 2
    assert "Invalid BigQuery dataset name" in capsys.readouterr().err


def test_schema_mismatch_is_reported_and_changes_nothing(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    sample_collection: Path,
    no_google_credentials: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from google.cloud import bigquery

    client = bigquery_emulator.client(PROJECT)
    client.create_dataset(f"{PROJECT}.{dataset}")
    fields = [bigquery.SchemaField(n, t, m) for n, t, m in PRIOR_COVERAGE_DATA]
    fields[-1] = bigquery.SchemaField("line_executions", "STRING", "REQUIRED")
    client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.coverage_data", schema=fields))
    assert ingest(bigquery_emulator, dataset, sample_collection) == 1
    err = capsys.readouterr().err
    assert "table coverage_data has an incompatible schema" in err
    assert "line_executions is STRING, expected INTEGER" in err
    assert count(bigquery_emulator, dataset, "coverage_data") == 0


def _owners_before_clusters() -> list[schema.Column]:
    """coverage_owners as the release before clusters made it (issue 16 added the rest)."""
    return [
        dataclasses.replace(
            c, fields=tuple(f for f in c.fields if f.name not in ("cluster", "last_seen"))
        )
        for c in schema.COVERAGE_OWNERS.columns
        if c.name != "clusters"
    ]


def test_a_table_of_an_older_release_gains_the_new_columns(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    sample_collection: Path,
    no_google_credentials: None,
) -> None:
    from google.cloud import bigquery

    from coverage_collector.bigquery.load import schema_fields

    client = bigquery_emulator.client(PROJECT)
    client.create_dataset(f"{PROJECT}.{dataset}")
    owners_id = f"{PROJECT}.{dataset}.coverage_owners"
    client.create_table(bigquery.Table(owners_id, schema=schema_fields(_owners_before_clusters())))
    assert "clusters" not in [f.name for f in client.get_table(owners_id).schema]

    assert ingest(bigquery_emulator, dataset, sample_collection) == 0
    widened = client.get_table(owners_id).schema
    names = [f.name for f in widened]
    assert names[-1] == "clusters" and names.count("last_seen") == 1
    # The new fields of the `processes` records are sent too (tests/unit/test_bigquery_schema.py),
    # but local-bigquery 0.3.2 keeps a RECORD's fields as the table was created.
    rows = query(bigquery_emulator, f"SELECT clusters, processes FROM `{owners_id}`")
    assert len(rows) == 5 and all(list(r["clusters"]) == [] for r in rows)
    assert all(r["processes"] for r in rows)


def test_failed_load_or_replace_leaves_previous_copy(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    sample_collection: Path,
    no_google_credentials: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ingest(bigquery_emulator, dataset, sample_collection) == 0
    before = counts(bigquery_emulator, dataset)
    times = query(
        bigquery_emulator,
        f"SELECT DISTINCT ingestion_time FROM `{PROJECT}.{dataset}.coverage_owners`",
    )

    # a malformed row (a REQUIRED column missing): BigQuery's error, naming the table
    original = TableBuilder._owners

    def malformed(self: TableBuilder, *args: Any) -> None:
        original(self, *args)
        self.outputs["coverage_owners"].write([{"collection_id": "x", "reports": 1}])

    monkeypatch.setattr(TableBuilder, "_owners", malformed)
    assert ingest(bigquery_emulator, dataset, sample_collection) == 1
    err = capsys.readouterr().err
    assert "BigQuery: loading coverage_owners failed:" in err
    assert "Traceback" not in err
    assert counts(bigquery_emulator, dataset) == before
    monkeypatch.undo()

    # the transaction fails after deleting from the first tables: it is rolled back
    replace = Loader.replace

    def lose_a_staging_table(self: Loader, collection_id: str, specs: Any, staged: Any) -> None:
        self.client.delete_table(staged["coverage_owners"])
        replace(self, collection_id, specs, staged)

    monkeypatch.setattr(Loader, "replace", lose_a_staging_table)
    assert ingest(bigquery_emulator, dataset, sample_collection) == 1
    err = capsys.readouterr().err
    assert "BigQuery: replacing the rows of collection 'sample-collection'" in err
    assert counts(bigquery_emulator, dataset) == before
    assert (
        query(
            bigquery_emulator,
            f"SELECT DISTINCT ingestion_time FROM `{PROJECT}.{dataset}.coverage_owners`",
        )
        == times
    )
    tables = bigquery_emulator.client(PROJECT).list_tables(f"{PROJECT}.{dataset}")
    assert not [t.table_id for t in tables if t.table_id.startswith("_cc_staging_")]


def documented_queries() -> list[str]:
    """The SQL blocks of docs/bigquery.md, in order."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "bigquery.md").read_text()
    return [block.split("```", 1)[0] for block in text.split("```sql\n")[1:]]


def test_documented_queries(
    bigquery_emulator: BigQueryEmulator,
    dataset: str,
    sample_collection: Path,
    no_google_credentials: None,
) -> None:
    assert ingest(bigquery_emulator, dataset, sample_collection) == 0
    partial = ("--collection-id", "partial", "--owner", "kv-*")
    assert ingest(bigquery_emulator, dataset, sample_collection, *partial) == 0
    never, by_group, latest = (
        query(bigquery_emulator, sql.replace("PROJECT.DATASET", f"{PROJECT}.{dataset}"))
        for sql in documented_queries()
    )
    conn = sqlite3.connect(sample_collection / "coverage.db")
    # the partial collection's binaries ran less: never executed = never executed in the full one
    expected = conn.execute(
        "SELECT DISTINCT fn.package, f.path, fn.name FROM binary_functions fn "
        "JOIN binary_files f ON f.binary_id = fn.binary_id AND f.file_id = fn.file_id "
        "WHERE fn.literal = 0 AND fn.covered = 0 ORDER BY 1, 2, 3"
    ).fetchall()
    assert expected
    assert [(r["package"], r["source_filename"], r["function"]) for r in never] == expected
    statements, covered = conn.execute(
        "SELECT sum(statements), sum(covered) FROM binaries"
    ).fetchone()
    full = next(r for r in by_group if r["collection_id"] == "sample-collection")
    assert (full["software_group"], full["statements"], full["covered"]) == (
        "openshift-4.19",
        statements,
        covered,
    )
    assert full["percent"] == round(100 * covered / statements, 1)
    kv = conn.execute("SELECT statements, covered FROM binaries WHERE name = 'kv-store'").fetchone()
    assert [
        (r["statements"], r["covered"]) for r in by_group if r["collection_id"] == "partial"
    ] == [kv]
    lines = {r["collection_id"]: r["lines"] for r in latest}
    assert (
        lines["sample-collection"]
        == count(bigquery_emulator, dataset, "coverage_data") - lines["partial"]
    )
