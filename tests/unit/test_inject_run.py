"""`inject`: idempotent, updates only its own file, refuses a program's own, `--remove`."""

from __future__ import annotations

from pathlib import Path

from coverage_collector import inject
from coverage_collector.inject.run import MARKER, SERVER_FILE


def tree(root: Path) -> Path:
    for name, text in {
        "go.mod": "module m\n",
        "cmd/a/main.go": "package main\n",
        "cmd/b/main.go": "package main\n",
        "lib/lib.go": "package lib\n",
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def run(root: Path, *, remove: bool = False) -> inject.Summary:
    return inject.run(inject.Options(dirs=(str(root),), remove=remove))


def test_inject_is_idempotent_and_remove_undoes_it(tmp_path: Path) -> None:
    root = tree(tmp_path)
    first = run(root)
    assert first.ok and len(first.added) == 2
    served = (root / "cmd/a" / SERVER_FILE).read_bytes()
    assert served == inject.server_source() and served.startswith(MARKER)
    assert not (root / "lib" / SERVER_FILE).exists()
    again = run(root)
    assert (again.added, again.updated, len(again.current)) == ([], [], 2)
    removed = run(root, remove=True)
    assert len(removed.removed) == 2
    assert not list(root.rglob(SERVER_FILE))


def test_an_older_copy_is_updated_and_a_programs_own_file_refused(tmp_path: Path) -> None:
    root = tree(tmp_path)
    (root / "cmd/a" / SERVER_FILE).write_bytes(MARKER + b"\n// an older version\npackage main\n")
    own = b"package main\n\n// the program's own coverage_server.go\n"
    (root / "cmd/b" / SERVER_FILE).write_bytes(own)
    summary = run(root)
    assert summary.updated == [str(root / "cmd/a" / SERVER_FILE)]
    assert [p for p, _ in summary.refused] == [str(root / "cmd/b" / SERVER_FILE)]
    assert not summary.ok and summary.exit_status == 1
    assert (root / "cmd/b" / SERVER_FILE).read_bytes() == own
    assert run(root, remove=True).refused  # and --remove leaves it too
    assert (root / "cmd/b" / SERVER_FILE).read_bytes() == own


def test_a_missing_root_is_refused_by_name(tmp_path: Path) -> None:
    summary = run(tmp_path / "nowhere")
    assert summary.refused == [(str(tmp_path / "nowhere"), "not a directory")]
    assert any("nowhere: not a directory" in line for line in summary.lines())
