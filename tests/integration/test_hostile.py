"""Every stage on a hostile collection: exit 1, the good items done, nothing leaked.

The collection (tests/hostilefixtures.py) holds the bundled sample plus everything an
attacker in a cluster can plant. Each stage runs as the real command in its own process,
under a timeout, with a secret in its environment and another on its stdin. Then:

- every stage exits 1: no traceback, no hang, not 0 (something was refused);
- the good items are complete: the sample's owners have the numbers of a clean run;
- every refused item is named in the stage's output;
- no output (files the stages wrote, the database, log lines, stdout/stderr, BigQuery rows)
  contains a planted secret or the content of a file outside the checkouts (scanned byte
  for byte).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pytest

from coverage_collector.demo import SAMPLE_ORIGIN, SOURCES, copy_sample
from tests.helpers.bqfixtures import BigQueryEmulator
from tests.helpers.hostilefixtures import (
    COLLIDING_DISCOVERY,
    HOSTILE_ORIGIN,
    LONG_OWNER,
    REFUSED_SOURCE_FILES,
    HostileWorld,
    build_hostile_world,
    plant_entries,
    stage_environment,
)
from tests.helpers.s3fixtures import MotoServer, s3_client

STAGE_TIMEOUT = 300
PROJECT = "hostile-project"
BUCKET = "hostile-coverage"
PREFIX = "clusters/ci-op-hostile/"
EXPORT_FORMATS = ("gocover", "lcov", "cobertura", "sonarqube", "codecov-json", "json")
SAMPLE_OWNERS = ("inventory-api", "node-agent", "kv-store", "host-monitor")


@dataclass(frozen=True)
class StageRun:
    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).decode("utf-8", "replace")


@dataclass
class Pipeline:
    """The hostile collection after every stage, and what each stage said."""

    world: HostileWorld
    collection: Path
    clean: Path
    """The sample alone, run through the same stages: the numbers the good items must have."""
    env: dict[str, str]
    extra_secrets: dict[str, bytes] = field(default_factory=dict)
    """Secrets of the test itself (the AWS secret key) that no output may contain either."""
    runs: dict[str, StageRun] = field(default_factory=dict)
    bigquery_rows: bytes = b""

    def run(self, name: str, *args: str, collection: Path | None = None) -> StageRun:
        stdin = self.world.work / "stdin.txt"
        with open(stdin, "rb") as handle:
            proc = subprocess.run(
                [sys.executable, "-m", "coverage_collector", *args],
                stdin=handle,
                capture_output=True,
                env=self.env,
                timeout=STAGE_TIMEOUT,
                check=False,
            )
        result = StageRun(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        log = self.world.work / "runs" / f"{name}.txt"  # for reading a failure
        log.parent.mkdir(exist_ok=True)
        log.write_bytes(
            b"%d %s\n%s\n--- stderr\n%s"
            % (proc.returncode, " ".join(args).encode(), proc.stdout, proc.stderr)
        )
        if collection is None:
            self.runs[name] = result
        return result


def _aws_env(secret: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "hostile-access-key",
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "GOOGLE_APPLICATION_CREDENTIALS": "",
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "GCE_METADATA_IP": "127.0.0.1:9",
    }


def _mirrors(world: HostileWorld) -> list[str]:
    with resources.as_file(SOURCES) as bundles:
        return [
            "--git-mirror",
            f"{SAMPLE_ORIGIN}={bundles}",
            "--git-mirror",
            f"{HOSTILE_ORIGIN}={world.upstream}",
        ]


def _later_stages(pipeline: Pipeline, collection: Path, tag: str) -> None:
    """clone-sources, render, export, diff and summary of `collection` (runs named by `tag`)."""

    def run(name: str, *args: str) -> None:
        pipeline.run(
            f"{tag}-{name}" if tag else name, *args, collection=collection if tag else None
        )

    c = ["--collection", str(collection)]
    run(
        "clone-sources",
        "cluster",
        "clone-sources",
        *c,
        "--no-inspect-images",
        *_mirrors(pipeline.world),
    )
    run("render", "cluster", "render", *c)
    for fmt in EXPORT_FORMATS:
        run(f"export-{fmt}", "cluster", "export", *c, "--format", fmt)
    run(
        "export-json-owner",
        "cluster",
        "export",
        *c,
        "--format",
        "json",
        "--by",
        "owner",
        "--output-dir",
        str(collection / "exports" / "by-owner"),
    )
    run(
        "export-gocover-repo",
        "cluster",
        "export",
        *c,
        "--format",
        "gocover",
        "--by",
        "repo",
        "--output-dir",
        str(collection / "exports" / "by-repo"),
    )
    for by in ("owner", "binary", "namespace"):
        for fmt in ("table", "json", "markdown"):
            run(f"summary-{by}-{fmt}", "cluster", "summary", *c, "--by", by, "--format", fmt)


def _all_rows(emulator: BigQueryEmulator, dataset: str) -> bytes:
    """Every row of every table of `dataset`, as JSON (empty when nothing was ingested)."""
    from google.api_core.exceptions import NotFound

    client = emulator.client(PROJECT)
    rows = []
    try:
        tables = list(client.list_tables(dataset))
    except NotFound:
        return b""
    for table in tables:
        for row in client.list_rows(f"{PROJECT}.{dataset}.{table.table_id}"):
            rows.append({k: repr(v) for k, v in row.items()})
    return json.dumps(rows, ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def pipeline(
    moto_s3: MotoServer,
    bigquery_emulator: BigQueryEmulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pipeline]:
    work = tmp_path_factory.mktemp("hostile")
    world = build_hostile_world(work)
    (work / "stdin.txt").write_text(world.secrets.stdin + "\n", encoding="utf-8")
    aws_secret = f"AWS-SECRET-{uuid.uuid4().hex}"
    env = {**stage_environment(world.secrets), **_aws_env(aws_secret)}
    env["COLUMNS"] = "200"

    client = s3_client(moto_s3.endpoint, secret_key=aws_secret)
    client.create_bucket(Bucket=BUCKET)
    for key, data in world.objects.items():
        client.put_object(Bucket=BUCKET, Key=PREFIX + key, Body=data)

    collection = work / "collection"
    pipeline = Pipeline(
        world, collection, work / "clean", env, {"AWS secret key": aws_secret.encode()}
    )
    c = ["--collection", str(collection)]
    pipeline.run(
        "download",
        "cluster",
        "download",
        *c,
        "--bucket",
        BUCKET,
        "--prefix",
        PREFIX,
        "--endpoint-url",
        moto_s3.endpoint,
        "--region",
        "us-east-1",
    )
    world.planted.update(plant_entries(collection, world))
    pipeline.run("compile", "cluster", "compile", *c)
    _later_stages(pipeline, collection, "")
    bq = ["bigquery", "--project", PROJECT, "--dataset", "hostile", "--location", "US"]
    pipeline.run("bigquery-dry-run", *bq, "ingest", *c, "--dry-run")
    pipeline.run("bigquery", *bq, "--api-endpoint", bigquery_emulator.endpoint, "ingest", *c)
    pipeline.bigquery_rows = _all_rows(bigquery_emulator, "hostile")

    # The same stages on the sample alone: what the good items must look like.
    copy_sample(str(pipeline.clean))
    pipeline.run(
        "clean-compile",
        "cluster",
        "compile",
        "--collection",
        str(pipeline.clean),
        collection=pipeline.clean,
    )
    _later_stages(pipeline, pipeline.clean, "clean")
    pipeline.run(
        "diff",
        "cluster",
        "diff",
        *c,
        "--baseline",
        str(pipeline.clean),
        "--format",
        "markdown",
        "--output-dir",
        str(collection / "diff"),
    )
    yield pipeline


# --------------------------------------------------------------------------------------------
# Every stage: exit 1, no traceback, no hang (the timeout), good items complete


def test_every_stage_exits_1_without_a_traceback(pipeline: Pipeline) -> None:
    wrong = {
        name: (run.returncode, run.output[-600:])
        for name, run in pipeline.runs.items()
        if run.returncode != 1 or "Traceback" in run.output
    }
    assert wrong == {}


def test_download_names_refused_keys_and_keeps_every_instance(pipeline: Pipeline) -> None:
    output = pipeline.runs["download"].output
    for fragment in pipeline.world.refused_keys:
        assert fragment[:40] in output, fragment
    coverage = pipeline.collection / "coverage"
    entries = [p for p in coverage.iterdir() if not p.name.startswith("planted-")]
    assert all((p / "metadata.json").is_file() for p in entries)
    paths = [p for p in entries if "paths" in p.name]
    assert len(paths) == 1
    # Two discoveries of pid 4242 written two ways: two instances, unless the odd one was
    # refused by name.
    counters = list(paths[0].glob("covcounters.*"))
    assert len(counters) == 2 or COLLIDING_DISCOVERY in output


def _owners(summary: StageRun) -> dict[str, tuple[int, int]]:
    """The sample's owners in a `summary --by owner --format json`: their numbers."""
    rows = json.loads(summary.stdout)["rows"]
    labels = {"/".join((r["namespace"], r["type"], r["owner"])): r for r in rows}
    return {
        label: (row["statements"], row["covered"])
        for label, row in labels.items()
        if any(name in label for name in SAMPLE_OWNERS)
        and not any(bad in label for bad in ("evil", LONG_OWNER))
    }


