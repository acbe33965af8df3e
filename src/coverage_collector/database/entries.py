"""Entries (one producer directory each: a container's or host process's binary) and their
process instances: what compile writes per entry and reads back to group entries into owners.

An entry is written with its instances, its errors and its binary (when new) in one
transaction, so the database never holds an entry without the binary its counters align to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

from coverage_collector.database.columns import values
from coverage_collector.database.connection import Database, blobs_by_id
from coverage_collector.owners import program_name

COMPILE_STAGE = "compile"


@dataclass(frozen=True)
class StoredEntry:
    """What the database knows about an entry before a compile run: enough to tell whether
    the entry changed and whether `--update` forces it."""

    id: int
    name: str
    stat_sig: str
    input_hash: str
    is_host: bool
    namespace: str
    node: str
    container: str
    image: str
    binary: str
    """The binary name, else the container name."""
    pod: str
    explicit_kind: str
    explicit_name: str


@dataclass(frozen=True)
class EntryRow:
    """A compiled entry with usable counters, as grouping into owners needs it."""

    id: int
    dir_name: str
    binary_id: int
    meta_hash: str
    namespace: str
    pod_name: str
    container_name: str
    image: str
    binary_name: str
    hostname: str
    is_host: bool
    explicit_owner_kind: str
    explicit_owner_name: str
    first_seen: str
    last_seen: str
    instances: int
    input_hash: str
    metadata_hash: str
    source_key: str = ""
    """The key of the entry's sources in `image_sources`: its image, or `host:<binary>`."""
    source_url: str = ""
    source_commit: str = ""
    software_group: str = ""
    software_key: str = ""
    cluster: str = ""
    """The cluster the entry's processes ran in ('' when not recorded)."""

    @property
    def program(self) -> str:
        """The binary's name as users know it."""
        return program_name(self.binary_name, self.container_name, self.meta_hash)

    @property
    def sources(self) -> tuple[str, str, str, str]:
        """source_url, source_commit, software_group, software_key from info.json."""
        return (self.source_url, self.source_commit, self.software_group, self.software_key)


@dataclass(frozen=True)
class EntryRecord:
    """Every column compile writes for an entry (the `entries` table), by name."""

    dir_name: str
    namespace: str
    pod_name: str
    container_name: str
    image: str
    binary_name: str
    hostname: str
    is_host: bool
    explicit_owner_kind: str
    explicit_owner_name: str
    collected_at: str
    first_seen: str
    last_seen: str
    source_key: str
    source_url: str
    source_commit: str
    software_group: str
    software_key: str
    instances: int
    counts_blob: bytes | None
    statements: int
    covered: int
    status: str
    """ok | partial | error"""
    error_msg: str
    stat_sig: str
    input_hash: str
    metadata_hash: str
    cluster: str = ""


@dataclass(frozen=True)
class NewBinary:
    """A binary as an entry first brings it: its covmeta file (compressed) and its shape."""

    meta_hash: str
    name: str
    mode: str
    granularity: str
    n_units: int
    n_funcs: int
    meta_blob: bytes | None
    """None when a worker assumed the database already had it."""


@dataclass(frozen=True)
class InstanceRow:
    """One process instance of an entry: its newest counter file."""

    counter_file: str
    pid: int
    discovered_ns: int
    size: int
    first_seen: str = ""
    """When the instance was discovered (RFC 3339), as download recorded it."""
    last_seen: str = ""
    """When its newest snapshot was written (RFC 3339); '' when not known."""


@dataclass(frozen=True)
class RefusedItem:
    """An item a stage could not take at all, and why."""

    item: str
    message: str


def stored_entries(db: Database) -> Iterator[StoredEntry]:
    """The entries already compiled, one at a time, in the order of their names (UTF-8 byte
    order, which is the order of Python's `sorted` for valid text): compile walks them
    beside its scan of the collection and never holds them all."""
    rows = db.connection.execute(
        "SELECT id, dir_name, stat_sig, input_hash, is_host, namespace, hostname, "
        "container_name, image, CASE WHEN binary_name != '' THEN binary_name "
        "ELSE container_name END, pod_name, explicit_owner_kind, explicit_owner_name "
        "FROM entries ORDER BY dir_name"
    )
    for row in rows:
        yield StoredEntry(*row[:4], bool(row[4]), *row[5:])  # type: ignore[arg-type]


def entry_ids(db: Database) -> dict[str, int]:
    """Entry name -> id."""
    return dict(db.connection.execute("SELECT dir_name, id FROM entries"))


def stored_hostnames(db: Database) -> set[str]:
    """The host names of the entries already compiled (to tell node names from pods')."""
    return {row[0] for row in db.connection.execute("SELECT DISTINCT hostname FROM entries")}


