"""Owners (a workload or host process running one build of one binary) and the selection of
owners by `--namespace` / `--owner` globs.

The selection rules are the prior tool's, kept so that its users' scripts select the same
owners: globs are OR-ed within a flag and AND-ed between flags; no glob means everything.
Host processes have no namespace and match `--namespace host`; pods without an owner have
an empty owner name, which `*` matches.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

import numpy as np

from coverage_collector import blobs
from coverage_collector.database.columns import values
from coverage_collector.database.connection import Database, blobs_by_id
from coverage_collector.owners import OwnerKind

HOST_NAMESPACE = "host"


@dataclass(frozen=True)
class OwnerSelection:
    """Which owners a command works on: `--namespace` and `--owner` globs."""

    namespaces: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()

    @classmethod
    def of(cls, namespaces: Sequence[str] = (), owners: Sequence[str] = ()) -> OwnerSelection:
        return cls(tuple(namespaces), tuple(owners))

    @property
    def everything(self) -> bool:
        return not self.namespaces and not self.owners

    def matches(self, namespace: str, owner_type: str, owner_name: str) -> bool:
        if owner_type == OwnerKind.HOST and not namespace:
            namespace = HOST_NAMESPACE
        return _any(namespace, self.namespaces) and _any(owner_name, self.owners)

    def describe(self) -> str:
        """The selection as the flags that make it, for summaries ('' for everything)."""
        flags = [f"--namespace {g}" for g in self.namespaces]
        flags += [f"--owner {g}" for g in self.owners]
        return " ".join(flags)


def _any(value: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(value, glob) for glob in globs)


EVERYTHING = OwnerSelection()


@dataclass(frozen=True)
class OwnerRow:
    """An owner and its numbers (counters not included: `owner_counts` reads them)."""

    id: int
    namespace: str
    owner_type: str
    owner_name: str
    binary_name: str
    binary_id: int
    image: str
    images: tuple[str, ...]
    """Its entries' source keys: images, or `host:<binary>`."""
    pods: tuple[str, ...]
    containers: tuple[str, ...]
    hosts: tuple[str, ...]
    entries: int
    instances: int
    statements: int
    covered: int
    first_seen: str
    last_seen: str
    clusters: tuple[str, ...] = ()
    """The clusters its entries ran in (none recorded for older downloads)."""


class OwnerOrder(Enum):
    """The orders owners are listed in (each output keeps the order it always had)."""

    BY_KIND = "namespace, owner_type, owner_name, binary_name, id"
    """Selections (exports, diff, BigQuery)."""
    BY_NAME = "namespace, owner_name, binary_name"
    """The report's index."""
    BY_NAME_THEN_KIND = "namespace, owner_name, owner_type, binary_name"
    """`cluster summary --by owner`."""


def owner_rows(
    db: Database, selection: OwnerSelection = EVERYTHING, order: OwnerOrder = OwnerOrder.BY_KIND
) -> list[OwnerRow]:
    """The owners `selection` picks, in `order`."""
    rows = (
        OwnerRow(
            *row[:7],  # type: ignore[arg-type]
            *(tuple(json.loads(v)) for v in row[7:11]),
            *row[11:17],
            tuple(json.loads(row[17])),
        )
        for row in db.connection.execute(
            "SELECT id, namespace, owner_type, owner_name, binary_name, binary_id, image, "
            "images_json, pods_json, containers_json, hosts_json, entries, instances, "
            "statements, covered, first_seen, last_seen, clusters_json "
            f"FROM owners ORDER BY {order.value}"
        )
    )
    return [o for o in rows if selection.matches(o.namespace, o.owner_type, o.owner_name)]


def owners_per_binary(db: Database) -> dict[int, int]:
    """How many owners run each binary."""
    return dict(db.connection.execute("SELECT binary_id, count(*) FROM owners GROUP BY 1"))


def owner_counts(db: Database, owner_id: int) -> np.ndarray:
    """One owner's merged counters, per unit of its binary."""
    row = db.connection.execute(
        "SELECT counts_blob FROM owners WHERE id = ?", (owner_id,)
    ).fetchone()
    return blobs.unpack_counts(None if row is None else row[0])


