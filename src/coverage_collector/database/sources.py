"""The source tables: what each image was built from, the checkouts made of it, and every
binary's files resolved into them.

`image_sources` is written by compile (info.json) and by image inspection; `clones` by
clone-sources; `binary_sources` and `file_sources` by resolve. The report, the exports,
BigQuery and the summary only read them. Each stage's write of one item (an image, a
checkout, a binary) is one transaction, so a killed run leaves every item either as it was
or as the run made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from coverage_collector.database.columns import values
from coverage_collector.database.connection import Database

CLONE_STAGE = "clone-sources"
"""The stage that records a checkout it could not make in `errors`."""


# --------------------------------------------------------------------------------------------
# image_sources


@dataclass(frozen=True)
class ImageSourceRow:
    """What is known of the source of one image (or host binary, `host:<binary>`): recorded
    by compile from info.json, completed by inspecting the image's config."""

    image: str
    source_repo: str = ""
    commit_id: str = ""
    software_group: str = ""
    software_key: str = ""
    inspected_at: str = ""
    """When the image's config was last read ('' if never): a clean reading is not redone."""
    inspect_error: str = ""
    """Why that reading failed or left values out ('' when it did not): it is retried."""

    @property
    def values(self) -> tuple[str, str, str, str]:
        """The values an info.json or an image config may give, '' where unknown."""
        return (self.source_repo, self.commit_id, self.software_group, self.software_key)


def image_sources(db: Database) -> dict[str, ImageSourceRow]:
    """Every image's recorded source, by image."""
    return {
        row[0]: ImageSourceRow(*row)
        for row in db.connection.execute(
            "SELECT image, source_repo, commit_id, software_group, software_key, inspected_at, "
            "inspect_error FROM image_sources ORDER BY image"
        )
    }


def images_with_repository(db: Database) -> set[str]:
    """The images whose source repository is known: an owner's image is one of these when
    it can be."""
    return {
        image
        for (image,) in db.connection.execute(
            "SELECT image FROM image_sources WHERE source_repo != ''"
        )
    }


def record_info_json_sources(db: Database, source: ImageSourceRow) -> None:
    """Store an image's values as compile read them from info.json (the caller decides which
    values win); the image's inspection state is kept."""
    with db.transaction():
        db.connection.execute(
            "INSERT INTO image_sources (image, source_repo, commit_id, software_group, "
            "software_key, origin, updated_at) VALUES (?, ?, ?, ?, ?, 'info.json', "
            "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) ON CONFLICT(image) DO UPDATE SET "
            "source_repo = excluded.source_repo, commit_id = excluded.commit_id, "
            "software_group = excluded.software_group, software_key = excluded.software_key, "
            "origin = excluded.origin, updated_at = excluded.updated_at",
            (source.image, *source.values),
        )


def record_image_inspection(db: Database, source: ImageSourceRow) -> None:
    """Store what inspecting an image's config gave (its values and `inspect_error`), stamped
    now; an image first known this way has the origin `image`."""
    with db.transaction():
        db.connection.execute(
            "INSERT INTO image_sources (image, source_repo, commit_id, software_group, "
            "software_key, origin, updated_at, inspected_at, inspect_error) "
            "VALUES (?, ?, ?, ?, ?, 'image', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), "
            "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?) ON CONFLICT(image) DO UPDATE SET "
            "source_repo = excluded.source_repo, commit_id = excluded.commit_id, "
            "software_group = excluded.software_group, software_key = excluded.software_key, "
            "inspected_at = excluded.inspected_at, inspect_error = excluded.inspect_error",
            (source.image, *source.values, source.inspect_error),
        )


def images_to_inspect(db: Database) -> list[str]:
    """The container images of the compiled entries (host processes have none), sorted."""
    return [
        image
        for (image,) in db.connection.execute(
            "SELECT DISTINCT image FROM entries WHERE is_host = 0 AND image != '' ORDER BY image"
        )
    ]


# --------------------------------------------------------------------------------------------
# clones


@dataclass(frozen=True)
class SourceCommit:
    """One (source URL, commit) pair recorded for an image, as written there: what
    clone-sources checks out and what its checkout is recorded under."""

    url: str
    commit: str


def recorded_commits(db: Database) -> list[SourceCommit]:
    """Every (source URL, commit) recorded for an image, once each, sorted."""
    return [
        SourceCommit(*row)
        for row in db.connection.execute(
            "SELECT DISTINCT source_repo, commit_id FROM image_sources "
            "WHERE source_repo != '' ORDER BY 1, 2"
        )
    ]


