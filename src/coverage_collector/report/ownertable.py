"""The index's owners as data files: columns, in chunks, that index.html loads as scripts.

Why: with every owner row as a JSON object inside index.html, 8,500 owners made a 5 MB page
whose every keystroke rebuilt the whole table. The page now gets its owners as columns
(`OwnerColumns`, one list per field, a chunk of rows per file): strings that repeat
(namespaces, owner types, binary names, clusters) travel as indexes into dictionaries that
index.html carries (`OwnerTable.page`), numbers as plain arrays, and what only an expanded row
shows (pods, hosts, images, first and last seen: a DaemonSet on 300 nodes has 300 pods) in
separate files (`OwnerDetails`) that the page loads when a row is expanded, or with the page
when they are small (`EAGER_DETAIL_BYTES`).

Chromium refuses fetch() and XMLHttpRequest from file://, so each data file is a script that
hands its rows to the page: `coverageCollector.owners.add({...});` (the script's module
"owners", report-owners.js, reads them; the key names here are the ones it reads).

    <output>/data/index/owners-<n>.js    the columns the table, search, filters and sort need
    <output>/data/index/details-<n>.js   what an expanded row shows
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from coverage_collector.report.model import IndexData, OwnerRow

DATA_DIR = "data/index"
"""Where the owners' data files go, relative to the report."""
CHUNK_ROWS = 2500
DETAIL_ROWS = 500
CHUNK_BYTES = 1 << 20
"""A data file holds at most this many rows and (unless one row is larger) bytes: far under
the report's 5 MB per file, and small enough that an expanded row's details load at once."""
EAGER_DETAIL_BYTES = 256 << 10
"""Details of at most this size in all load with the page (a small collection's rows expand
without waiting for a file)."""

Json = dict[str, Any]


