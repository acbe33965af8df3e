"""Binaries (one per covmeta hash): their units, merged counters and per-file and
per-function numbers.

A binary's numbers are written in the same transaction as its changed owners
(`Database.transaction` around `write_binary` and `owners.write_owner`): the database
never holds owners newer than their binary, or a binary without its owners.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from coverage_collector import blobs
from coverage_collector.database.columns import values
from coverage_collector.database.connection import Database


@dataclass(frozen=True)
class BinaryRow:
    """A binary and its numbers over every owner."""

    id: int
    name: str
    """The most common name among its entries."""
    meta_hash: str
    mode: str
    statements: int
    covered: int
    entries: int
    instances: int
    input_hash: str
    """Digest of everything its numbers depend on: a page or export keyed by it is current."""


@dataclass(frozen=True)
class BinaryNumbers:
    """A binary's merged counters and totals, as compile writes them."""

    name: str
    counts_blob: bytes
    statements: int
    covered: int
    entries: int
    instances: int
    input_hash: str


class FileStats(NamedTuple):
    """One application file of a binary: its statements and those executed.

    A NamedTuple, not a frozen dataclass, like the other bulk rows (`FunctionStats`,
    `owners.OwnerFunction`): compile writes about a million of them at reference scale, a
    NamedTuple is built at tuple speed and is itself the statement's parameters."""

    file_id: int
    path: str
    statements: int
    covered: int


class FunctionStats(NamedTuple):
    """One function of a binary (its index in the covmeta file) and its numbers (a bulk
    row: see `FileStats`)."""

    func_id: int
    file_id: int
    package: str
    name: str
    literal: bool
    """A function literal (closure): Go's `func` report leaves them out."""
    start_line: int
    units: int
    statements: int
    covered: int
    executions: int
    """The counter of its entry block: its calls (0 or 1 in set mode)."""


_BINARY_COLUMNS = "id, name, meta_hash, mode, statements, covered, entries, instances, input_hash"


def binary_rows(db: Database) -> list[BinaryRow]:
    """Every binary, by name and hash."""
    return [
        BinaryRow(*row)
        for row in db.connection.execute(
            f"SELECT {_BINARY_COLUMNS} FROM binaries ORDER BY name, meta_hash"
        )
    ]