DELETE_BATCH = 256
"""Entries forgotten per transaction: a cluster's worth of entries gone is a few commits,
and a run killed in the middle keeps what it deleted (deleting again is a no-op)."""


def delete_entries(db: Database, names: Sequence[str]) -> None:
    """Forget entries that are gone from the collection."""
    for start in range(0, len(names), DELETE_BATCH):
        batch = [(name,) for name in names[start : start + DELETE_BATCH]]
        with db.transaction():
            db.connection.executemany("DELETE FROM entries WHERE dir_name = ?", batch)
            db.connection.executemany(
                "DELETE FROM errors WHERE stage = ? AND item = ?",
                [(COMPILE_STAGE, name) for (name,) in batch],
            )


def entries_state(db: Database) -> str:
    """A digest of everything grouping reads from the entries (their names, binaries,
    counters' and metadata's hashes, status, duplicates aside): equal digests mean the
    owners and binaries merged from them are still current. Streamed: no rows held."""
    digest = hashlib.blake2b(digest_size=16)
    for row in db.connection.execute(
        "SELECT id, dir_name, coalesce(binary_id, 0), status, input_hash, metadata_hash "
        "FROM entries ORDER BY id"
    ):
        digest.update("\0".join(map(str, row)).encode(errors="surrogateescape") + b"\n")
    return digest.hexdigest()


def record_refused_entries(db: Database, refused: Iterable[RefusedItem]) -> None:
    """Record the entry directories that cannot be entries (their errors have no entry row),
    replacing those of earlier runs: a directory renamed or removed is forgotten."""
    with db.transaction():
        db.connection.execute(
            "DELETE FROM errors WHERE stage = ? AND item NOT IN (SELECT dir_name FROM entries)",
            (COMPILE_STAGE,),
        )
        db.connection.executemany(
            "INSERT INTO errors (stage, item, message) VALUES (?, ?, ?)",
            [(COMPILE_STAGE, r.item, r.message) for r in refused],
        )


def write_entry(
    db: Database,
    record: EntryRecord,
    binary: NewBinary | None,
    instances: Iterable[InstanceRow],
    problems: Iterable[str],
) -> None:
    """Store one entry, its instances, its problems and its binary (if new), in one
    transaction. `binary` is None for an entry that could not be compiled."""
    conn = db.connection
    with db.transaction():
        binary_id = None if binary is None else _ensure_binary(db, binary)
        named = {f.name: getattr(record, f.name) for f in fields(record)}
        named["is_host"] = int(record.is_host)
        named = {"dir_name": named.pop("dir_name"), "binary_id": binary_id, **named}
        columns = ", ".join(named)
        updates = ", ".join(f"{c} = excluded.{c}" for c in named if c != "dir_name")
        (entry_id,) = conn.execute(
            f"INSERT INTO entries ({columns}) VALUES ({', '.join('?' * len(named))}) "
            f"ON CONFLICT(dir_name) DO UPDATE SET {updates} RETURNING id",
            list(named.values()),
        ).fetchone()
        conn.execute("DELETE FROM instances WHERE entry_id = ?", (entry_id,))
        conn.executemany(
            "INSERT INTO instances (entry_id, counter_file, pid, discovered_ns, size, "
            "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(entry_id, *values(i)) for i in instances],
        )
        conn.execute(
            "DELETE FROM errors WHERE stage = ? AND item = ?", (COMPILE_STAGE, record.dir_name)
        )
        conn.executemany(
            "INSERT INTO errors (stage, item, message) VALUES (?, ?, ?)",
            [(COMPILE_STAGE, record.dir_name, problem) for problem in problems],
        )


def _ensure_binary(db: Database, binary: NewBinary) -> int:
    row = db.connection.execute(
        "SELECT id FROM binaries WHERE meta_hash = ?", (binary.meta_hash,)
    ).fetchone()
    if row is not None:
        return int(row[0])
    if binary.meta_blob is None:
        raise LookupError(f"binary {binary.meta_hash} vanished from the database")
    (binary_id,) = db.connection.execute(
        "INSERT INTO binaries (meta_hash, name, mode, granularity, n_units, n_funcs, meta_blob) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        values(binary),
    ).fetchone()
    return int(binary_id)


def compiled_entries(db: Database) -> list[EntryRow]:
    """Every entry with usable counters, by name, for grouping."""
    rows = db.connection.execute(
        "SELECT e.id, e.dir_name, e.binary_id, b.meta_hash, e.namespace, e.pod_name, "
        "e.container_name, e.image, e.binary_name, e.hostname, e.is_host, "
        "e.explicit_owner_kind, e.explicit_owner_name, e.first_seen, e.last_seen, "
        "e.instances, e.input_hash, e.metadata_hash, e.source_key, "
        "e.source_url, e.source_commit, e.software_group, e.software_key, e.cluster "
        "FROM entries e JOIN binaries b ON b.id = e.binary_id "
        "WHERE e.status != 'error' ORDER BY e.dir_name"
    )
    return [EntryRow(*row[:10], bool(row[10]), *row[11:]) for row in rows]  # type: ignore[arg-type]


