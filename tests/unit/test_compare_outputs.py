"""bench/compare_outputs.py: a baseline's database with the old names dumps like a new one.

The check compares a revision made before a rename with the working tree: without the
renames applied at dump time, every renamed table would show up as "only in" one snapshot.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.compare_outputs import new_names, table_rows

from coverage_collector.database.schema import MIGRATIONS


def _rows(path: Path) -> dict[str, bytes]:
    """Every table as the snapshot stores it, by the name it is stored under."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {new_names(t, [])[0]: b"".join(table_rows(conn, t)) for t in tables}
    finally:
        conn.close()


def _fill(conn: sqlite3.Connection, entries: str, owner_entries: str) -> None:
    """One binary, entry, instance and owner, written under either schema's names."""
    conn.execute(
        "INSERT INTO binaries (id, meta_hash, mode, granularity, n_units, n_funcs, meta_blob) "
        "VALUES (1, 'ab', 'set', 'perblock', 0, 0, x'00')"
    )
    conn.execute(
        f"INSERT INTO {entries} (id, dir_name, binary_id, status, stat_sig, input_hash, "
        "metadata_hash) VALUES (7, 'e', 1, 'ok', '', '', '')"
    )
    entry_id = "report_id" if entries == "reports" else "entry_id"
    conn.execute(
        f"INSERT INTO instances ({entry_id}, counter_file, pid, discovered_ns, size) "
        "VALUES (7, 'covcounters.ab.1.2', 1, 2, 3)"
    )
    conn.execute(
        "INSERT INTO owners (id, group_key, namespace, owner_type, owner_name, binary_name, "
        "binary_id) VALUES (3, 'k', 'ns', 'Deployment', 'o', 'b', 1)"
    )
    conn.execute(f"INSERT INTO {owner_entries} VALUES (3, 7)")
    conn.commit()


def test_a_version5_database_dumps_under_the_new_names(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / "old.db")
    for script in MIGRATIONS[:5]:
        old.executescript(script)
    _fill(old, "reports", "owner_reports")
    old.close()
    new = sqlite3.connect(tmp_path / "new.db")  # the rename alone: migration 6
    for script in MIGRATIONS[:6]:
        new.executescript(script)
    _fill(new, "entries", "owner_entries")
    new.close()

    dumped = _rows(tmp_path / "old.db")
    assert dumped == _rows(tmp_path / "new.db")
    assert b'"entry_id": 7' in dumped["instances"] and b'"entries": 0' in dumped["binaries"]
