"""Only `coverage_collector.database` runs SQLite statements (issue 15).

A statement elsewhere would bypass the typed readers and writers: the next column added to
the schema would again have to be found in a dozen modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "coverage_collector"
DATABASE = PACKAGE / "database"
STATEMENT_METHODS = {"execute", "executemany", "executescript"}


def _modules_outside_database() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if DATABASE not in p.parents)


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "sqlite3" for a in node.names):
            found.append(f"{node.lineno}: import sqlite3")
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            found.append(f"{node.lineno}: from sqlite3 import")
        elif isinstance(node, ast.Attribute) and node.attr in STATEMENT_METHODS:
            found.append(f"{node.lineno}: .{node.attr}(...)")
        elif isinstance(node, ast.Attribute) and node.attr == "connection":
            found.append(f"{node.lineno}: .connection (the database's raw connection)")
    return found


def test_the_package_is_found() -> None:
    assert (DATABASE / "connection.py").is_file()
    assert len(_modules_outside_database()) > 50


@pytest.mark.parametrize(
    "path", _modules_outside_database(), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_sql_outside_the_database_package(path: Path) -> None:
    assert _violations(path) == []


def test_the_check_catches_a_statement(tmp_path: Path) -> None:
    sample = tmp_path / "stage.py"
    sample.write_text(
        "import sqlite3\n\ndef f(db):\n    return db.connection.execute('SELECT 1')\n",
        encoding="utf-8",
    )
    assert [v.split(":")[0] for v in _violations(sample)] == ["1", "4", "4"]