@dataclass(frozen=True)
class CloneRow:
    """The outcome of checking out one recorded source."""

    source: SourceCommit
    status: str
    """cloned, present (already complete), fallback, unavailable or refused."""
    path: str = ""
    """The checkout, relative to the collection ('' when there is none)."""
    checked_out: str = ""
    """The commit checked out: the recorded one, or a branch head's for a fallback."""
    message: str = ""


def record_clone(db: Database, clone: CloneRow, *, item: str, error: str | None) -> None:
    """Store a checkout's outcome and, in the same transaction, replace the problem
    clone-sources recorded for it under `item` with `error` (none when None)."""
    source = clone.source
    with db.transaction():
        db.connection.execute(
            "INSERT INTO clones (source_url, commit_id, path, status, checked_out, message) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(source_url, commit_id) DO UPDATE SET "
            "path = excluded.path, status = excluded.status, checked_out = excluded.checked_out, "
            "message = excluded.message, updated_at = excluded.updated_at",
            (
                source.url,
                source.commit,
                clone.path,
                clone.status,
                clone.checked_out,
                clone.message,
            ),
        )
        db.connection.execute(
            "DELETE FROM errors WHERE stage = ? AND item = ?", (CLONE_STAGE, item)
        )
        if error is not None:
            db.connection.execute(
                "INSERT INTO errors (stage, item, message) VALUES (?, ?, ?)",
                (CLONE_STAGE, item, error),
            )


def _clone(row: tuple[str, str, str, str, str, str]) -> CloneRow:
    url, commit, *rest = row
    return CloneRow(SourceCommit(url, commit), *rest)


_CLONE_COLUMNS = "source_url, commit_id, status, path, checked_out, message"


def usable_clones(db: Database) -> list[CloneRow]:
    """The checkouts clone-sources made (or found complete), by path."""
    return [
        _clone(row)
        for row in db.connection.execute(
            f"SELECT {_CLONE_COLUMNS} FROM clones "
            "WHERE status IN ('cloned', 'present', 'fallback') ORDER BY path"
        )
    ]


def clone_of(db: Database, source: SourceCommit) -> CloneRow | None:
    """What clone-sources last recorded for `source` (None if it never tried)."""
    row = db.connection.execute(
        f"SELECT {_CLONE_COLUMNS} FROM clones WHERE source_url = ? AND commit_id = ?",
        (source.url, source.commit),
    ).fetchone()
    return None if row is None else _clone(row)


def clone_paths(db: Database) -> list[str]:
    """Every checkout directory clone-sources recorded, relative to the collection."""
    return [path for (path,) in db.connection.execute("SELECT path FROM clones WHERE path != ''")]


# --------------------------------------------------------------------------------------------
# binary_sources and file_sources


@dataclass(frozen=True)
class BinarySourceRow:
    """How one binary's files resolved: the checkout most of them came from and how sure
    that is."""

    binary_id: int
    method: str
    """The method that resolved most files, or none."""
    confidence: str
    """exact, module, low, fallback or none."""
    checkout: str = ""
    """The main checkout, relative to the collection ('' if none)."""
    commit_id: str = ""
    source_url: str = ""
    resolved: int = 0
    missing: int = 0
    """Files whose module is known but which are not in the checkout (generated at build)."""
    unresolved: int = 0
    """Files of no known repository."""
    notes: str = ""
    """Why the recorded sources were not (fully) used, in a sentence or two."""

    @classmethod
    def not_resolved(cls, binary_id: int) -> BinarySourceRow:
        """What a binary resolve has not seen shows: no checkout, confidence none."""
        return cls(binary_id, "none", "none")


@dataclass(frozen=True)
class FileSourceRow:
    """Where one file of a binary resolved to, or why it did not."""

    binary_id: int
    file_id: int
    status: str
    """resolved, missing or unresolved."""
    source_path: str = ""
    """The source file, relative to the collection (resolved files only)."""
    method: str = ""
    reason: str = ""
    """Why a file found in a checkout was refused (sources/tree.py), '' when it wasn't."""


def store_binary_sources(
    db: Database, binary: BinarySourceRow, files: Iterable[FileSourceRow]
) -> None:
    """Replace what resolve recorded for one binary, in one transaction."""
    with db.transaction():
        db.connection.execute(
            "INSERT OR REPLACE INTO binary_sources (binary_id, method, confidence, checkout, "
            "commit_id, source_url, resolved, missing, unresolved, notes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values(binary),
        )
        db.connection.execute("DELETE FROM file_sources WHERE binary_id = ?", (binary.binary_id,))
        db.connection.executemany(
            "INSERT INTO file_sources (binary_id, file_id, status, source_path, method, reason) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            # plain tuples: astuple's deep copy is slow for binaries of many files
            ((f.binary_id, f.file_id, f.status, f.source_path, f.method, f.reason) for f in files),
        )


