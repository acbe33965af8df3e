"""An index of every Go module in the collection's checkouts, built once per run.

Every `go.mod` counts, not only one at a repository's root (multi-module
repositories, `go.work` workspaces: each used module has its own `go.mod`), and
every module listed in `vendor/modules.txt` maps to its vendored copy. Lookups are
by the longest *path-aware* module prefix: module `a/b/api` owns `a/b/api/x` but
not `a/b/apiserver`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from coverage_collector.sources.tree import SourceTree

MAX_MODULE_FILE_BYTES = 1 << 20
SKIPPED_DIRS = {"testdata", "node_modules", "_output"}
"""Never compiled into a binary (dot-directories are skipped too)."""
_MODULE_LINE = re.compile(r'^module\s+"?([^\s"/][^\s"]*)"?\s*(?://.*)?$', re.MULTILINE)


@dataclass(frozen=True)
class Checkout:
    """A checked-out repository at one commit."""

    path: str
    """Absolute directory of the checkout."""
    url: str = ""
    commit: str = ""
    exact: bool = True
    """False for a branch-head fallback: the source may not match the binary."""

    @property
    def name(self) -> str:
        """The repository's name (`<repo>` of `repos/<host>/<org>/<repo>/<commit>`)."""
        return os.path.basename(os.path.dirname(self.path.rstrip("/")))


@dataclass(frozen=True)
class Module:
    path: str
    """Module path, e.g. `example.com/platform/api`."""
    root: str
    """Absolute directory holding the module's files."""
    checkout: Checkout
    vendored: bool = False


def module_path_of(go_mod: str) -> str:
    """Return the module path declared in the `go.mod` file text `go_mod` ('' if none)."""
    match = _MODULE_LINE.search(go_mod)
    return match.group(1) if match else ""


def vendored_modules(modules_txt: str) -> list[str]:
    """Return the module paths listed in a `vendor/modules.txt` text."""
    found = []
    for line in modules_txt.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "#" and not parts[1].startswith("#"):
            found.append(parts[1])
    return found


STD_MODULE = "std"
"""The standard library's module (GOROOT/src): its import paths carry no module prefix."""


def prefixes(import_path: str) -> Iterator[tuple[str, str]]:
    """Yield the (module path, rest) splits that may own `import_path`, longest first.

    Splits are at path-element boundaries; last comes the standard library, which owns
    paths whose first element has no dot (`go/ast/ast.go`, `vendor/golang.org/x/...`).
    """
    cut = len(import_path)
    while cut > 0:
        yield import_path[:cut], import_path[cut + 1 :]
        cut = import_path.rfind("/", 0, cut)
    if "." not in import_path.split("/", 1)[0]:
        yield STD_MODULE, import_path


@dataclass
class ModuleIndex:
    """Every module of every checkout, by module path."""

    by_path: dict[str, list[Module]] = field(default_factory=dict)
    checkouts: list[Checkout] = field(default_factory=list)
    go_files: set[str] = field(default_factory=set)
    """Every `.go` file seen by the walk: resolving a file is a set lookup, not a stat."""

    @classmethod
    def build(cls, checkouts: list[Checkout]) -> ModuleIndex:
        index = cls(checkouts=list(checkouts))
        for checkout in checkouts:
            for module in _walk_modules(checkout, index.go_files):
                index.by_path.setdefault(module.path, []).append(module)
        return index

    def has_file(self, path: str) -> bool:
        return path in self.go_files or os.path.isfile(path)

    def longest(self, import_path: str) -> tuple[list[Module], str]:
        """Return the modules with the longest module path owning `import_path`, and the
        rest of the path inside them; ([], '') when no module owns it."""
        for prefix, rest in prefixes(import_path):
            modules = self.by_path.get(prefix)
            if modules:
                return modules, rest
        return [], ""

    def modules(self) -> Iterator[Module]:
        for modules in self.by_path.values():
            yield from modules


def _walk_modules(checkout: Checkout, go_files: set[str]) -> Iterator[Module]:
    """Yield the modules of one checkout (each `go.mod` outside `vendor/`, and each
    module of `vendor/modules.txt`); add its `.go` files to `go_files`."""
    root = checkout.path.rstrip("/")
    tree = SourceTree.at(root)
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        go_files.update(f"{directory}/{name}" for name in files if name.endswith(".go"))
        if "go.mod" not in files or "/vendor/" in f"{directory[len(root) :]}/":
            continue
        path = module_path_of(_read(tree, os.path.join(directory, "go.mod")))
        if path:
            yield Module(path, directory, checkout)
        vendor = f"{directory}/vendor"
        for vendored in vendored_modules(_read(tree, f"{vendor}/modules.txt")):
            yield Module(vendored, f"{vendor}/{vendored}", checkout, True)


def _read(tree: SourceTree, path: str) -> str:
    """A go.mod or modules.txt file's text, '' when missing or refused (a go.mod committed
    as a symlink to /dev/zero or /proc/self/fd/0 is refused, not read)."""
    try:
        return tree.read(path, MAX_MODULE_FILE_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