def mark_duplicates(db: Database, duplicates: dict[int, int]) -> None:
    """Record which host entries are the same process as a pod entry (host id -> pod id),
    writing only the rows whose mark changed."""
    current = dict(
        db.connection.execute("SELECT id, duplicate_of FROM entries WHERE duplicate_of IS NOT NULL")
    )
    cleared = [(host,) for host in current if host not in duplicates]
    marked = [(pod, host) for host, pod in duplicates.items() if current.get(host) != pod]
    if not cleared and not marked:
        return
    with db.transaction():
        db.connection.executemany("UPDATE entries SET duplicate_of = NULL WHERE id = ?", cleared)
        db.connection.executemany("UPDATE entries SET duplicate_of = ? WHERE id = ?", marked)


def duplicate_count(db: Database) -> int:
    """How many host entries are marked as duplicates of pod entries."""
    (count,) = db.connection.execute(
        "SELECT count(*) FROM entries WHERE duplicate_of IS NOT NULL"
    ).fetchone()
    return int(count)


def entry_counts(db: Database, entry_ids: Sequence[int]) -> Iterator[bytes | None]:
    """The packed counters of the given entries (in no particular order), one at a time:
    the caller merges them as they come, never holding all of a large owner's at once."""
    return blobs_by_id(db, "entries", entry_ids)


@dataclass(frozen=True)
class CollectionSpan:
    """The entries of the collection at a glance: when they were seen and how many."""

    first_seen: str
    last_seen: str
    entries: int
    instances: int
    host_duplicates: int


def collection_span(db: Database) -> CollectionSpan:
    first, last, entries, instances, duplicates = db.connection.execute(
        "SELECT coalesce(min(nullif(first_seen, '')), ''), coalesce(max(last_seen), ''), "
        "count(*), coalesce(sum(instances), 0), count(duplicate_of) FROM entries"
    ).fetchone()
    return CollectionSpan(first, last, entries, instances, duplicates)


@dataclass(frozen=True)
class OwnerInstance:
    """A process instance of one of an owner's entries."""

    owner_id: int
    pod_name: str
    container_name: str
    hostname: str
    pid: int
    discovered_ns: int
    cluster: str
    first_seen: str
    last_seen: str


def owner_instances(db: Database) -> list[OwnerInstance]:
    """Every owner's process instances, by owner, in discovery order."""
    return [
        OwnerInstance(*row)
        for row in db.connection.execute(
            "SELECT x.owner_id, e.pod_name, e.container_name, e.hostname, i.pid, "
            "i.discovered_ns, e.cluster, i.first_seen, i.last_seen "
            "FROM owner_entries x JOIN entries e ON e.id = x.entry_id "
            "JOIN instances i ON i.entry_id = e.id ORDER BY x.owner_id, i.discovered_ns, i.pid"
        )
    ]


@dataclass(frozen=True)
class ClusterRow:
    """A cluster of the collection: its entries, instances, and when it was seen."""

    name: str
    """Its prefix; '' for entries downloaded before clusters were recorded."""
    entries: int
    instances: int
    first_seen: str
    last_seen: str


def cluster_rows(db: Database) -> list[ClusterRow]:
    """Every cluster with compiled entries, by name (host duplicates not counted)."""
    return [
        ClusterRow(*row)
        for row in db.connection.execute(
            "SELECT e.cluster, count(DISTINCT e.id), count(i.entry_id), "
            "coalesce(min(nullif(i.first_seen, '')), min(nullif(e.first_seen, '')), ''), "
            "coalesce(max(nullif(i.last_seen, '')), max(e.last_seen), '') "
            "FROM entries e LEFT JOIN instances i ON i.entry_id = e.id "
            "WHERE e.status != 'error' AND e.duplicate_of IS NULL "
            "GROUP BY e.cluster ORDER BY e.cluster"
        )
    ]


@dataclass(frozen=True)
class EntryCounters:
    """An entry's packed counters and the cluster it ran in: for per-cluster roll-ups."""

    cluster: str
    binary_id: int
    counts_blob: bytes | None


def entry_counters_by_binary(db: Database) -> Iterator[EntryCounters]:
    """Every usable entry's packed counters (host duplicates left out), binary after binary,
    so a caller holds one binary's at a time."""
    for row in db.connection.execute(
        "SELECT cluster, binary_id, counts_blob FROM entries "
        "WHERE status != 'error' AND duplicate_of IS NULL AND binary_id IS NOT NULL "
        "ORDER BY binary_id, cluster"
    ):
        yield EntryCounters(*row)