def binary_row(db: Database, binary_id: int) -> BinaryRow:
    row = db.connection.execute(
        f"SELECT {_BINARY_COLUMNS} FROM binaries WHERE id = ?", (binary_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no binary {binary_id} in {db.path}")
    return BinaryRow(*row)


def known_binaries(db: Database) -> frozenset[str]:
    """The covmeta hashes the database holds: entries of these need not send their units."""
    return frozenset(h for (h,) in db.connection.execute("SELECT meta_hash FROM binaries"))


def meta_hashes(db: Database) -> dict[int, str]:
    """Every binary's covmeta hash, by id."""
    return dict(db.connection.execute("SELECT id, meta_hash FROM binaries"))


def binary_meta(db: Database, binary_id: int) -> bytes:
    """The binary's covmeta file (decompressed)."""
    row = db.connection.execute(
        "SELECT meta_blob FROM binaries WHERE id = ?", (binary_id,)
    ).fetchone()
    return blobs.unpack_bytes(None if row is None else row[0])


def binary_counts(db: Database, binary_id: int) -> np.ndarray:
    """The binary's merged counters (every owner's), per unit."""
    row = db.connection.execute(
        "SELECT counts_blob FROM binaries WHERE id = ?", (binary_id,)
    ).fetchone()
    return blobs.unpack_counts(None if row is None else row[0])


@dataclass(frozen=True)
class StoredBinary:
    """A binary's merged counters as compile last stored them, and how many entries they
    merge."""

    counts: np.ndarray
    entries: int


def stored_binary(db: Database, binary_id: int) -> StoredBinary | None:
    """The binary's stored counters; None when it has none (never merged)."""
    row = db.connection.execute(
        "SELECT counts_blob, entries FROM binaries WHERE id = ? AND counts_blob IS NOT NULL",
        (binary_id,),
    ).fetchone()
    return None if row is None else StoredBinary(blobs.unpack_counts(row[0]), row[1])


@dataclass(frozen=True)
class CollectionTotals:
    """Every binary counted once."""

    binaries: int
    statements: int
    covered: int


def collection_totals(db: Database) -> CollectionTotals:
    return CollectionTotals(
        *db.connection.execute(
            "SELECT count(*), coalesce(sum(statements), 0), coalesce(sum(covered), 0) FROM binaries"
        ).fetchone()
    )


def any_unmerged(db: Database) -> bool:
    """Tell whether a binary or owner has no merged counters (a damaged database, or one
    whose binaries an entry just brought): compile must merge again."""
    (found,) = db.connection.execute(
        "SELECT EXISTS (SELECT 1 FROM binaries WHERE counts_blob IS NULL) "
        "OR EXISTS (SELECT 1 FROM owners WHERE counts_blob IS NULL)"
    ).fetchone()
    return bool(found)


def binary_input_hashes(db: Database) -> dict[int, str]:
    """Binary id -> the input hash of its numbers; '' for a binary without counters (never
    merged, or damaged), so that compile recomputes it."""
    return dict(
        db.connection.execute(
            "SELECT id, CASE WHEN counts_blob IS NULL THEN '' ELSE input_hash END FROM binaries"
        )
    )


def delete_binaries(db: Database, binary_ids: Iterable[int]) -> None:
    for binary_id in binary_ids:
        with db.transaction():
            db.connection.execute("DELETE FROM binaries WHERE id = ?", (binary_id,))


def delete_unused_binaries(db: Database) -> int:
    """Delete binaries no entry uses any more; return how many."""
    with db.transaction():
        cursor = db.connection.execute(
            "DELETE FROM binaries WHERE id NOT IN "
            "(SELECT binary_id FROM entries WHERE binary_id IS NOT NULL)"
        )
    return cursor.rowcount


def _set_numbers(db: Database, binary_id: int, numbers: BinaryNumbers) -> None:
    db.connection.execute(
        "UPDATE binaries SET name = ?, counts_blob = ?, statements = ?, covered = ?, "
        "entries = ?, instances = ?, input_hash = ? WHERE id = ?",
        (*values(numbers), binary_id),
    )


def write_binary(
    db: Database,
    binary_id: int,
    numbers: BinaryNumbers,
    files: Iterable[FileStats],
    functions: Iterable[FunctionStats],
) -> None:
    """Store a binary's merged counters and its per-file and per-function numbers.

    Runs inside the caller's transaction, with its owners' writes.
    """
    db.require_transaction()
    conn = db.connection
    _set_numbers(db, binary_id, numbers)
    conn.execute("DELETE FROM binary_files WHERE binary_id = ?", (binary_id,))
    conn.execute("DELETE FROM binary_functions WHERE binary_id = ?", (binary_id,))
    conn.executemany(
        "INSERT INTO binary_files VALUES (?, ?, ?, ?, ?)",
        [(binary_id, *f) for f in files],
    )
    conn.executemany(
        "INSERT INTO binary_functions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(binary_id, *f) for f in functions],
    )


class FunctionCounts(NamedTuple):
    """A function's numbers that depend on the counters (a bulk row: see `FileStats`)."""

    func_id: int
    covered: int
    executions: int


def update_binary(
    db: Database,
    binary_id: int,
    numbers: BinaryNumbers,
    files_covered: Iterable[tuple[int, int]],
    functions: Iterable[FunctionCounts],
) -> None:
    """Store a binary's new merged counters, and the numbers of only those files
    (`files_covered`: (file id, statements covered)) and functions whose numbers changed:
    its files, functions and their statements are as `write_binary` wrote them (same
    covmeta file, same excludes). A cluster added to a large collection changes a few
    percent of a big binary's 200,000 function rows.

    Runs inside the caller's transaction, with its owners' writes.
    """
    db.require_transaction()
    conn = db.connection
    _set_numbers(db, binary_id, numbers)
    conn.executemany(
        "UPDATE binary_files SET covered = ? WHERE binary_id = ? AND file_id = ?",
        [(covered, binary_id, file_id) for file_id, covered in files_covered],
    )
    conn.executemany(
        "UPDATE binary_functions SET covered = ?, executions = ? "
        "WHERE binary_id = ? AND func_id = ?",
        [(f.covered, f.executions, binary_id, f.func_id) for f in functions],
    )


def binary_files(db: Database, binary_id: int) -> list[FileStats]:
    """The binary's application files, by path."""
    return [
        FileStats(*row)
        for row in db.connection.execute(
            "SELECT file_id, path, statements, covered FROM binary_files "
            "WHERE binary_id = ? ORDER BY path",
            (binary_id,),
        )
    ]


def named_functions(db: Database, binary_id: int) -> list[FunctionStats]:
    """The binary's functions that are not literals, by file and line."""
    return [
        FunctionStats(*row[:4], bool(row[4]), *row[5:])
        for row in db.connection.execute(
            "SELECT func_id, file_id, package, name, literal, start_line, units, statements, "
            "covered, executions FROM binary_functions WHERE binary_id = ? AND literal = 0 "
            "ORDER BY file_id, start_line, func_id",
            (binary_id,),
        )
    ]