def owners_counts(db: Database, owner_ids: Sequence[int]) -> Iterator[np.ndarray]:
    """The merged counters of several owners (of one binary), in no particular order, one
    at a time: the caller merges them as they come (a binary may have thousands of owners
    across clusters)."""
    return map(blobs.unpack_counts, blobs_by_id(db, "owners", owner_ids))


@dataclass(frozen=True)
class OwnerCounters:
    """An owner's counters with where it runs: for roll-ups that count each binary once."""

    namespace: str
    binary_id: int
    counts_blob: bytes | None
    entries: int


def owner_counters_by_binary(db: Database) -> Iterator[OwnerCounters]:
    """Every owner's packed counters, binary after binary, namespace after namespace."""
    for row in db.connection.execute(
        "SELECT namespace, binary_id, counts_blob, entries FROM owners "
        "ORDER BY binary_id, namespace"
    ):
        yield OwnerCounters(*row)


@dataclass(frozen=True)
class OwnerRecord:
    """Every column compile writes for an owner, by name (lists sorted, as JSON)."""

    group_key: str
    namespace: str
    owner_type: str
    owner_name: str
    binary_name: str
    binary_id: int
    image: str
    images_json: str
    pods_json: str
    pod_count: int
    containers_json: str
    hosts_json: str
    entries: int
    instances: int
    statements: int
    covered: int
    coverage_pct: float
    counts_blob: bytes
    first_seen: str
    last_seen: str
    input_hash: str
    clusters_json: str


_OWNER_COLUMNS = (
    "group_key, namespace, owner_type, owner_name, binary_name, binary_id, image, images_json, "
    "pods_json, pod_count, containers_json, hosts_json, entries, instances, statements, "
    "covered, coverage_pct, counts_blob, first_seen, last_seen, input_hash, clusters_json"
)


class OwnerFunction(NamedTuple):
    """A function an owner executed: its statements covered and its calls (a bulk row: see
    `binaries.FileStats`)."""

    func_id: int
    covered: int
    executions: int


class OwnerMember(NamedTuple):
    """An entry an owner's counters merge, with the hash of that entry's counter files then:
    a later compile adds only the entries that are new to the owner (`StoredMembers`)."""

    entry_id: int
    input_hash: str


@dataclass(frozen=True)
class StoredMembers:
    """The entries whose counters an owner's stored counters merge."""

    members: dict[int, str]
    """Entry id -> the input hash of its counters when they were merged."""
    complete: bool
    """No entry the counters merge has been deleted since (its membership row goes with it)."""


def write_owner(
    db: Database,
    record: OwnerRecord,
    members: Iterable[OwnerMember],
    files_covered: Iterable[tuple[int, int]],
    functions: Iterable[OwnerFunction],
) -> None:
    """Store one owner, its entries and the files and functions it executed (`files_covered`:
    (file id, statements covered) of files with any).

    Runs inside the caller's transaction, with its binary's: never half an owner.
    """
    db.require_transaction()
    conn = db.connection
    columns = _OWNER_COLUMNS.split(", ")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "group_key")
    (owner_id,) = conn.execute(
        f"INSERT INTO owners ({_OWNER_COLUMNS}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(group_key) DO UPDATE SET {updates} RETURNING id",
        values(record),
    ).fetchone()
    for table in ("owner_entries", "owner_files", "owner_functions"):
        conn.execute(f"DELETE FROM {table} WHERE owner_id = ?", (owner_id,))
    conn.executemany(
        "INSERT INTO owner_entries (owner_id, entry_id, input_hash) VALUES (?, ?, ?)",
        [(owner_id, *member) for member in members],
    )
    conn.executemany(
        "INSERT INTO owner_files VALUES (?, ?, ?)",
        [(owner_id, file_id, covered) for file_id, covered in files_covered],
    )
    conn.executemany(
        "INSERT INTO owner_functions VALUES (?, ?, ?, ?)",
        [(owner_id, *f) for f in functions],
    )