def test_compile_names_every_bad_entry_and_keeps_the_good_numbers(pipeline: Pipeline) -> None:
    output = pipeline.runs["compile"].output
    for name in pipeline.world.planted:
        assert name in output, name
    hostile = _owners(pipeline.runs["summary-owner-json"])
    clean = _owners(
        pipeline.run(
            "x",
            "cluster",
            "summary",
            "--collection",
            str(pipeline.clean),
            "--by",
            "owner",
            "--format",
            "json",
            collection=pipeline.clean,
        )
    )
    assert clean and hostile == clean


def test_long_owner_names_export_into_separate_files(pipeline: Pipeline) -> None:
    files = [p.name for p in (pipeline.collection / "exports" / "by-owner").rglob("*")]
    assert len([f for f in files if LONG_OWNER[:50] in f]) >= 2


def test_stages_reading_sources_name_every_refused_file(pipeline: Pipeline) -> None:
    for stage in ("clone-sources", "render", "export-json", "bigquery-dry-run"):
        output = pipeline.runs[stage].output
        missing = [f for f in REFUSED_SOURCE_FILES if f not in output]
        assert not missing, (stage, missing, output[-2000:])


def test_render_completes_the_good_binaries(pipeline: Pipeline) -> None:
    html = pipeline.collection / "html"
    index = (html / "index.html").read_text(encoding="utf-8")
    for name in SAMPLE_OWNERS:
        assert name in index
    clean_pages = sorted(p.name for p in (pipeline.clean / "html" / "binaries").iterdir())
    pages = {p.name for p in (html / "binaries").iterdir()}
    assert set(clean_pages) <= pages


