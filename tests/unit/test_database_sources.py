"""database/sources.py: the source tables read and written on a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from coverage_collector import database
from coverage_collector.database import (
    CLONE_STAGE,
    BinarySourceRow,
    CloneRow,
    Database,
    FileSourceRow,
    ImageSourceRow,
    SourceCommit,
)

KV = SourceCommit("https://github.com/example/kv", "a" * 40)
WEB = SourceCommit("https://github.com/example/web", "b" * 40)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with database.open_database(str(tmp_path)) as opened:
        yield opened


def _raw(db: Database, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read what a writer stored, column by column (the test's own view of the tables)."""
    return db.connection.execute(sql, parameters).fetchall()


def _binary(db: Database, meta_hash: str, name: str, files: list[str]) -> int:
    """A compiled binary with its application files (file id = position in `files`)."""
    (binary_id,) = db.connection.execute(
        "INSERT INTO binaries (meta_hash, name, mode, granularity, n_units, n_funcs, meta_blob) "
        "VALUES (?, ?, 'count', 'perblock', 0, 0, x'') RETURNING id",
        (meta_hash, name),
    ).fetchone()
    db.connection.executemany(
        "INSERT INTO binary_files (binary_id, file_id, path, statements, covered) "
        "VALUES (?, ?, ?, 1, 0)",
        [(binary_id, i, path) for i, path in enumerate(files)],
    )
    return int(binary_id)


def _entry(db: Database, name: str, binary_id: int, source_key: str) -> None:
    db.connection.execute(
        "INSERT INTO entries (dir_name, binary_id, image, source_key, status, stat_sig, "
        "input_hash, metadata_hash) VALUES (?, ?, ?, ?, 'ok', '', '', '')",
        (name, binary_id, source_key, source_key),
    )


def _owner(db: Database, key: str, name: str, binary_id: int) -> None:
    db.connection.execute(
        "INSERT INTO owners (group_key, namespace, owner_type, owner_name, binary_name, "
        "binary_id) VALUES (?, 'ns', 'Deployment', ?, 'bin', ?)",
        (key, name, binary_id),
    )


# --------------------------------------------------------------------------------------------
# image_sources


def test_info_json_sources_are_stored_and_replaced(db: Database) -> None:
    database.record_info_json_sources(db, ImageSourceRow("img", KV.url, KV.commit, "g", ""))
    database.record_info_json_sources(db, ImageSourceRow("img", WEB.url, WEB.commit, "g", "k"))
    assert database.image_sources(db) == {
        "img": ImageSourceRow("img", WEB.url, WEB.commit, "g", "k")
    }
    assert _raw(db, "SELECT origin FROM image_sources") == [("info.json",)]


def test_inspection_is_recorded_beside_the_values_and_kept_by_compile(db: Database) -> None:
    database.record_info_json_sources(db, ImageSourceRow("known", KV.url))
    database.record_image_inspection(
        db, ImageSourceRow("known", KV.url, KV.commit, inspect_error="label x: not text")
    )
    database.record_image_inspection(db, ImageSourceRow("new", WEB.url, WEB.commit))
    database.record_image_inspection(db, ImageSourceRow("later", WEB.url))
    database.record_info_json_sources(db, ImageSourceRow("known", KV.url, KV.commit, "g"))
    database.record_info_json_sources(db, ImageSourceRow("later", WEB.url, WEB.commit))
    found = database.image_sources(db)
    assert found["known"].values == (KV.url, KV.commit, "g", "")
    assert found["known"].inspect_error == "label x: not text"
    assert found["known"].inspected_at and found["new"].inspected_at
    assert found["later"].inspected_at and found["later"].commit_id == WEB.commit
    assert found["new"].inspect_error == ""
    origins = _raw(db, "SELECT image, origin FROM image_sources ORDER BY image")
    assert origins == [("known", "info.json"), ("later", "info.json"), ("new", "image")]


def test_images_with_repository_leave_out_images_without_one(db: Database) -> None:
    database.record_info_json_sources(db, ImageSourceRow("with", KV.url))
    database.record_info_json_sources(db, ImageSourceRow("without", "", "", "group"))
    assert database.images_with_repository(db) == {"with"}