def binary_sources(db: Database) -> dict[int, BinarySourceRow]:
    """What resolve recorded, by binary id (binaries it has not seen have no row)."""
    return {
        row[0]: BinarySourceRow(*row)
        for row in db.connection.execute(
            "SELECT binary_id, method, confidence, checkout, commit_id, source_url, resolved, "
            "missing, unresolved, notes FROM binary_sources ORDER BY binary_id"
        )
    }


def file_sources(db: Database, binary_id: int) -> dict[int, FileSourceRow]:
    """What resolve recorded for the files of one binary, by file id."""
    return {
        row[1]: FileSourceRow(*row)
        for row in db.connection.execute(
            "SELECT binary_id, file_id, status, source_path, method, reason FROM file_sources "
            "WHERE binary_id = ? ORDER BY file_id",
            (binary_id,),
        )
    }


@dataclass(frozen=True)
class SourceCounts:
    """The collection's resolved sources at a glance."""

    binaries: dict[str, int]
    """Binaries per confidence (only the confidences some binary has), by confidence."""
    files_resolved: int
    files_missing: int
    files_unresolved: int


def source_counts(db: Database) -> SourceCounts:
    """How many binaries resolved with each confidence, and their files by status."""
    binaries = dict(
        db.connection.execute(
            "SELECT confidence, count(*) FROM binary_sources GROUP BY 1 ORDER BY 1"
        )
    )
    files = db.connection.execute(
        "SELECT coalesce(sum(resolved), 0), coalesce(sum(missing), 0), "
        "coalesce(sum(unresolved), 0) FROM binary_sources"
    ).fetchone()
    return SourceCounts(binaries, *files)


@dataclass(frozen=True)
class RefusedFileRow:
    """A source file resolve found in a checkout and refused (sources/tree.py)."""

    binary_name: str
    meta_hash: str
    path: str
    """The file's path in the covmeta file."""
    reason: str


def refused_source_files(db: Database) -> list[RefusedFileRow]:
    """Every refused source file, by binary name and path."""
    return [
        RefusedFileRow(*row)
        for row in db.connection.execute(
            "SELECT b.name, b.meta_hash, f.path, x.reason FROM file_sources x "
            "JOIN binaries b ON b.id = x.binary_id "
            "JOIN binary_files f ON f.binary_id = x.binary_id AND f.file_id = x.file_id "
            "WHERE x.reason != '' ORDER BY b.name, f.path"
        )
    ]


# --------------------------------------------------------------------------------------------
# What resolve reads of the compiled binaries


@dataclass(frozen=True)
class BinaryToResolve:
    """A compiled binary as resolve needs it."""

    binary_id: int
    name: str
    files: tuple[tuple[int, str], ...]
    """(file id, covmeta path) of its application files, by file id."""
    owner_names: frozenset[str]
    """The names of the owners running it: a checkout named like one may hold its source."""
    recorded: tuple[SourceCommit, ...]
    """The sources recorded for the images (or host binaries) of its entries, sorted."""


def binaries_to_resolve(db: Database) -> Iterator[BinaryToResolve]:
    """Every binary, by name and id, read one at a time (the caller writes in between)."""
    conn = db.connection
    for binary_id, name in conn.execute(
        "SELECT id, name FROM binaries ORDER BY name, id"
    ).fetchall():
        files = conn.execute(
            "SELECT file_id, path FROM binary_files WHERE binary_id = ? ORDER BY file_id",
            (binary_id,),
        ).fetchall()
        owners = conn.execute(
            "SELECT DISTINCT owner_name FROM owners WHERE binary_id = ?", (binary_id,)
        )
        recorded = conn.execute(
            "SELECT DISTINCT s.source_repo, s.commit_id FROM entries e JOIN image_sources s "
            "ON s.image = e.source_key WHERE e.binary_id = ? AND s.source_repo != '' "
            "ORDER BY 1, 2",
            (binary_id,),
        )
        yield BinaryToResolve(
            binary_id,
            name,
            tuple(files),
            frozenset(n for (n,) in owners),
            tuple(SourceCommit(*row) for row in recorded),
        )