class Dictionary:
    """Strings numbered in first-seen order: a column says 3 where it would repeat a name."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, value: str) -> int:
        found = self._codes.get(value)
        if found is None:
            found = self._codes[value] = len(self.values)
            self.values.append(value)
        return found


@dataclass
class Dictionaries:
    """The repeated strings of the owner columns, sent once in index.html."""

    namespace: Dictionary = field(default_factory=Dictionary)
    type: Dictionary = field(default_factory=Dictionary)
    binary_name: Dictionary = field(default_factory=Dictionary)
    cluster: Dictionary = field(default_factory=Dictionary)
    test_namespaces: set[str] = field(default_factory=set)
    test_binaries: set[str] = field(default_factory=set)

    def to_json(self) -> Json:
        return {
            "namespace": self.namespace.values,
            "namespaceTest": [int(v in self.test_namespaces) for v in self.namespace.values],
            "type": self.type.values,
            "binaryName": self.binary_name.values,
            "binaryNameTest": [int(v in self.test_binaries) for v in self.binary_name.values],
            "cluster": self.cluster.values,
        }


@dataclass(frozen=True)
class OwnerColumns:
    """One chunk of owner rows, column by column: what the table, the search, the filters,
    the sort and the statistics need (rows `first` .. `first + len(owner) - 1`)."""

    first: int
    namespace: list[int]
    type: list[int]
    owner: list[str]
    id: list[int]
    """The owner's id: its binary's page shows that owner alone with `#owner=<id>`."""
    binary_name: list[int]
    binary: list[int]
    """The binary's id (a key of the page's `binaries`)."""
    pods: list[int]
    containers: list[list[str]]
    statements: list[int]
    covered: list[int]
    percent: list[float]
    errors: list[int]
    clusters: list[list[int]]
    change: ChangeColumns | None

    @classmethod
    def of(cls, first: int, rows: Sequence[OwnerRow], words: Dictionaries) -> OwnerColumns:
        for o in rows:
            if o.test_namespace:
                words.test_namespaces.add(o.namespace)
            if o.test_binary:
                words.test_binaries.add(o.binary)
        compared = [o.change for o in rows if o.change is not None]
        return cls(
            first=first,
            namespace=[words.namespace.code(o.namespace) for o in rows],
            type=[words.type.code(o.type) for o in rows],
            owner=[o.owner for o in rows],
            id=[o.id for o in rows],
            binary_name=[words.binary_name.code(o.binary) for o in rows],
            binary=[int(o.binary_id) for o in rows],
            pods=[len(o.pods) for o in rows],
            containers=[list(o.containers) for o in rows],
            statements=[o.statements for o in rows],
            covered=[o.covered for o in rows],
            percent=[o.percent for o in rows],
            errors=[o.errors for o in rows],
            clusters=[sorted(words.cluster.code(c) for c in o.clusters) for o in rows],
            change=ChangeColumns.of(rows) if len(compared) == len(rows) and rows else None,
        )

    def to_json(self) -> Json:
        columns: Json = {
            "first": self.first,
            "namespace": self.namespace,
            "type": self.type,
            "owner": self.owner,
            "id": self.id,
            "binaryName": self.binary_name,
            "binary": self.binary,
            "pods": self.pods,
            "containers": self.containers,
            "statements": self.statements,
            "covered": self.covered,
            "percent": self.percent,
            "errors": self.errors,
            "clusters": self.clusters,
        }
        if self.change is not None:
            columns.update(self.change.to_json())
        return columns


@dataclass(frozen=True)
class ChangeColumns:
    """The baseline columns of `render --baseline` (see model.OwnerChange); `diff`: each row's
    tallies as a list in report/fields.py's TALLY order, or None (not in the comparison)."""

    base: list[float | None]
    base_text: list[str]
    delta: list[float]
    delta_text: list[str]
    direction: list[str]
    changed: list[int]
    diff: list[list[Any] | None]

    @classmethod
    def of(cls, rows: Sequence[OwnerRow]) -> ChangeColumns:
        changes = [o.change for o in rows if o.change is not None]
        return cls(
            base=[c.base for c in changes],
            base_text=[c.base_text for c in changes],
            delta=[c.delta for c in changes],
            delta_text=[c.delta_text for c in changes],
            direction=[c.direction for c in changes],
            changed=[int(c.changed) for c in changes],
            diff=[c.tallies.to_row() if c.tallies else None for c in changes],
        )

    def to_json(self) -> Json:
        return {
            "base": self.base,
            "baseText": self.base_text,
            "delta": self.delta,
            "deltaText": self.delta_text,
            "direction": self.direction,
            "changed": self.changed,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class OwnerDetails:
    """One chunk of what expanded rows show, column by column."""

    first: int
    pods: list[list[str]]
    hosts: list[list[str]]
    images: list[list[str]]
    instances: list[int]
    first_seen: list[str]
    last_seen: list[str]

    @classmethod
    def of(cls, first: int, rows: Sequence[OwnerRow]) -> OwnerDetails:
        return cls(
            first=first,
            pods=[list(o.pods) for o in rows],
            hosts=[list(o.hosts) for o in rows],
            images=[list(o.images) for o in rows],
            instances=[o.instances for o in rows],
            first_seen=[o.first_seen for o in rows],
            last_seen=[o.last_seen for o in rows],
        )

    def to_json(self) -> Json:
        return {
            "first": self.first,
            "pods": self.pods,
            "hosts": self.hosts,
            "images": self.images,
            "instances": self.instances,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
        }


@dataclass(frozen=True)
class DataFile:
    """A script of the report: its path (relative to the report) and its text."""

    path: str
    text: str


@dataclass(frozen=True)
class OwnerTable:
    """The owners of an index: the dictionaries and file lists index.html carries (`page`),
    the row files it loads before showing the table (`scripts`, in order) and the detail
    files (`files` holds them all)."""

    page: Json
    scripts: tuple[str, ...]
    files: tuple[DataFile, ...]


def owner_table(index: IndexData, to_json: Callable[[Any], str]) -> OwnerTable:
    """Split the index's owners into data files; `to_json` writes a payload as script-safe
    JSON (render.to_json)."""
    words = Dictionaries()
    rows = index.owners
    summaries = _files(
        "owners",
        _chunks(rows, CHUNK_ROWS, lambda first, part: OwnerColumns.of(first, part, words)),
        to_json,
    )
    details = _files("details", _chunks(rows, DETAIL_ROWS, OwnerDetails.of), to_json)
    eager = sum(len(f.text) for f, _ in details) <= EAGER_DETAIL_BYTES
    scripts = [f.path for f, _ in summaries]
    if eager:
        scripts += [f.path for f, _ in details]
    page = {
        "rows": len(rows),
        "dictionaries": words.to_json(),
        "chunks": len(summaries),
        "details": [[first, f.path] for f, first in details],
        "detailsWithPage": eager,
    }
    return OwnerTable(
        page=page,
        scripts=tuple(scripts),
        files=tuple(f for f, _ in (*summaries, *details)),
    )


def _chunks(
    rows: Sequence[OwnerRow],
    size: int,
    build: Callable[[int, Sequence[OwnerRow]], OwnerColumns | OwnerDetails],
) -> Iterable[OwnerColumns | OwnerDetails]:
    for first in range(0, len(rows), size):
        yield build(first, rows[first : first + size])


def _files(
    kind: str,
    chunks: Iterable[OwnerColumns | OwnerDetails],
    to_json: Callable[[Any], str],
) -> list[tuple[DataFile, int]]:
    """The chunks as scripts, a chunk split again while its file is over CHUNK_BYTES."""
    call = "addDetails" if kind == "details" else "add"
    texts: list[tuple[str, int]] = []
    for chunk in chunks:
        texts.extend(_texts(chunk, call, to_json))
    return [
        (DataFile(f"{DATA_DIR}/{kind}-{number}.js", text), first)
        for number, (text, first) in enumerate(texts)
    ]


def _texts(
    chunk: OwnerColumns | OwnerDetails, call: str, to_json: Callable[[Any], str]
) -> list[tuple[str, int]]:
    text = f"coverageCollector.owners.{call}({to_json(chunk.to_json())});\n"
    rows = len(chunk.pods)
    if len(text) <= CHUNK_BYTES or rows == 1:
        return [(text, chunk.first)]
    half = rows // 2
    head = _texts(_slice(chunk, 0, half), call, to_json)
    return [*head, *_texts(_slice(chunk, half, rows), call, to_json)]


def _slice(chunk: OwnerColumns | OwnerDetails, start: int, end: int) -> Any:
    """Rows `start`..`end` of a chunk (a chunk whose file is too large)."""
    values: dict[str, Any] = {}
    for name, value in vars(chunk).items():
        if name == "first":
            values[name] = chunk.first + start
        elif isinstance(value, ChangeColumns):
            values[name] = ChangeColumns(
                **{k: v[start:end] for k, v in vars(value).items()}  # type: ignore[arg-type]
            )
        elif value is None:
            values[name] = None
        else:
            values[name] = value[start:end]
    return type(chunk)(**values)


def stale_files(out: str, table: OwnerTable) -> list[str]:
    """The owners' data files of an earlier render that this one did not write."""
    directory = os.path.join(out, DATA_DIR)
    if not os.path.isdir(directory):
        return []
    written = {os.path.basename(f.path) for f in table.files}
    return [
        os.path.join(directory, name)
        for name in sorted(os.listdir(directory))
        if name.endswith(".js") and name.startswith(("owners-", "details-")) and name not in written
    ]