def test_images_to_inspect_are_the_container_images_of_entries(db: Database) -> None:
    binary = _binary(db, "h1", "bin", [])
    _entry(db, "e1", binary, "quay.io-b")
    _entry(db, "e2", binary, "quay.io-a")
    _entry(db, "e3", binary, "quay.io-a")
    _entry(db, "e4", binary, "")
    db.connection.execute(
        "INSERT INTO entries (dir_name, binary_id, image, is_host, status, stat_sig, "
        "input_hash, metadata_hash) VALUES ('host', ?, 'host-image', 1, 'ok', '', '', '')",
        (binary,),
    )
    assert database.images_to_inspect(db) == ["quay.io-a", "quay.io-b"]


def test_recorded_commits_are_distinct_sorted_and_have_a_repository(db: Database) -> None:
    database.record_info_json_sources(db, ImageSourceRow("c", WEB.url, WEB.commit))
    database.record_info_json_sources(db, ImageSourceRow("b", KV.url, KV.commit))
    database.record_info_json_sources(db, ImageSourceRow("a", KV.url, KV.commit))
    database.record_info_json_sources(db, ImageSourceRow("d", "", "c" * 40))
    assert database.recorded_commits(db) == [KV, WEB]


# --------------------------------------------------------------------------------------------
# clones


def test_a_failed_clone_is_an_error_until_it_succeeds(db: Database) -> None:
    failed = CloneRow(KV, "unavailable", message="commit not fetched")
    database.record_clone(db, failed, item="kv@aaaa", error=failed.message)
    assert database.clone_of(db, KV) == failed
    assert _raw(db, "SELECT stage, item, message FROM errors") == [
        (CLONE_STAGE, "kv@aaaa", "commit not fetched")
    ]
    cloned = CloneRow(KV, "cloned", "repos/kv/aaaa", KV.commit)
    database.record_clone(db, cloned, item="kv@aaaa", error=None)
    assert database.clone_of(db, KV) == cloned
    assert _raw(db, "SELECT count(*) FROM errors") == [(0,)]
    assert database.clone_of(db, WEB) is None


def test_usable_clones_and_their_paths(db: Database) -> None:
    other = SourceCommit(KV.url + ".git", KV.commit)
    gone = SourceCommit("https://github.com/example/gone", "c" * 40)
    for clone in (
        CloneRow(WEB, "fallback", "repos/web/bbbb-branch-head", "d" * 40, "no commit"),
        CloneRow(KV, "present", "repos/kv/aaaa", KV.commit),
        CloneRow(other, "cloned", "repos/kv/aaab", KV.commit),
        CloneRow(gone, "refused", message="refused URL"),
    ):
        database.record_clone(db, clone, item=clone.source.url, error=None)
    usable = database.usable_clones(db)
    assert [c.source for c in usable] == [KV, other, WEB]
    assert usable[2].checked_out == "d" * 40 and usable[2].message == "no commit"
    assert sorted(database.clone_paths(db)) == [
        "repos/kv/aaaa",
        "repos/kv/aaab",
        "repos/web/bbbb-branch-head",
    ]


# --------------------------------------------------------------------------------------------
# binary_sources and file_sources


def _resolved(binary_id: int, notes: str = "") -> BinarySourceRow:
    return BinarySourceRow(
        binary_id, "image-source", "exact", "repos/kv/aaaa", KV.commit, KV.url, 1, 1, 1, notes
    )


def test_binary_sources_are_replaced_with_their_files(db: Database) -> None:
    binary = _binary(db, "h1", "kv", ["kv/a.go", "kv/b.go", "gen/c.go"])
    database.store_binary_sources(
        db,
        _resolved(binary, "old"),
        [
            FileSourceRow(binary, 0, "resolved", "repos/kv/aaaa/a.go", "image-source"),
            FileSourceRow(binary, 1, "missing", "", "image-source"),
            FileSourceRow(binary, 2, "unresolved", "", "name", "symlink"),
        ],
    )
    files = [FileSourceRow(binary, 1, "resolved", "repos/kv/aaaa/b.go", "module-index")]
    database.store_binary_sources(db, _resolved(binary, "new"), files)
    assert database.binary_sources(db) == {binary: _resolved(binary, "new")}
    assert database.file_sources(db, binary) == {1: files[0]}