def test_markdown_stays_a_table(pipeline: Pipeline) -> None:
    for by in ("owner", "namespace"):
        lines = pipeline.runs[f"summary-{by}-markdown"].stdout.decode().splitlines()
        table = [line for line in lines if line.startswith("|")]
        columns = {len(line.replace("\\|", "").split("|")) for line in table}
        assert len(columns) == 1, table
        assert "<b>" not in "\n".join(table)


# --------------------------------------------------------------------------------------------
# Nothing leaks


def _outputs(pipeline: Pipeline) -> Iterator[tuple[str, bytes]]:
    """Everything the stages wrote or said (the inputs in coverage/ and the checkouts in
    repos/ are the cluster's own data, not outputs)."""
    for name, run in pipeline.runs.items():
        yield f"{name} stdout", run.stdout
        yield f"{name} stderr", run.stderr
    yield "BigQuery rows", pipeline.bigquery_rows
    for root, dirs, files in os.walk(pipeline.collection):
        relative = os.path.relpath(root, pipeline.collection)
        if relative.split(os.sep)[0] in ("coverage", "repos"):
            dirs[:] = []
            continue
        for file in files:
            path = os.path.join(root, file)
            if not os.path.islink(path) and os.path.isfile(path):
                with open(path, "rb") as handle:
                    yield os.path.relpath(path, pipeline.collection), handle.read()


def test_no_output_contains_a_secret_or_an_outside_file(pipeline: Pipeline) -> None:
    markers = {**pipeline.world.secrets.markers(), **pipeline.extra_secrets}
    leaks = [
        (where, name)
        for where, data in _outputs(pipeline)
        for name, marker in markers.items()
        if marker in data
    ]
    assert leaks == []


def test_outputs_were_scanned(pipeline: Pipeline) -> None:
    # The scan above reads the database, the logs, the pages, the exports and the rows.
    scanned = {where.split("/")[0] for where, _ in _outputs(pipeline)}
    assert {"coverage.db", "logs", "html", "exports", "diff", "BigQuery rows"} <= scanned
    assert len(pipeline.bigquery_rows) > 1000


def test_no_terminal_control_characters_in_output(pipeline: Pipeline) -> None:
    for name, run in pipeline.runs.items():
        assert b"\x1b]0;owned" not in run.stdout + run.stderr, name
        assert b"\x1b[31m" not in run.stdout + run.stderr, name


def test_rest_of_the_world_untouched(pipeline: Pipeline) -> None:
    # Nothing was written outside the collection (the outside directory is as planted).
    assert sorted(p.name for p in pipeline.world.outside.rglob("*")) == [
        "dir",
        "secret.txt",
        "x.go",
    ]
    assert not any(p.is_symlink() for p in (pipeline.collection / "html").rglob("*"))


def test_refused_files_carry_their_reason_into_the_report_and_the_exports(
    pipeline: Pipeline,
) -> None:
    pages = "".join(
        p.read_text(encoding="utf-8") for p in (pipeline.collection / "html" / "binaries").iterdir()
    )
    for reason in ("outside checkout", "symlink", "too large"):
        assert f'"reason":"{reason}"' in pages, reason
    index = json.loads((pipeline.collection / "exports" / "json" / "index.json").read_text())
    refused = {(r["file"].rsplit("/", 1)[-1], r["reason"]) for r in index["refused_sources"]}
    assert {("passwd.go", "symlink"), ("big.go", "too large"), ("passwd", "outside checkout")} <= (
        refused
    )
