"""sources/tree.py: the one way source text is read, on real files, symlinks and devices."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from coverage_collector.sources.tree import (
    MAX_SOURCE_BYTES,
    NOT_REGULAR,
    OUTSIDE,
    SYMLINK,
    TOO_LARGE,
    CollectionSources,
    RefusedSource,
    SourceRefusedError,
    SourceTree,
    refused_lines,
)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout with a good file, symlinks in and out, a FIFO, and an outside secret."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("OUTSIDE SECRET\n")
    (outside / "x.go").write_text("package outside\n")
    root = tmp_path / "collection" / "repos" / "example.com" / "org" / "repo" / "abc123"
    (root / "pkg").mkdir(parents=True)
    (root / "main.go").write_text("package main\n")
    (root / "pkg" / "a.go").write_text("package pkg\n")
    (root / "inside.go").symlink_to("main.go")
    (root / "pkg" / "up.go").symlink_to("../main.go")
    (root / "secret.go").symlink_to(outside / "secret.txt")
    (root / "passwd.go").symlink_to("/etc/passwd")
    (root / "zero.go").symlink_to("/dev/zero")
    (root / "stdin.go").symlink_to("/proc/self/fd/0")
    (root / "relative-out.go").symlink_to("../../../../../outside/secret.txt")
    (root / "linked").symlink_to(outside)
    (root / "dir.go").mkdir()
    os.mkfifo(root / "fifo.go")
    return root


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("main.go", ""),
        ("pkg/a.go", ""),
        ("inside.go", ""),
        ("pkg/up.go", ""),
        ("missing.go", ""),  # missing is not refused: resolve calls it missing
        ("../../../../../outside/secret.txt", OUTSIDE),
        ("pkg/../../abc123/main.go", ""),  # `..` that stays inside is fine
        ("/etc/passwd", OUTSIDE),
        ("secret.go", SYMLINK),
        ("passwd.go", SYMLINK),
        ("zero.go", SYMLINK),
        ("stdin.go", SYMLINK),
        ("relative-out.go", SYMLINK),
        ("linked/x.go", SYMLINK),
        ("linked/../main.go", ""),  # normalised lexically, as resolve joins paths
        ("dir.go", NOT_REGULAR),
        ("fifo.go", NOT_REGULAR),
    ],
)
def test_refusal(checkout: Path, path: str, reason: str) -> None:
    assert SourceTree.at(str(checkout)).refusal(path) == reason


def test_read_returns_the_bytes_of_files_inside(checkout: Path) -> None:
    tree = SourceTree.at(str(checkout))
    assert tree.read("main.go") == b"package main\n"
    assert tree.read(str(checkout / "inside.go")) == b"package main\n"
    assert tree.is_file("pkg/a.go")
    assert not tree.is_file("secret.go")
    assert not tree.is_file("missing.go")


@pytest.mark.parametrize(
    "path", ["secret.go", "passwd.go", "zero.go", "stdin.go", "linked/x.go", "fifo.go", "../x"]
)
def test_read_refuses_without_reading(checkout: Path, path: str) -> None:
    tree = SourceTree.at(str(checkout))
    done = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            tree.read(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(10), f"reading {path} hung"
    assert len(errors) == 1 and isinstance(errors[0], SourceRefusedError)
    assert path in str(errors[0])


def test_too_large_files_are_refused(checkout: Path) -> None:
    big = checkout / "big.go"
    big.write_bytes(b"/" * (MAX_SOURCE_BYTES + 1))
    tree = SourceTree.at(str(checkout))
    assert tree.refusal("big.go") == TOO_LARGE
    with pytest.raises(SourceRefusedError, match="too large"):
        tree.read("big.go")
    assert tree.read("big.go", max_bytes=MAX_SOURCE_BYTES + 1) == big.read_bytes()


def test_collection_sources_read_within_the_checkout_that_holds_the_file(
    checkout: Path,
) -> None:
    collection = checkout.parents[4]
    relative = str(checkout.relative_to(collection))
    sources = CollectionSources(str(collection), [relative])
    assert sources.read(f"{relative}/main.go") == b"package main\n"
    with pytest.raises(SourceRefusedError) as refused:
        sources.read(f"{relative}/secret.go")
    assert refused.value.reason == SYMLINK
    # a path in no checkout (the database says so, or was edited) is outside
    (collection / "coverage.txt").write_text("x")
    with pytest.raises(SourceRefusedError) as refused:
        sources.read("coverage.txt")
    assert refused.value.reason == OUTSIDE
    with pytest.raises(SourceRefusedError) as refused:
        sources.read(f"{relative}/../../../../../../outside/secret.txt")
    assert refused.value.reason == OUTSIDE


def test_refused_lines_name_each_file_escaped_and_cap_the_list() -> None:
    refused = [RefusedSource("evil\x1b[31m", f"f{i}.go", SYMLINK) for i in range(60)]
    lines = refused_lines(refused)
    assert lines[0].startswith("refused 60 source files")
    assert "\x1b" not in "".join(lines)
    assert "f0.go: symlink" in lines[1]
    assert lines[-1] == "  ... and 10 more"
    assert refused_lines([]) == []