def owner_counts_by_key(db: Database, group_key: str) -> np.ndarray:
    """The merged counters of the owner `group_key`, per unit of its binary."""
    row = db.connection.execute(
        "SELECT counts_blob FROM owners WHERE group_key = ?", (group_key,)
    ).fetchone()
    return blobs.unpack_counts(None if row is None else row[0])


def stored_members(db: Database, group_key: str) -> StoredMembers | None:
    """The entries the stored counters of owner `group_key` merge; None when there is no
    such owner (an owner without counters has no complete membership)."""
    row = db.connection.execute(
        "SELECT id, entries, counts_blob IS NOT NULL FROM owners WHERE group_key = ?",
        (group_key,),
    ).fetchone()
    if row is None:
        return None
    owner_id, merged, has_counts = row
    members = dict(
        db.connection.execute(
            "SELECT entry_id, input_hash FROM owner_entries WHERE owner_id = ?", (owner_id,)
        )
    )
    return StoredMembers(members, complete=bool(has_counts) and len(members) == merged)


def binary_owners_complete(db: Database, binary_id: int, entries: int) -> bool:
    """Tell whether the stored owners of a binary still hold all `entries` entries that
    the binary's stored counters merge (one binary's counters are the merge of its owners',
    written together; an owner or entry deleted since breaks it)."""
    merged, listed = db.connection.execute(
        "SELECT coalesce(sum(entries), 0), (SELECT count(*) FROM owner_entries x "
        "JOIN owners p ON p.id = x.owner_id WHERE p.binary_id = ?1) "
        "FROM owners WHERE binary_id = ?1",
        (binary_id,),
    ).fetchone()
    return bool(merged == listed == entries)


def owner_input_hashes(db: Database) -> dict[str, str]:
    """Owner key -> the input hash of its numbers; '' for an owner without counters."""
    return dict(
        db.connection.execute(
            "SELECT group_key, CASE WHEN counts_blob IS NULL THEN '' ELSE input_hash END "
            "FROM owners"
        )
    )


def delete_owners(db: Database, keys: Iterable[str]) -> None:
    for key in keys:
        with db.transaction():
            db.connection.execute("DELETE FROM owners WHERE group_key = ?", (key,))


def owner_count(db: Database) -> int:
    return int(db.connection.execute("SELECT count(*) FROM owners").fetchone()[0])


@dataclass(frozen=True)
class OwnerCountsRow:
    """One owner of a binary and its merged counters (per unit of the binary)."""

    owner_id: int
    counts: np.ndarray


def binary_owner_counts(db: Database, binary_id: int) -> Iterator[OwnerCountsRow]:
    """The merged counters of each owner of a binary, one owner at a time, by id."""
    for owner_id, blob in db.connection.execute(
        "SELECT id, counts_blob FROM owners WHERE binary_id = ? AND counts_blob IS NOT NULL "
        "ORDER BY id",
        (binary_id,),
    ):
        yield OwnerCountsRow(owner_id, blobs.unpack_counts(blob))


@dataclass(frozen=True)
class OwnerEntryCounters:
    """An entry an owner's counters merge: its counters, its process instances and its
    cluster (what "who ran this line" counts per owner)."""

    owner_id: int
    cluster: str
    """'' when download recorded none."""
    instances: int
    counts: np.ndarray


def binary_owner_entries(db: Database, binary_id: int) -> Iterator[OwnerEntryCounters]:
    """The entries of every owner of a binary that merges several, owner after owner (by
    id), one at a time: a caller holds one entry's counters at a time, however many an owner
    has (an owner of one entry has nothing to tell apart: its counters are that entry's)."""
    for owner_id, cluster, instances, blob in db.connection.execute(
        "SELECT x.owner_id, e.cluster, e.instances, e.counts_blob FROM owner_entries x "
        "JOIN owners o ON o.id = x.owner_id JOIN entries e ON e.id = x.entry_id "
        "WHERE o.binary_id = ? AND o.entries > 1 AND e.counts_blob IS NOT NULL "
        "ORDER BY x.owner_id, e.id",
        (binary_id,),
    ):
        yield OwnerEntryCounters(owner_id, cluster, instances, blobs.unpack_counts(blob))
