"""Everything that talks to BigQuery: tables, batch load jobs and the atomic replace.

A collection is replaced in two steps so that a failure never leaves half of it:

1. each table's rows are loaded (one load job per table) into a staging table that expires
   on its own a day later, should this process die before it drops it;
2. one multi-statement transaction deletes the collection's previous rows from every table
   and inserts the staged ones. It commits entirely or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from coverage_collector import logs
from coverage_collector.bigquery.outputs import TableOutput
from coverage_collector.bigquery.schema import Column, TableSpec
from coverage_collector.exceptions import CollectorError, UsageError

if TYPE_CHECKING:
    from google.cloud import bigquery

log = logs.get_logger(__name__)
STAGING_PREFIX = "_cc_staging_"
STAGING_LIFETIME = timedelta(days=1)
SCOPES = ("https://www.googleapis.com/auth/bigquery",)
_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,127}\Z")
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}\Z")
_TYPE_ALIASES = {"INT64": "INTEGER", "BOOL": "BOOLEAN", "STRUCT": "RECORD", "FLOAT64": "FLOAT"}


class IngestError(CollectorError):
    """BigQuery refused something; the message names the table and gives BigQuery's reason."""


@dataclass(frozen=True)
class Target:
    project: str
    dataset: str
    location: str | None = None
    api_endpoint: str | None = None

    def __post_init__(self) -> None:
        # both end up inside `backquoted` identifiers of SQL text: refuse anything odd
        if not _PROJECT.match(self.project):
            raise UsageError(f"Invalid BigQuery project id: {self.project!r}")
        if not _DATASET.match(self.dataset):
            raise UsageError(
                f"Invalid BigQuery dataset name: {self.dataset!r} "
                "(letters, digits and underscores only)"
            )

    def table(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"


def make_client(target: Target) -> bigquery.Client:
    """A client with Application Default Credentials; anonymous ones for an `--api-endpoint`
    (an emulator) when none are configured."""
    try:
        import google.auth
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.auth.exceptions import DefaultCredentialsError
        from google.cloud import bigquery
    except ImportError:
        raise CollectorError(
            "google-cloud-bigquery is not installed",
            hint="pip install 'coverage-collector[bigquery]'",
        ) from None
    try:
        with _quiet("google.auth"):  # its metadata-server retries are not the user's business
            credentials, _ = google.auth.default(scopes=SCOPES)
    except DefaultCredentialsError:
        if not target.api_endpoint:
            raise CollectorError(
                "No Google credentials found",
                hint="run `gcloud auth application-default login` or set "
                "GOOGLE_APPLICATION_CREDENTIALS to a service account key file",
            ) from None
        log.debug(
            "no Application Default Credentials: anonymous requests to %s", target.api_endpoint
        )
        credentials = AnonymousCredentials()
    options = ClientOptions(api_endpoint=target.api_endpoint) if target.api_endpoint else None
    return bigquery.Client(
        project=target.project,
        credentials=credentials,
        location=target.location,
        client_options=options,
    )


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def schema_fields(columns: Iterable[Column]) -> list[bigquery.SchemaField]:
    from google.cloud import bigquery

    return [
        bigquery.SchemaField(
            c.name,
            c.type,
            c.mode,
            description=c.description or None,
            fields=schema_fields(c.fields),
        )
        for c in columns
    ]


def _reason(exc: Exception) -> str:
    """BigQuery's own words: the job's error list when there is one, else the message."""
    errors = getattr(exc, "errors", None) or []
    messages = [e.get("message", "") for e in errors if isinstance(e, dict)]
    text = "; ".join(dict.fromkeys(m for m in messages if m)) or getattr(exc, "message", str(exc))
    return " ".join(str(text).split())


def _call(what: str, action: Callable[[], Any]) -> Any:
    """Run one request; any failure becomes an IngestError saying what was being done."""
    from google.api_core import exceptions as api_errors
    from requests import exceptions as http_errors

    try:
        return action()
    except (api_errors.GoogleAPIError, http_errors.RequestException) as exc:
        raise IngestError(f"BigQuery: {what} failed: {_reason(exc)}") from None


class Loader:
    """Creates what is missing, loads staged rows and swaps them in for one collection."""

    def __init__(self, target: Target, client: bigquery.Client, concurrency: int = 3) -> None:
        self.target = target
        self.client = client
        self.concurrency = concurrency
        self.token = secrets.token_hex(4)

    def ensure_dataset(self) -> None:
        from google.cloud import bigquery

        dataset = bigquery.Dataset(f"{self.target.project}.{self.target.dataset}")
        if self.target.location:
            dataset.location = self.target.location
        _call(
            f"creating dataset {self.target.dataset}",
            lambda: self.client.create_dataset(dataset, exists_ok=True),
        )

    def ensure_table(self, spec: TableSpec) -> None:
        """Create the table, or check that the existing one can take our rows."""
        from google.api_core.exceptions import NotFound
        from google.cloud import bigquery

        table_id = self.target.table(spec.name)

        def get() -> Any:
            try:
                return self.client.get_table(table_id)
            except NotFound:
                return None

        existing = _call(f"reading table {spec.name}", get)
        if existing is None:
            table = bigquery.Table(table_id, schema=schema_fields(spec.columns))
            table.time_partitioning = bigquery.TimePartitioning(field=spec.partition_field)
            table.clustering_fields = list(spec.clustering)
            table.description = spec.description
            _call(
                f"creating table {spec.name}",
                lambda: self.client.create_table(table, exists_ok=True),
            )
            log.info("created table %s", table_id)
            return
        problems = schema_problems(spec.columns, existing.schema)
        if problems and all(p.endswith(ADDABLE) for p in problems):
            existing.schema = widened_schema(spec.columns, existing.schema)
            _call(
                f"adding columns to table {spec.name}",
                lambda: self.client.update_table(existing, ["schema"]),
            )
            log.info("added columns to table %s: %s", table_id, "; ".join(problems))
            problems = []
        if problems:
            raise IngestError(
                f"BigQuery: table {spec.name} has an incompatible schema: {'; '.join(problems)}",
                hint="ingest into another dataset, or drop or migrate the table",
            )
        partitioning = existing.time_partitioning
        if partitioning is None or partitioning.field != spec.partition_field:
            log.warning("table %s is not partitioned on %s", spec.name, spec.partition_field)

    def stage(self, outputs: Iterable[TableOutput]) -> dict[str, str]:
        """Load each table's rows into its staging table; return table name -> staging id."""
        todo = [o for o in outputs if o.rows]
        staged: dict[str, str] = {}
        try:
            with ThreadPoolExecutor(self.concurrency) as pool:
                for output, staging in zip(todo, pool.map(self._load, todo), strict=True):
                    staged[output.spec.name] = staging
        except BaseException:
            self.drop(self.target.table(self._staging_name(o.spec)) for o in todo)
            raise
        return staged

    def _staging_name(self, spec: TableSpec) -> str:
        return f"{STAGING_PREFIX}{spec.name}_{self.token}"

    def _load(self, output: TableOutput) -> str:
        from google.cloud import bigquery

        spec = output.spec
        staging_id = self.target.table(self._staging_name(spec))
        table = bigquery.Table(staging_id, schema=schema_fields(spec.columns))
        table.expires = datetime.now(UTC) + STAGING_LIFETIME
        _call(f"creating staging table for {spec.name}", lambda: self.client.create_table(table))
        config = bigquery.LoadJobConfig(
            source_format=output.source_format,
            schema=schema_fields(spec.columns),
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            max_bad_records=0,
            ignore_unknown_values=False,
        )
        log.info(
            "loading %s: %s rows (%.1f MB)",
            spec.name,
            f"{output.rows:,}",
            output.upload_bytes / 1e6,
        )

        def load() -> Any:
            with open(output.path, "rb") as handle:
                job = self.client.load_table_from_file(
                    handle, staging_id, job_config=config, size=output.upload_bytes
                )
            return job.result()

        _call(f"loading {spec.name}", load)
        return staging_id

    def replace(
        self, collection_id: str, specs: Iterable[TableSpec], staged: dict[str, str]
    ) -> None:
        """Swap the staged rows in for the collection's rows, in every table at once."""
        from google.cloud import bigquery

        statements = ["BEGIN TRANSACTION;"]
        for spec in specs:
            table = f"`{self.target.table(spec.name)}`"
            statements.append(f"DELETE FROM {table} WHERE collection_id = @collection_id;")
            if spec.name in staged:
                columns = ", ".join(f"`{c}`" for c in spec.column_names)
                statements.append(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM `{staged[spec.name]}`;"
                )
        statements.append("COMMIT TRANSACTION;")
        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter("collection_id", "STRING", collection_id)
            ]
        )
        _call(
            f"replacing the rows of collection {collection_id!r} (nothing was changed)",
            lambda: self.client.query("\n".join(statements), job_config=config).result(),
        )

    def drop(self, table_ids: Iterable[str]) -> None:
        """Drop staging tables; a failure only warns (they expire on their own)."""
        for table_id in table_ids:
            try:
                self.client.delete_table(table_id, not_found_ok=True)
            except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real outcome
                log.warning(
                    "couldn't drop staging table %s (it expires in a day): %s", table_id, exc
                )


