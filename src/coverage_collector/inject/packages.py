"""Which directories of a Go source tree hold a `package main`, decided as the release
build system decides it before it injects the coverage server (reference-tool §1.1).

A directory is a main package when it has at least one compilable `.go` file and all of
them say `package main`. Not compilable, so not looked at: `_test.go` files, files whose
name starts with `_` or `.` (the go command ignores them) and files whose build
constraint is exactly `ignore` (`//go:build ignore`, `// +build ignore`: generators and
examples that are run with `go run`, never built into the binary). The walk does not
enter `.git`, `vendor`, `node_modules`, `testdata` or hidden directories, nor a nested
module (a directory with its own `go.mod` below a root): that module is built on its own,
and it is injected when it is given as a root itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

SKIPPED_DIRS = frozenset({".git", "vendor", "node_modules", "testdata"})
MAX_HEADER_BYTES = 64 << 10
"""Bytes read from each Go file to find its package clause: comments before it are short."""

_TOKEN = re.compile(r"\s+|//[^\n]*|/\*.*?\*/|\S+", re.DOTALL)
_IDENT = re.compile(r"[^\W\d]\w*\Z")


def package_clause(source: str) -> tuple[str, bool]:
    """Return the package name of a Go file's `source` and whether its build constraint
    is exactly `ignore`; ('', False) when no package clause opens the file.

    Only the header matters: comments (where build constraints live) and the clause.
    """
    ignored = False
    words: list[str] = []
    for match in _TOKEN.finditer(source):
        token = match.group()
        if token.startswith("//"):
            ignored = ignored or _is_ignore_constraint(token)
        elif token.startswith("/*") or token.isspace():
            continue
        else:
            words.append(token)
            if len(words) == 2:
                break
    if len(words) == 2 and words[0] == "package":
        name = words[1].removesuffix(";")
        if _IDENT.match(name):
            return name, ignored
    return "", ignored


def _is_ignore_constraint(comment: str) -> bool:
    """Tell whether the line comment is a build constraint that is exactly `ignore`."""
    text = comment[2:]
    if text.startswith("go:build"):
        return text[len("go:build") :].strip() == "ignore"
    stripped = text.strip()
    return stripped.startswith("+build") and stripped[len("+build") :].strip() == "ignore"


def compilable(name: str) -> bool:
    """Tell whether a file name is one the go command compiles into a package."""
    return name.endswith(".go") and not name.endswith("_test.go") and name[0] not in "._"


def read_header(path: str) -> str:
    """The first MAX_HEADER_BYTES of the file at `path` as text (bad bytes replaced)."""
    with open(path, "rb") as handle:
        return handle.read(MAX_HEADER_BYTES).decode("utf-8", "replace")


def is_main_package(directory: str, files: list[str]) -> bool:
    """Tell whether `files` (names in `directory`) make it a main package: at least one
    compilable, not-ignored Go file, and every such file in `package main`."""
    found = False
    for name in files:
        if not compilable(name):
            continue
        package, ignored = package_clause(read_header(os.path.join(directory, name)))
        if ignored:
            continue
        if package != "main":
            return False
        found = True
    return found


def main_packages(root: str) -> Iterator[str]:
    """Yield the main-package directories under `root` (itself included), in walk order."""
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIPPED_DIRS
            and not d.startswith((".", "_"))
            and not os.path.isfile(os.path.join(directory, d, "go.mod"))
            and not os.path.islink(os.path.join(directory, d))
        )
        if is_main_package(directory, sorted(f for f in files if _is_file(directory, f))):
            yield directory


def _is_file(directory: str, name: str) -> bool:
    return os.path.isfile(os.path.join(directory, name))