def test_file_sources_are_by_file_id_of_one_binary(db: Database) -> None:
    first = _binary(db, "h1", "kv", ["a.go", "b.go"])
    second = _binary(db, "h2", "web", ["a.go"])
    database.store_binary_sources(
        db,
        _resolved(first),
        [FileSourceRow(first, 1, "unresolved"), FileSourceRow(first, 0, "resolved", "x/a.go")],
    )
    database.store_binary_sources(db, _resolved(second), [FileSourceRow(second, 0, "missing")])
    assert list(database.file_sources(db, first)) == [0, 1]
    assert database.file_sources(db, second) == {0: FileSourceRow(second, 0, "missing")}


def test_a_failing_store_leaves_the_binary_as_it_was(db: Database) -> None:
    binary = _binary(db, "h1", "kv", ["a.go"])
    database.store_binary_sources(db, _resolved(binary, "kept"), [])
    duplicate = [FileSourceRow(binary, 0, "resolved", "a.go")] * 2
    with pytest.raises(sqlite3.IntegrityError):
        database.store_binary_sources(db, _resolved(binary, "lost"), duplicate)
    assert database.binary_sources(db)[binary].notes == "kept"
    assert database.file_sources(db, binary) == {}


def test_a_binary_not_resolved_has_no_checkout_and_confidence_none() -> None:
    row = BinarySourceRow.not_resolved(7)
    assert (row.binary_id, row.confidence, row.checkout, row.resolved) == (7, "none", "", 0)


def test_source_counts(db: Database) -> None:
    empty = database.source_counts(db)
    assert (empty.binaries, empty.files_resolved, empty.files_unresolved) == ({}, 0, 0)
    for i, confidence in enumerate(("none", "exact", "exact")):
        binary = _binary(db, f"h{i}", "bin", [])
        row = BinarySourceRow(binary, "none", confidence, resolved=i, missing=1, unresolved=2)
        database.store_binary_sources(db, row, [])
    counts = database.source_counts(db)
    assert list(counts.binaries.items()) == [("exact", 2), ("none", 1)]
    assert (counts.files_resolved, counts.files_missing, counts.files_unresolved) == (3, 3, 6)


def test_refused_source_files_name_binary_and_covmeta_path(db: Database) -> None:
    web = _binary(db, "h2", "web", ["web/z.go", "web/a.go"])
    kv = _binary(db, "h1", "kv", ["kv/a.go"])
    database.store_binary_sources(
        db,
        _resolved(web),
        [
            FileSourceRow(web, 0, "unresolved", reason="symlink"),
            FileSourceRow(web, 1, "unresolved", reason="too large"),
        ],
    )
    database.store_binary_sources(
        db, _resolved(kv), [FileSourceRow(kv, 0, "resolved", "repos/kv/a.go")]
    )
    refused = database.refused_source_files(db)
    assert [(r.binary_name, r.meta_hash, r.path, r.reason) for r in refused] == [
        ("web", "h2", "web/a.go", "too large"),
        ("web", "h2", "web/z.go", "symlink"),
    ]


# --------------------------------------------------------------------------------------------
# What resolve reads


def test_binaries_to_resolve(db: Database) -> None:
    web = _binary(db, "h2", "web", ["web/b.go", "web/a.go"])
    kv = _binary(db, "h1", "kv", [])
    database.record_info_json_sources(db, ImageSourceRow("web-image", WEB.url, WEB.commit))
    database.record_info_json_sources(db, ImageSourceRow("kv-image", KV.url, KV.commit))
    database.record_info_json_sources(db, ImageSourceRow("no-repo", "", "", "group"))
    for name, key in (("e1", "web-image"), ("e2", "kv-image"), ("e3", "no-repo")):
        _entry(db, name, web, key)
    _entry(db, "e4", web, "web-image")
    _owner(db, "o1", "frontend", web)
    _owner(db, "o2", "frontend", web)
    _owner(db, "o3", "", web)
    found = list(database.binaries_to_resolve(db))
    assert [b.name for b in found] == ["kv", "web"]
    assert found[0].binary_id == kv and found[0].files == () and found[0].recorded == ()
    assert found[1].files == ((0, "web/b.go"), (1, "web/a.go"))
    assert found[1].owner_names == {"frontend", ""}
    assert found[1].recorded == (KV, WEB)
