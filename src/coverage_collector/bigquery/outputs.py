"""The files the load jobs upload, one per table, with their row counts and sizes.

Flat tables go as Parquet: the line table (`coverage_data`, one row per source line per
binary: millions of rows whose binary, collection and file columns repeat on every line of a
file) is built column by column, and dictionary encoding and compression make its upload
about 25 times smaller than NDJSON. Tables with repeated or nested columns go as NDJSON,
which BigQuery reads without Parquet's list-inference options.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

import numpy as np

from coverage_collector.bigquery.schema import Column, TableSpec

ROW_GROUP_ROWS = 1_000_000


class TableOutput:
    """The rows of one table as an NDJSON file: how many and their size."""

    source_format = "NEWLINE_DELIMITED_JSON"

    def __init__(self, spec: TableSpec, directory: str) -> None:
        self.spec = spec
        self.path = os.path.join(directory, f"{spec.name}.{self.extension}")
        self.rows = 0
        self.stored_bytes = 0
        """BigQuery's logical size: 2 bytes + UTF-8 per string, 8 per integer or timestamp."""
        self.upload_bytes = 0
        """The file's size, known once it is closed."""
        self._handle: IO[str] | None = None

    extension = "ndjson"

    def open(self) -> None:
        self._handle = open(self.path, "w", encoding="ascii", newline="\n")  # noqa: SIM115

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self.upload_bytes = os.path.getsize(self.path)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        assert self._handle is not None
        for row in rows:
            self._handle.write(json.dumps(row, separators=(",", ":"), default=_timestamp) + "\n")
            self.rows += 1
            self.stored_bytes += record_size(self.spec.columns, row)


def _timestamp(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    raise TypeError(f"not JSON serialisable: {value!r}")


def is_flat(spec: TableSpec) -> bool:
    """Whether the table has no repeated or nested column (Parquet without list quirks)."""
    return all(c.mode != "REPEATED" and c.type != "RECORD" for c in spec.columns)


class ParquetOutput(TableOutput):
    """A flat table as Parquet, in large row groups; `write_lines` adds a file's lines to the
    line table column by column."""

    source_format = "PARQUET"
    extension = "parquet"

    def __init__(self, spec: TableSpec, directory: str) -> None:
        assert is_flat(spec)
        super().__init__(spec, directory)
        self._writer: Any = None
        self._batches: list[Any] = []
        self._rows: list[dict[str, Any]] = []
        self._pending = 0

    def open(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            "STRING": pa.string(),
            "INTEGER": pa.int64(),
            "BOOLEAN": pa.bool_(),
            "TIMESTAMP": pa.timestamp("us", tz="UTC"),
        }
        self._schema = pa.schema(
            [
                pa.field(c.name, types[c.type], nullable=c.mode != "REQUIRED")
                for c in self.spec.columns
            ]
        )
        self._writer = pq.ParquetWriter(self.path, self._schema, compression="zstd")

    def close(self) -> None:
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None
            self.upload_bytes = os.path.getsize(self.path)

    def write(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self._rows.append(row)
            self.rows += 1
            self.stored_bytes += record_size(self.spec.columns, row)
        if len(self._rows) >= ROW_GROUP_ROWS // 10:
            self._flush()

    def write_lines(
        self,
        constants: dict[str, Any],
        lines: list[str],
        executions: np.ndarray,
    ) -> None:
        """Add one row per line of one file of one binary to the line table; `constants`
        holds the columns that are the same on every line."""
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(lines)
        columns = {
            "source_line": pa.array(lines, pa.string()),
            "source_line_number": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "line_executions": pa.array(executions.astype(np.int64, copy=False)),
        }
        for name, value in constants.items():
            columns[name] = pa.repeat(pa.scalar(value, self._schema.field(name).type), n)
        self._batches.append(
            pa.RecordBatch.from_arrays(
                [columns[name] for name in self.spec.column_names], schema=self._schema
            )
        )
        self._pending += n
        self.rows += n
        text = pc.sum(pc.binary_length(columns["source_line"])).as_py() or 0
        self.stored_bytes += n * record_size(self.spec.columns, constants) + 2 * n + text + 16 * n
        if self._pending >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._batches.append(pa.RecordBatch.from_pylist(self._rows, schema=self._schema))
            self._rows = []
        if self._batches:
            self._writer.write_table(pa.Table.from_batches(self._batches, schema=self._schema))
            self._batches, self._pending = [], 0


def _value_size(column: Column, value: Any) -> int:
    if value is None:
        return 0
    if column.mode == "REPEATED":
        single = Column(column.name, column.type, "NULLABLE", column.fields)
        return sum(_value_size(single, v) for v in value)
    if column.type == "RECORD":
        return record_size(column.fields, value)
    if column.type == "STRING":
        return 2 + len(value.encode("utf-8"))
    return 1 if column.type == "BOOLEAN" else 8


def record_size(columns: tuple[Column, ...], row: dict[str, Any]) -> int:
    """A row's size as BigQuery counts storage: 2 bytes + UTF-8 per string, 8 per integer or
    timestamp, 1 per boolean, nothing for NULL."""
    return sum(_value_size(c, row.get(c.name)) for c in columns)
