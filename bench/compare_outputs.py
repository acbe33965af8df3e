"""The refactor guard (issue 15): snapshot every output of the pipeline and compare snapshots.

A redesign of the data layer must leave every output byte-identical, on the sample collection
and on the reference-scale one: the database content, every report file, every export format,
the rows `bigquery ingest --dry-run` builds, `cluster diff` in every form and every `cluster
summary` format. This script writes all of them into a snapshot directory as plain files, so
that two snapshots compare file by file, with a diff excerpt where they differ.

Usage (from the repository root)::

    python -m bench.compare_outputs snapshot --out DIR [--collection SRC] [--src PATH]
    python -m bench.compare_outputs compare A B
    python -m bench.compare_outputs check --baseline REV [--collection SRC] [--keep DIR]

(`snapshot` and `check` take `--skip GLOB` to leave commands out by name, e.g. `--skip
'export-*-owner'`: at reference scale the per-owner exports take most of the time.)

`check` is what to run before and after each refactor step: it checks REV out into a temporary
git worktree, snapshots the same input with that worktree's `src/` and with this working tree's
`src/`, and compares the two (exit 0 identical, 1 different).

**Input.** By default the bundled sample collection: `coverage-collector demo` downloads it from
a local fake S3 into a temporary directory; only its `coverage/` entries are kept, with the
download's clock pinned (`pin_download_clock`), and every snapshot then runs `cluster compile`
and `cluster clone-sources` (from the sample's git bundles) itself, so that the database is made
by the tool under test. With `--collection SRC`, an already compiled (and resolved) collection
is used: its entries and checkouts are hard-linked (never written), its database copied and
compiled incrementally (that is where a migration would run), and the entries are also compiled
afresh into a database of their own (`db/fresh`). The collection is never modified.

**What a snapshot holds.**

- `db/<collection>/<table>.jsonl`: each table of the database (views excluded), rows sorted by
  primary key, one JSON object per row with named columns, BLOBs as their sha256;
- `commands/<name>.txt`: the command line, exit status, stdout and stderr of every command;
- `files/<name>/...`: every file a command wrote (report, exports, diff output, BigQuery rows);
  text verbatim, binary files as their sha256, Parquet as CSV, text over `VERBATIM_LIMIT` as
  digests per block of lines (a difference still shows where it is);
- `snapshot-info.json`: which `src/`, timings (not compared).

**Normalisation.** Only what is genuinely volatile, by the explicit rules of `NORMALISATIONS`
(columns) and `TEXT_RULES` (text), plus placeholders for absolute paths, everywhere: the
snapshot's temporary directory becomes `<WORK>`, the input `<INPUT>` and `src/` `<SRC>`.
Compile runs with one worker (`COMPILE`), since ids follow worker scheduling. Everything else
must be equal byte for byte. `RENAMES` maps tables and columns of a database that still has
old names (the baseline's) to the new names as it is dumped, for a deliberate rename.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import hashlib
import io
import itertools
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.benchlib import REPO

# --------------------------------------------------------------------------------------------
# What is normalised, and why


@dataclass(frozen=True)
class ColumnRule:
    """A column whose value depends on when the command ran, not on its input.

    A non-empty value becomes `VOLATILE`; an empty one stays empty (that it is empty is
    content). With `field`, the value is a JSON object and only that field is replaced.
    """

    source: str
    """`db` (the collection database) or `bigquery` (the dry run's rows)."""
    column: str
    """`table.column`; the table may be a glob (`*.ingestion_time`)."""
    why: str
    field: str = ""

    def matches(self, source: str, table: str, column: str) -> bool:
        return source == self.source and fnmatch.fnmatchcase(f"{table}.{column}", self.column)

    def apply(self, value: Any) -> Any:
        if value in (None, ""):
            return value
        if not self.field:
            return VOLATILE
        try:
            document = json.loads(value)
        except (TypeError, ValueError):
            return value
        if isinstance(document, dict) and self.field in document:
            document[self.field] = VOLATILE
            return json.dumps(document)
        return value


VOLATILE = "<volatile>"

NORMALISATIONS: tuple[ColumnRule, ...] = (
    ColumnRule("db", "image_sources.updated_at", "wall clock when compile recorded the source"),
    ColumnRule("db", "image_sources.inspected_at", "wall clock when image labels were read"),
    ColumnRule("db", "clones.updated_at", "wall clock when clone-sources made the checkout"),
    ColumnRule("db", "errors.recorded_at", "wall clock when the error was recorded"),
    ColumnRule(
        "db",
        "settings.value",
        "compile's algorithm version inside the `signature` setting: a deliberate bump",
        field="version",
    ),
    ColumnRule("bigquery", "*.ingestion_time", "wall clock of the ingest, on every row"),
    ColumnRule("bigquery", "coverage_collections.tool_version", "the tool's version"),
)
"""Every column normalised in the database dump and in the BigQuery rows. Nothing else is: a
refactor that changes anything else (ids, hashes, the order of rows in a row file) shows up.
Times that come from the input (first/last seen, discovery times) are not volatile: the input
is pinned instead (`pin_download_clock`)."""


@dataclass(frozen=True)
class TextRule:
    """A regular expression replaced in the text of matching snapshot files."""

    files: str
    """A glob of snapshot paths (`commands/*`)."""
    pattern: bytes
    replacement: bytes
    why: str


TEXT_RULES: tuple[TextRule, ...] = (
    TextRule(
        "commands/*",
        rb"\bin \d+(?:\.\d+)? s\b",
        b"in <T> s",
        "stages log how long they took (`compiled 10 entries in 0.5 s`)",
    ),
    TextRule(
        "commands/*",
        rb"(?ms)^([^\n]+): \d+/\d+ [a-z]+\n(?=.*^\1: \d+/\d+ [a-z]+$)",
        b"",
        "progress lines but the last of each: printed every 5 s of wall clock (one can even "
        "repeat the final `N/N` line)",
    ),
    TextRule(
        "files/render*",
        rb'(<meta name="generator" content="coverage-collector )[^"]*',
        rb"\1<VERSION>",
        "every report page names the tool's version as its generator",
    ),
    TextRule(
        "files/export-cobertura-*",
        rb'(<coverage [^>]*?\bversion=")[^"]*',
        rb"\1<VERSION>",
        "Cobertura's root element carries the tool's version",
    ),
)
"""Every text normalisation besides the `<WORK>` and `<SRC>` placeholders. The tool's version
also enters hashes that cannot be normalised (the report's `.coverage-collector-report.json`
keys): a version bump changes them, as it should invalidate an incremental render."""

COMPILE = ("cluster", "compile", "--max-concurrency", "1")
"""Compile decodes entries one by one. With worker processes it stores each entry as its
worker finishes, so report, binary and owner ids (and the report's JSON, which carries them)
follow the scheduling: two compiles of the same input differ. Decoding in order pins them."""

RENAMES: dict[str, str] = {
    "reports": "entries",
    "owner_reports": "owner_entries",
    "instances.report_id": "entry_id",
    "owner_reports.report_id": "entry_id",
    "binaries.reports": "entries",
    "owners.reports": "entries",
}
"""Deliberate renames in the database (schema migration 6: entries were called reports):
`{"old_table": "new_table", "old_table.old_column": "new_column"}`, tables and columns by
their old names. A database that still has an old name (a baseline's) is dumped under the new
one, so both dumps compare row by row, also where a large table is stored as digests."""

# --------------------------------------------------------------------------------------------
# Constants

COLLECTION_NAME = "collection"
"""The head collection's directory name: also its BigQuery collection id."""
SAMPLE_ORIGIN = "https://github.com/example-org"
"""Where the sample's repositories live; its git bundles serve them (as `demo` does)."""
SAMPLE_BUNDLES = Path("coverage_collector/sample_collection/sources")
PINNED_TIME = "2026-01-01T00:00:00Z"
PINNED_EPOCH = 1767225600
"""The download clock of the sample input: `PINNED_TIME` as a POSIX time."""
EXPORT_FORMATS = ("gocover", "lcov", "cobertura", "sonarqube", "codecov-json", "json")
EXPORT_GROUPS = ("binary", "owner", "repo")
SUMMARY_GROUPS = ("owner", "binary", "namespace")
OUTPUT_FORMATS = ("table", "json", "markdown")
VERBATIM_LIMIT = 2 * 1024 * 1024
"""Larger text outputs are stored as digests per block (the reference-scale exports and
BigQuery rows run to gigabytes)."""
DIGEST_BLOCK = 128 * 1024
EXCERPT_LINES = 40
CLIP = 200
"""Characters shown of a line in a diff excerpt (reports and XML have very long lines)."""
INFO_FILE = "snapshot-info.json"
ENVIRONMENT = {"COLUMNS": "160", "LINES": "50", "TZ": "UTC", "LC_ALL": "C.UTF-8", "TERM": "dumb"}
"""Fixed for every command: rich sizes tables to the terminal, git speaks the locale."""
DROPPED_ENVIRONMENT = ("PYTHONPATH", "FORCE_COLOR", "NO_COLOR", "CLICOLOR_FORCE", "TMPDIR")
KEEP_TEMPORARY = """
import runpy, sys, tempfile
tempfile.TemporaryDirectory.cleanup = lambda self: self._finalizer.detach()
sys.argv[0] = "coverage-collector"
runpy.run_module("coverage_collector", run_name="__main__")
"""
"""Runs the CLI with temporary directories kept: `bigquery ingest --dry-run` builds its row
files in one and removes it. Run with TMPDIR set to a private directory."""

# --------------------------------------------------------------------------------------------
# Snapshot files


def whole_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Re-cut `blocks` at line ends, so that no line (or path in it) spans two chunks."""
    carry = b""
    for block in blocks:
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        carry = data[cut:]
    if carry:
        yield carry


def read_blocks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(size):
            yield block


class BlockDigest:
    """The sha256 of a large text and of each block of about `DIGEST_BLOCK` bytes cut at line
    ends, with its line numbers: a difference shows where it is without storing the text."""

    def __init__(self) -> None:
        self.whole = hashlib.sha256()
        self.size = 0
        self.lines = 0
        self.blocks: list[str] = []
        self.carry = b""

    def update(self, chunk: bytes) -> None:
        self.whole.update(chunk)
        self.size += len(chunk)
        data, start = self.carry + chunk, 0
        while len(data) - start >= DIGEST_BLOCK:
            end = (
                data.rfind(b"\n", start, start + DIGEST_BLOCK) + 1
                or data.find(b"\n", start + DIGEST_BLOCK) + 1
            )
            if not end:
                break
            self._block(data[start:end])
            start = end
        self.carry = data[start:]

    def _block(self, block: bytes) -> None:
        first = self.lines + 1
        self.lines += block.count(b"\n")
        last = max(self.lines, first)
        self.blocks.append(f"lines {first}-{last} {hashlib.sha256(block).hexdigest()}")

    def text(self) -> str:
        if self.carry:
            self._block(self.carry)
            self.carry = b""
        head = f"digest of {self.size} bytes, sha256 {self.whole.hexdigest()}"
        return "\n".join([head, *self.blocks]) + "\n"


class Snapshot:
    """A snapshot directory being filled: every output as a file, normalised on the way in."""

    def __init__(self, root: Path, placeholders: dict[str, str]) -> None:
        self.root = root
        self.placeholders = [
            (path.encode(), mark.encode())
            for path, mark in sorted(placeholders.items(), key=lambda item: -len(item[0]))
        ]

    def normalise(self, rel: str, chunk: bytes) -> bytes:
        """The path placeholders, then the `TEXT_RULES` whose glob matches `rel`."""
        for path, mark in self.placeholders:
            chunk = chunk.replace(path, mark)
        for rule in TEXT_RULES:
            if fnmatch.fnmatchcase(rel, rule.files + "*"):
                chunk = re.sub(rule.pattern, rule.replacement, chunk)
        return chunk

    def text(self, rel: str, chunks: Iterable[bytes]) -> None:
        """Store a text (chunks of whole lines) at `rel`, or its digest at `rel.digest` when it
        is larger than `VERBATIM_LIMIT`."""
        buffered: list[bytes] = []
        size, digest = 0, None
        for raw in chunks:
            chunk = self.normalise(rel, raw)
            if digest is not None:
                digest.update(chunk)
                continue
            buffered.append(chunk)
            size += len(chunk)
            if size > VERBATIM_LIMIT:
                digest = BlockDigest()
                for part in buffered:
                    digest.update(part)
                buffered = []
        if digest is None:
            self._write(rel, b"".join(buffered))
        else:
            self._write(rel + ".digest", digest.text().encode())

    def file(self, rel: str, path: Path) -> None:
        """Store a file a command wrote: text as text, anything else as its sha256."""
        with path.open("rb") as handle:
            head = handle.read(8192)
        if b"\0" in head or not _utf8(head):
            digest = hashlib.sha256()
            for block in read_blocks(path):
                digest.update(block)
            size = path.stat().st_size
            self._write(rel + ".sha256", f"{digest.hexdigest()}  {size} bytes\n".encode())
        else:
            self.text(rel, whole_lines(read_blocks(path)))

    def tree(
        self, rel: str, directory: Path, store: Callable[[str, Path], None] | None = None
    ) -> None:
        """Store every file under `directory` at `rel/<its path>` (with `store`, or `file`)."""
        store = store or self.file
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            store(f"{rel}/{path.relative_to(directory).as_posix()}", path)

    def _write(self, rel: str, data: bytes) -> None:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _utf8(head: bytes) -> bool:
    """Whether `head` (the first bytes of a file) is UTF-8, allowing a character cut at its end."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and len(head) == 8192
    return True


# --------------------------------------------------------------------------------------------
# The database and the BigQuery rows, canonical


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    return value


def _rules(source: str, table: str, columns: Sequence[str]) -> dict[str, ColumnRule]:
    return {
        column: rule
        for column in columns
        for rule in NORMALISATIONS
        if rule.matches(source, table, column)
    }


def new_names(table: str, columns: Sequence[str]) -> tuple[str, list[str]]:
    """The names `table` and its `columns` are dumped under: `RENAMES` applied."""
    prefix = table + "."
    renamed = {
        key.removeprefix(prefix): new for key, new in RENAMES.items() if key.startswith(prefix)
    }
    return RENAMES.get(table, table), [renamed.get(column, column) for column in columns]


def table_rows(conn: sqlite3.Connection, table: str) -> Iterator[bytes]:
    """One JSON line per row (columns named, keys sorted), in primary-key order. Columns
    carry their new names (`RENAMES`)."""
    info = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    key = [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5]] or [
        row[1] for row in info
    ]
    dumped, columns = new_names(table, [row[1] for row in info])
    rules = _rules("db", dumped, columns)
    order = ", ".join(f'"{name}"' for name in key)
    cursor = conn.execute(f'SELECT * FROM "{table}" ORDER BY {order}')
    while batch := cursor.fetchmany(5000):
        lines = []
        for values in batch:
            row = {name: _jsonable(value) for name, value in zip(columns, values, strict=True)}
            for name, rule in rules.items():
                row[name] = rule.apply(row[name])
            lines.append(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
        yield "".join(lines).encode()


def dump_database(snapshot: Snapshot, rel: str, path: Path) -> None:
    """Store every table of the database at `path` (not views: they are queries), or say
    that there is none (a compile that failed)."""
    if not path.is_file():
        snapshot.text(f"{rel}/MISSING", [f"no {path.name}\n".encode()])
        return
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        for table in tables:
            snapshot.text(f"{rel}/{new_names(table, [])[0]}.jsonl", table_rows(conn, table))
    finally:
        conn.close()


def ndjson_rows(table: str, path: Path) -> Iterator[bytes]:
    """An NDJSON row file with the volatile columns normalised (keys in their order)."""
    for chunk in whole_lines(read_blocks(path)):
        lines = []
        for line in chunk.decode("utf-8").splitlines():
            row = json.loads(line)
            for name, rule in _rules("bigquery", table, list(row)).items():
                row[name] = rule.apply(row[name])
            lines.append(json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n")
        yield "".join(lines).encode()


def parquet_rows(table: str, path: Path) -> Iterator[bytes]:
    """A Parquet row file as its Arrow schema then CSV rows, in file order."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    yield (str(parquet.schema_arrow) + "\n").encode()
    rules = _rules("bigquery", table, parquet.schema_arrow.names)
    header = True
    for batch in parquet.iter_batches(batch_size=200_000):
        normalised = batch
        for name, rule in rules.items():
            index = normalised.schema.get_field_index(name)
            values = _normalised_array(normalised.column(index), rule)
            normalised = normalised.set_column(index, name, values)
        buffer = io.BytesIO()
        pacsv.write_csv(normalised, buffer, pacsv.WriteOptions(include_header=header))
        header = False
        yield buffer.getvalue()


def _normalised_array(column: Any, rule: ColumnRule) -> Any:
    """`rule` applied to an Arrow column, vectorised (the line table has millions of rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = column.cast(pa.string())
    if rule.field:
        return pa.array([rule.apply(v) for v in text.to_pylist()], pa.string())
    keep = pc.fill_null(pc.equal(text, ""), True)
    return pc.if_else(keep, text, pa.scalar(VOLATILE, pa.string()))


def store_row_file(snapshot: Snapshot, rel: str, path: Path) -> None:
    """Store one file of the BigQuery dry run: rows canonical, anything else as a file."""
    table = path.name.split(".", 1)[0]
    if path.suffix == ".parquet":
        snapshot.text(rel + ".csv", whole_lines(parquet_rows(table, path)))
    elif path.suffix == ".ndjson":
        snapshot.text(rel, ndjson_rows(table, path))
    else:
        snapshot.file(rel, path)


# --------------------------------------------------------------------------------------------
# Running the tool


@dataclass(frozen=True)
class Result:
    status: int
    stdout: bytes
    stderr: bytes
    seconds: float


@dataclass(frozen=True)
class Tool:
    """One version of coverage-collector: a `src/` directory run as `python -m
    coverage_collector` (it goes first on PYTHONPATH, ahead of the editable install)."""

    src: Path

    def environment(self, tmpdir: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENVIRONMENT}
        env.update(ENVIRONMENT, PYTHONPATH=str(self.src))
        if tmpdir is not None:
            env["TMPDIR"] = str(tmpdir)
        return env

    def run(self, args: Sequence[str], keep_temporary: Path | None = None) -> Result:
        """Run the CLI with `args`; with `keep_temporary`, its temporary directories are made
        there and kept."""
        if keep_temporary is None:
            command = [sys.executable, "-m", "coverage_collector", *args]
        else:
            keep_temporary.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-c", KEEP_TEMPORARY, *args]
        started = time.monotonic()
        proc = subprocess.run(
            command,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            env=self.environment(keep_temporary),
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)

    def check_imported(self) -> None:
        """Fail unless `python -m coverage_collector` really runs this `src/`."""
        proc = subprocess.run(
            [sys.executable, "-c", "import coverage_collector; print(coverage_collector.__file__)"],
            capture_output=True,
            text=True,
            env=self.environment(),
            check=False,
        )
        where = Path(proc.stdout.strip() or "?").resolve()
        if not where.is_relative_to(self.src.resolve()):
            raise SystemExit(f"error: {self.src} is not what runs: coverage_collector is {where}")


class Runner:
    """Runs commands of one snapshot and records each under `commands/`."""

    def __init__(self, tool: Tool, snapshot: Snapshot, label: str, skip: Sequence[str]) -> None:
        self.tool, self.snapshot, self.label, self.skip = tool, snapshot, label, skip
        self.timings: dict[str, float] = {}

    def run(
        self, name: str, args: Sequence[str], keep_temporary: Path | None = None
    ) -> Result | None:
        """Run and record the command `name`; None when `--skip` leaves it out."""
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.skip):
            return None
        result = self.tool.run([str(a) for a in args], keep_temporary)
        self.timings[name] = round(result.seconds, 2)
        print(f"[{self.label}] {name}: exit {result.status}, {result.seconds:.1f} s", flush=True)
        line = "$ coverage-collector " + shlex.join(str(a) for a in args)
        head = f"{line}\nexit status: {result.status}\n--- stdout ---\n".encode()
        self.snapshot.text(
            f"commands/{name}.txt",
            [head, result.stdout, b"\n--- stderr ---\n", result.stderr],
        )
        return result


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Input:
    """What snapshots start from: `coverage/` entries, and either `coverage.db` (+ `repos/`)
    to copy, or git bundles to clone the sources from (the sample)."""

    root: Path
    bundles: Path | None = None

    @property
    def compiled(self) -> bool:
        return (self.root / "coverage.db").is_file()


def link_tree(source: Path, target: Path, skip: str = "") -> None:
    """Copy a tree that nobody writes as hard links (a full copy across file systems);
    `skip` names a top-level entry to leave out."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(
        source,
        target,
        symlinks=True,
        copy_function=link,
        ignore=lambda d, names: [skip] if skip and Path(d) == source and skip in names else [],
    )


def copy_database(source: Path, target: Path) -> None:
    """Copy `coverage.db` and its WAL files (no writer runs: the files are consistent)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("coverage.db*")):
        shutil.copy2(path, target / path.name)


def pin_download_clock(coverage: Path) -> None:
    """Make a downloaded collection independent of when it was downloaded.

    `cluster download` records each counter file's S3 LastModified (the upload time, i.e. when
    the demo ran) in metadata.json as `last_modified` and `last_seen`, and files get the
    download's modification times (part of compile's entry fingerprint). Both become
    `PINNED_TIME`, so that two demo runs give the same input.
    """
    for metadata in sorted(coverage.glob("*/metadata.json")):
        document = json.loads(metadata.read_text(encoding="utf-8"))
        if "last_seen" in document:
            document["last_seen"] = PINNED_TIME
        for instance in document.get("instances", []):
            if "last_modified" in instance:
                instance["last_modified"] = PINNED_TIME
        metadata.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    for path in sorted(coverage.rglob("*"), reverse=True):
        os.utime(path, (PINNED_EPOCH, PINNED_EPOCH), follow_symlinks=False)


def prepare_sample(tools: Sequence[Tool], work: Path) -> Input:
    """Download the sample collection with `demo` and keep its entries, pinned, and bundles.

    The first of `tools` whose demo succeeds prepares it (a revision whose compile is broken
    still gets compared, on the input another one downloaded)."""
    demo = work / "demo"
    for tool in tools:
        shutil.rmtree(demo, ignore_errors=True)
        result = tool.run(["demo", "--output", str(demo)])
        if not result.status:
            break
        tail = result.stderr.decode(errors="replace")[-1500:]
        print(f"coverage-collector demo of {tool.src} failed (exit {result.status}):\n{tail}")
    else:
        raise SystemExit("error: no coverage-collector could prepare the sample collection")
    root = work / "input"
    shutil.copytree(demo / "coverage", root / "coverage")
    pin_download_clock(root / "coverage")
    shutil.copytree(tool.src / SAMPLE_BUNDLES, root / "bundles")
    shutil.rmtree(demo)
    return Input(root, root / "bundles")


def fingerprint(root: Path) -> str:
    """Names, sizes, modification times and inodes under `root`: proves it was not written."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}\n".encode())
    return digest.hexdigest()


def pick_selection(coverage: Path) -> tuple[str, str]:
    """A namespace (the commonest) and an owner glob (its first pod's first 4 letters) for
    the `--namespace`/`--owner` runs, read from the entries' metadata.json."""
    pods: dict[str, list[str]] = {}
    for metadata in sorted(coverage.glob("*/metadata.json")):
        document = json.loads(metadata.read_text(encoding="utf-8"))
        if document.get("namespace"):
            pods.setdefault(document["namespace"], []).append(document.get("pod_name", ""))
    if not pods:
        return "*", "*"
    counts = Counter({namespace: len(names) for namespace, names in pods.items()})
    namespace = min(counts, key=lambda name: (-counts[name], name))
    return namespace, min(pods[namespace])[:4] + "*"


# --------------------------------------------------------------------------------------------
# Taking a snapshot


@dataclass
class Collections:
    """The collections of one snapshot, in its temporary directory."""

    work: Path
    head: Path = field(init=False)
    baseline: Path = field(init=False)
    same: Path = field(init=False)
    """A copy of the head: a baseline without differences (render refuses the head itself)."""
    fresh: Path | None = None

    def __post_init__(self) -> None:
        self.head = self.work / COLLECTION_NAME
        self.baseline = self.work / "baseline"
        self.same = self.work / "same"

    def output(self, name: str) -> Path:
        return self.work / "out" / name


def build_head(runner: Runner, source: Input, dirs: Collections) -> None:
    """The collection the outputs come from, compiled (and resolved) by the tool under test."""
    link_tree(source.root / "coverage", dirs.head / "coverage")
    if source.compiled:
        copy_database(source.root, dirs.head)
        if (source.root / "repos").is_dir():
            link_tree(source.root / "repos", dirs.head / "repos")
        runner.run("pipeline-compile", [*COMPILE, "--collection", dirs.head])
        dirs.fresh = dirs.work / "fresh"
        link_tree(source.root / "coverage", dirs.fresh / "coverage")
        runner.run("pipeline-compile-fresh", [*COMPILE, "--collection", dirs.fresh])
        return
    runner.run("pipeline-compile", [*COMPILE, "--collection", dirs.head])
    if source.bundles is not None:
        mirror = f"{SAMPLE_ORIGIN}={source.bundles}"
        runner.run(
            "pipeline-clone-sources",
            [
                *("cluster", "clone-sources", "--collection", dirs.head),
                *("--no-inspect-images", "--git-mirror", mirror),
            ],
        )


def copy_collection(source: Path, target: Path, skip: str = "") -> None:
    """Copy a compiled collection: its database, entries (but `skip`) and checkouts."""
    link_tree(source / "coverage", target / "coverage", skip=skip)
    copy_database(source, target)
    if (source / "repos").is_dir():
        link_tree(source / "repos", target / "repos")


def build_baseline(runner: Runner, dirs: Collections) -> str:
    """The baselines: a copy of the head, and the head with its middle entry removed and
    compiled incrementally (a differing one). Returns the removed entry's name."""
    copy_collection(dirs.head, dirs.same)
    entries = sorted(p.name for p in (dirs.head / "coverage").iterdir() if p.is_dir())
    removed = entries[len(entries) // 2]
    copy_collection(dirs.head, dirs.baseline, skip=removed)
    runner.run("baseline-compile", [*COMPILE, "--collection", dirs.baseline])
    return removed


def run_to_dir(runner: Runner, name: str, args: list[Any], out: Path, **store: Any) -> None:
    """Run a command writing into the fresh directory `out`, store what it wrote, drop it."""
    runner.run(name, [*args, "--output-dir", out])
    if out.is_dir():
        runner.snapshot.tree(f"files/{name}", out, **store)
        shutil.rmtree(out)


def summaries(runner: Runner, dirs: Collections) -> None:
    """`cluster summary` in every grouping and format."""
    for by, fmt in itertools.product(SUMMARY_GROUPS, OUTPUT_FORMATS):
        args = ["cluster", "summary", "--collection", dirs.head, "--by", by, "--format", fmt]
        runner.run(f"summary-{by}-{fmt}", args)


def renders(runner: Runner, dirs: Collections) -> None:
    """The report alone, against an identical baseline and against a differing one (each
    takes its own path through the comparison code)."""
    render = ["cluster", "render", "--collection", dirs.head]
    run_to_dir(runner, "render", render, dirs.output("render"))
    same = [*render, "--baseline", dirs.same]
    run_to_dir(runner, "render-same-baseline", same, dirs.output("render-same"))
    differing = [*render, "--baseline", dirs.baseline]
    run_to_dir(runner, "render-baseline", differing, dirs.output("render-baseline"))


def exports(runner: Runner, dirs: Collections, selection: tuple[str, str]) -> None:
    """Every format in every grouping, and one `--namespace`/`--owner` selection."""
    for fmt, by in itertools.product(EXPORT_FORMATS, EXPORT_GROUPS):
        args = ["cluster", "export", "--collection", dirs.head, "--format", fmt, "--by", by]
        run_to_dir(runner, f"export-{fmt}-{by}", args, dirs.output(f"export-{fmt}-{by}"))
    namespace, owner = selection
    args = ["cluster", "export", "--collection", dirs.head, "--format", "json", "--by", "owner"]
    args += ["--namespace", namespace, "--owner", owner]
    run_to_dir(runner, "export-json-owner-selected", args, dirs.output("export-selected"))


def bigquery(runner: Runner, dirs: Collections) -> None:
    """The dry run, and the row files it built (kept from its temporary directory)."""
    kept = dirs.output("bigquery-tmp")
    args = ["bigquery", "--project", "p", "--dataset", "d", "ingest"]
    if not runner.run(
        "bigquery-ingest-dry-run", [*args, "--collection", dirs.head, "--dry-run"], kept
    ):
        return
    for directory in sorted(p for p in kept.iterdir() if p.is_dir()):
        name = directory.name[:-8]  # tempfile's random suffix
        runner.snapshot.tree(f"files/bigquery-rows/{name}", directory, store=_row_store(runner))
    shutil.rmtree(kept)


def _row_store(runner: Runner) -> Callable[[str, Path], None]:
    return lambda rel, path: store_row_file(runner.snapshot, rel, path)


def diffs(runner: Runner, dirs: Collections) -> None:
    """`cluster diff` against the differing baseline, printed and written (`--output-dir`)."""
    args = ["cluster", "diff", "--collection", dirs.head, "--baseline", dirs.baseline]
    for fmt in OUTPUT_FORMATS:
        runner.run(f"diff-{fmt}", [*args, "--format", fmt])
    run_to_dir(runner, "diff-output-dir", args, dirs.output("diff"))


def take_snapshot(
    tool: Tool, source: Input, out: Path, label: str, skip: Sequence[str] = ()
) -> float:
    """Write every output of `tool` on `source` into the empty directory `out`, but commands
    named by a glob of `skip`; return the seconds it took."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"error: {out} is not empty")
    tool.check_imported()
    started = time.monotonic()
    before = fingerprint(source.root)
    with tempfile.TemporaryDirectory(prefix="cc-snapshot-") as tmp:
        work = Path(tmp).resolve()
        places = {str(work): "<WORK>", str(tool.src.resolve()): "<SRC>"}
        snapshot = Snapshot(out, places | {str(source.root): "<INPUT>"})
        runner = Runner(tool, snapshot, label, skip)
        dirs = Collections(work)
        build_head(runner, source, dirs)
        removed = build_baseline(runner, dirs)
        summaries(runner, dirs)
        renders(runner, dirs)
        exports(runner, dirs, pick_selection(dirs.head / "coverage"))
        bigquery(runner, dirs)
        diffs(runner, dirs)
        for name, collection in (("collection", dirs.head), ("baseline", dirs.baseline)):
            dump_database(snapshot, f"db/{name}", collection / "coverage.db")
        if dirs.fresh is not None:
            dump_database(snapshot, "db/fresh", dirs.fresh / "coverage.db")
    if fingerprint(source.root) != before:
        raise SystemExit(f"error: the input {source.root} changed while it was snapshotted")
    seconds = time.monotonic() - started
    info = {
        "src": str(tool.src),
        "input": str(source.root),
        "baseline_removed_entry": removed,
        "skipped": list(skip),
        "seconds": round(seconds, 1),
        "commands": runner.timings,
    }
    (out / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"[{label}] snapshot written to {out} in {seconds:.1f} s", flush=True)
    return seconds


# --------------------------------------------------------------------------------------------
# Comparing


def snapshot_files(root: Path) -> dict[str, Path]:
    """Every compared file of a snapshot, by its path in it."""
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and p.name != INFO_FILE
    }


def _clip(line: str) -> str:
    return line if len(line) <= CLIP else line[:CLIP] + f" ... ({len(line)} characters)"


def excerpt(rel: str, left: bytes, right: bytes) -> list[str]:
    """Where the two texts first differ, and the start of their unified diff."""
    offset = next(
        (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
        min(len(left), len(right)),
    )
    line = left.count(b"\n", 0, offset) + 1
    column = offset - (left.rfind(b"\n", 0, offset) + 1) + 1
    lines = [f"  first difference at line {line}, column {column}"]
    diff = difflib.unified_diff(
        left.decode("utf-8", "replace").splitlines(),
        right.decode("utf-8", "replace").splitlines(),
        f"a/{rel}",
        f"b/{rel}",
        n=1,
        lineterm="",
    )
    shown = [_clip(text) for text in itertools.islice(diff, EXCERPT_LINES + 1)]
    lines += ["  " + text for text in shown[:EXCERPT_LINES]]
    if len(shown) > EXCERPT_LINES:
        lines.append(f"  ... (diff cut at {EXCERPT_LINES} lines)")
    if any(len(text) > CLIP for text in shown):
        for name, data in (("a", left), ("b", right)):
            context = data[max(0, offset - 80) : offset + 80].decode("utf-8", "replace")
            lines.append(f"  {name} around the difference: {context!r}")
    return lines


def compare(baseline: Path, current: Path) -> int:
    """Print every file that differs or is missing, with an excerpt; 0 identical, 1 not."""
    left = {rel: path.read_bytes() for rel, path in snapshot_files(baseline).items()}
    right = snapshot_files(current)
    problems = 0
    for rel in sorted(left.keys() | right.keys()):
        if rel not in right:
            print(f"only in {baseline}: {rel}")
        elif rel not in left:
            print(f"only in {current}: {rel}")
        elif (data := right[rel].read_bytes()) != left[rel]:
            print(f"differs: {rel}")
            print("\n".join(excerpt(rel, left[rel], data)))
        else:
            continue
        problems += 1
    total = len(left.keys() | right.keys())
    if problems:
        print(f"{problems} of {total} files differ or are missing")
        return 1
    print(f"identical: {total} files")
    return 0


# --------------------------------------------------------------------------------------------
# Checking a revision against the working tree


def git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"error: git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def check(
    revision: str, collection: Path | None, keep: Path | None, skip: Sequence[str] = ()
) -> int:
    """Snapshot the same input with REV's `src/` and the working tree's; compare them."""
    started = time.monotonic()
    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}")
    with tempfile.TemporaryDirectory(prefix="cc-check-") as tmp:
        work = Path(tmp)
        tree = work / "baseline-src"
        git("worktree", "add", "--detach", str(tree), commit)
        try:
            base = Tool(tree / "src")
            t0 = time.monotonic()
            if collection is None:
                source = prepare_sample([base, Tool(REPO / "src")], work)
            else:
                source = Input(collection.expanduser().resolve())
            prepared = time.monotonic() - t0
            print(f"input {source.root} ready in {prepared:.1f} s", flush=True)
            out = keep or work / "snapshots"
            status, timings = snapshot_both(base, commit[:10], source, out, skip)
        finally:
            git("worktree", "remove", "--force", str(tree))
    print(f"timings: input {prepared:.1f} s, {timings}; total {time.monotonic() - started:.1f} s")
    return status


def snapshot_both(
    base: Tool, label: str, source: Input, out: Path, skip: Sequence[str]
) -> tuple[int, str]:
    """Snapshot `source` with `base` and with the working tree, in parallel; compare them.
    Returns the comparison's status and what took how long."""
    current = Tool(REPO / "src")
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {
            "baseline": pool.submit(take_snapshot, base, source, out / "baseline", label, skip),
            "current": pool.submit(
                take_snapshot, current, source, out / "current", "current", skip
            ),
        }
        seconds = {name: job.result() for name, job in jobs.items()}
    t0 = time.monotonic()
    status = compare(out / "baseline", out / "current")
    timings = (
        f"snapshot of {label} {seconds['baseline']:.1f} s and of the working tree "
        f"{seconds['current']:.1f} s (in parallel), compare {time.monotonic() - t0:.1f} s"
    )
    return status, timings


# --------------------------------------------------------------------------------------------
# Command line


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    snap = commands.add_parser("snapshot", help="write every output into an empty directory")
    snap.add_argument("--out", type=Path, required=True)
    snap.add_argument("--src", type=Path, default=REPO / "src", help="default: %(default)s")
    snap.add_argument("--collection", type=Path, help="a compiled collection (default: sample)")
    comp = commands.add_parser("compare", help="compare two snapshots (A is the baseline)")
    comp.add_argument("a", type=Path)
    comp.add_argument("b", type=Path)
    chk = commands.add_parser("check", help="snapshot REV and the working tree, compare")
    chk.add_argument("--baseline", required=True, metavar="REV")
    chk.add_argument("--collection", type=Path, help="a compiled collection (default: sample)")
    chk.add_argument("--keep", type=Path, help="keep the snapshots in DIR/baseline, DIR/current")
    for sub in (snap, chk):
        sub.add_argument(
            "--skip",
            action="append",
            default=[],
            metavar="GLOB",
            help="leave out commands by name, e.g. 'export-*-owner' (the slowest at reference "
            "scale); repeatable",
        )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.command == "compare":
        return compare(args.a, args.b)
    if args.command == "check":
        return check(args.baseline, args.collection, args.keep, args.skip)
    tool = Tool(args.src.resolve())
    if args.collection is not None:
        source = Input(args.collection.expanduser().resolve())
        take_snapshot(tool, source, args.out, "snapshot", args.skip)
        return 0
    with tempfile.TemporaryDirectory(prefix="cc-input-") as tmp:
        take_snapshot(tool, prepare_sample([tool], Path(tmp)), args.out, "snapshot", args.skip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