ADDABLE = "is missing (NULLABLE or REPEATED: can be added)"
"""How `schema_problems` names a column that a newer version of the tool added."""


def widened_schema(columns: Iterable[Column], existing: Iterable[Any]) -> list[Any]:
    """The `existing` schema with our columns it lacks appended (nested ones too).

    BigQuery lets a table gain NULLABLE and REPEATED columns in place: a dataset that an
    older version of the tool created takes the new columns (older rows read NULL or []).
    """
    from google.cloud import bigquery

    ours = {c.name.lower(): c for c in columns}
    widened = []
    for field in existing:
        column = ours.pop(field.name.lower(), None)
        if column is not None and column.fields and field.field_type == "RECORD":
            nested = widened_schema(column.fields, field.fields)
            widened.append(
                bigquery.SchemaField(
                    field.name, "RECORD", field.mode, description=field.description, fields=nested
                )
            )
        else:
            widened.append(field)
    return widened + schema_fields(ours.values())


def schema_problems(
    columns: Iterable[Column], existing: Iterable[Any], prefix: str = ""
) -> list[str]:
    """Why rows of `columns` cannot go into a table of schema `existing` ([] if they can).

    Extra nullable columns in the table are fine (they stay NULL), so are tables whose
    columns are more permissive (NULLABLE where we write REQUIRED)."""
    fields = {f.name.lower(): f for f in existing}
    problems = []
    for column in columns:
        name = prefix + column.name
        field = fields.pop(column.name.lower(), None)
        if field is None:
            addable = column.mode != "REQUIRED"
            problems.append(f"column {name} {ADDABLE if addable else 'is missing'}")
            continue
        kind = _TYPE_ALIASES.get(field.field_type, field.field_type)
        mode = field.mode or "NULLABLE"
        if kind != column.type:
            problems.append(f"column {name} is {kind}, expected {column.type}")
        elif (mode == "REPEATED") != (column.mode == "REPEATED") or (
            mode == "REQUIRED" and column.mode == "NULLABLE"
        ):
            problems.append(f"column {name} is {mode}, expected {column.mode}")
        elif column.fields:
            problems.extend(schema_problems(column.fields, field.fields, f"{name}."))
    problems.extend(
        f"column {prefix}{f.name} is REQUIRED and not written by this tool"
        for f in fields.values()
        if f.mode == "REQUIRED"
    )
    return problems
