"""Resolve every file of every binary to its source, saying how and how sure.

The cascade, per file (first hit wins):

1. `image-source`: the repository recorded for the binary's images (info.json, image
   labels) at its commit, by the longest path-aware module prefix;
2. `module-index`: any checkout's module owning the file's import path;
3. `renamed-module`: a module whose last path element appears in the import path
   (a module renamed upstream), if the rest of the path exists under it;
4. `build-path`: absolute build paths (`/workspace/...`, GOPATH `/go/src/<module>/...`)
   matched by their longest existing suffix in the binary's own checkouts;
5. `name`: a checkout whose repository name is the binary's or an owner's name (never
   an empty name), by suffix.

A file is `resolved` (found), `missing` (its module is known but the file is not in
the checkout, e.g. generated at build time) or `unresolved` (no repository).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from coverage_collector import database, logs
from coverage_collector.database import BinarySourceRow, Database, FileSourceRow, SourceCommit
from coverage_collector.sources.git import scrub
from coverage_collector.sources.modules import Checkout, Module, ModuleIndex, prefixes
from coverage_collector.sources.tree import RefusedSource, SourceTree, refused_lines
from coverage_collector.trust import terminal

STAGE = "resolve-sources"
log = logs.get_logger(__name__)


@dataclass(frozen=True)
class FileSource:
    file_id: int
    status: str
    """resolved, missing or unresolved."""
    path: str = ""
    """Absolute path of the source file (resolved files only)."""
    method: str = ""
    checkout: Checkout | None = None
    reason: str = ""
    """Why a file found in a checkout was refused (sources/tree.py), '' when it wasn't."""
    name: str = ""
    """The covmeta file name (set for refused files, which the summary names)."""


@dataclass
class BinarySources:
    """The outcome for one binary."""

    binary_id: int
    files: list[FileSource] = field(default_factory=list)
    notes: str = ""

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def refused(self) -> list[FileSource]:
        return [f for f in self.files if f.reason]

    @property
    def method(self) -> str:
        methods = Counter(f.method for f in self.files if f.status == "resolved")
        return methods.most_common(1)[0][0] if methods else "none"

    @property
    def checkout(self) -> Checkout | None:
        found = Counter(f.checkout for f in self.files if f.checkout is not None)
        return found.most_common(1)[0][0] if found else None

    @property
    def confidence(self) -> str:
        """exact (the recorded commit), fallback (a branch head), module (the right module,
        commit not recorded), low (matched by name or path shape) or none."""
        method, checkout = self.method, self.checkout
        if method == "none" or checkout is None:
            return "none"
        if not checkout.exact:
            return "fallback"
        return {"image-source": "exact", "module-index": "module"}.get(method, "low")


class Resolver:
    """Resolves binaries against one module index (built once, shared by all binaries)."""

    def __init__(self, index: ModuleIndex) -> None:
        self.index = index
        self.trees = {c.path: SourceTree.at(c.path) for c in index.checkouts}
        self.by_last_element: dict[str, list[Module]] = {}
        for module in index.modules():
            last = module.path.rsplit("/", 1)[-1]
            self.by_last_element.setdefault(last, []).append(module)

    def resolve(
        self,
        binary_id: int,
        files: Sequence[tuple[int, str]],
        own: list[Checkout],
        names: Iterable[str],
    ) -> BinarySources:
        """Resolve `files` ((file id, covmeta path)) of a binary built from the checkouts
        `own` (its recorded sources) and known by `names`."""
        own_paths = {c.path for c in own}
        wanted = {n.lower() for n in names if n}  # never an empty name
        named = [c for c in self.index.checkouts if c.name.lower() in wanted]
        result = BinarySources(binary_id)
        for file_id, path in files:
            source = self._file(file_id, path, own, own_paths, named)
            result.files.append(replace(source, name=path) if source.reason else source)
        return result

    def _file(
        self,
        file_id: int,
        path: str,
        own: list[Checkout],
        own_paths: set[str],
        named: list[Checkout],
    ) -> FileSource:
        import_path = _import_form(path)
        missing = None
        refused: list[FileSource] = []
        if import_path:
            for method, within in (("image-source", own_paths), ("module-index", None)):
                modules, rest = self._owners(import_path, within)
                for module in modules:
                    target = f"{module.root}/{rest}" if rest else module.root
                    found = self._found(file_id, target, method, module.checkout, refused)
                    if found is not None:
                        return found
                if modules and missing is None:
                    missing = FileSource(file_id, "missing", "", method, modules[0].checkout)
            renamed = self._renamed(file_id, import_path, own_paths, refused)
            if renamed is not None:
                return renamed
        if not refused:
            if missing is not None:
                return missing
            for method, checkouts in (("build-path", own), ("name", named)):
                for checkout in checkouts:
                    for target in _suffixes(checkout.path, path):
                        found = self._found(file_id, target, method, checkout, refused)
                        if found is not None:
                            return found
                        if refused:
                            break
        if refused:
            return refused[0]
        return FileSource(file_id, "unresolved")

    def _found(
        self,
        file_id: int,
        target: str,
        method: str,
        checkout: Checkout,
        refused: list[FileSource],
    ) -> FileSource | None:
        """The resolved file at `target` in `checkout`, or None; a target the checkout's
        SourceTree refuses is added to `refused` (unresolved, with the reason)."""
        if os.path.isdir(target):
            return None
        reason = self.trees[checkout.path].refusal(target)
        if reason:
            refused.append(FileSource(file_id, "unresolved", "", method, checkout, reason))
            return None
        if self.index.has_file(target):
            return FileSource(file_id, "resolved", target, method, checkout)
        return None

    def _owners(self, import_path: str, within: set[str] | None) -> tuple[list[Module], str]:
        """The modules owning `import_path` by longest prefix, optionally only in `within`."""
        if within is None:
            return self.index.longest(import_path)
        if not within:
            return [], ""
        for prefix, rest in prefixes(import_path):
            modules = [m for m in self.index.by_path.get(prefix, []) if m.checkout.path in within]
            if modules:
                return modules, rest
        return [], ""

    def _renamed(
        self, file_id: int, import_path: str, own_paths: set[str], refused: list[FileSource]
    ) -> FileSource | None:
        parts = import_path.split("/")
        for i in range(len(parts) - 2, 0, -1):
            candidates = self.by_last_element.get(parts[i], [])
            candidates = sorted(candidates, key=lambda m: m.checkout.path not in own_paths)
            for module in candidates:
                target = "/".join((module.root, *parts[i + 1 :]))
                found = self._found(file_id, target, "renamed-module", module.checkout, refused)
                if found is not None:
                    return found
        return None


def _import_form(path: str) -> str:
    """The import-path form of a covmeta file path: as is, or the part after GOPATH's
    `/src/` for absolute build paths (`/go/src/<module>/...`); '' for other absolute paths."""
    if not path.startswith("/"):
        return path
    marker = path.rfind("/src/")
    return path[marker + len("/src/") :] if marker >= 0 else ""


def _suffixes(root: str, path: str) -> Iterator[str]:
    """The files under `root` that may be `path` by its suffixes (two elements at least),
    longest first; existing ones only."""
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    for start in range(max(len(parts) - 1, 0)):
        target = os.path.join(root, *parts[start:])
        if os.path.lexists(target):
            yield target


# --------------------------------------------------------------------------------------------
# The database side


@dataclass
class ResolveSummary:
    binaries: list[tuple[str, BinarySources]] = field(default_factory=list)
    checkouts: int = 0
    modules: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        totals = Counter()
        for _, sources in self.binaries:
            for status in ("resolved", "missing", "unresolved"):
                totals[status] += sources.count(status)
        by_confidence = Counter(s.confidence for _, s in self.binaries)
        lines = [
            f"resolved sources of {len(self.binaries)} binaries in {self.seconds:.1f} s "
            f"({self.checkouts} checkouts, {self.modules} modules): {totals['resolved']} files "
            f"resolved, {totals['missing']} missing from their checkout, "
            f"{totals['unresolved']} without a repository",
            "confidence: "
            + ", ".join(
                f"{by_confidence[c]} {c}" for c in ("exact", "module", "low", "fallback", "none")
            ),
        ]
        lines.extend(
            f"  {terminal(name)}: no source found for {s.count('unresolved')} of "
            f"{len(s.files)} files"
            for name, s in self.binaries
            if s.count("unresolved")
        )
        refused = [(name, f) for name, s in self.binaries for f in s.refused]
        lines.extend(refused_lines([RefusedSource(n, f.name, f.reason) for n, f in refused]))
        return lines

    @property
    def refused(self) -> int:
        return sum(len(s.refused) for _, s in self.binaries)


def resolve_sources(collection: str) -> ResolveSummary:
    """Resolve every binary of the collection's database and store the outcome."""
    started = time.monotonic()
    conn = database.open_existing(collection)
    try:
        checkouts = _checkouts(conn, collection)
        index = ModuleIndex.build(list(checkouts.values()))
        resolver = Resolver(index)
        summary = ResolveSummary(checkouts=len(checkouts), modules=sum(1 for _ in index.modules()))
        for binary in database.binaries_to_resolve(conn):
            own = [checkouts[key] for key in binary.recorded if key in checkouts]
            names = binary.owner_names | {binary.name}
            sources = resolver.resolve(binary.binary_id, binary.files, own, names)
            sources.notes = _notes(conn, binary.recorded, checkouts, sources)
            _store(conn, collection, sources)
            summary.binaries.append((binary.name, sources))
    finally:
        conn.close()
    summary.seconds = time.monotonic() - started
    return summary


def stored_refusals(conn: Database, binary_hashes: set[str] | None = None) -> list[RefusedSource]:
    """The source files resolve refused, as recorded in the database, by binary and file
    (only those of `binary_hashes` when given)."""
    return [
        RefusedSource(row.binary_name, row.path, row.reason)
        for row in database.refused_source_files(conn)
        if binary_hashes is None or row.meta_hash in binary_hashes
    ]


def _notes(
    conn: Database,
    recorded: Sequence[SourceCommit],
    checkouts: dict[SourceCommit, Checkout],
    sources: BinarySources,
) -> str:
    """Why a binary's recorded sources were not (fully) used, in a sentence or two."""
    notes = []
    if not recorded:
        notes.append("no source recorded for its images")
    for source in recorded:
        if source not in checkouts:
            clone = database.clone_of(conn, source)
            state = (
                f"{clone.status}: {clone.message}"
                if clone
                else "not cloned (run cluster clone-sources)"
            )
            notes.append(f"recorded source {scrub(source.url)}@{source.commit[:12]} {state}")
    if sources.confidence == "fallback":
        notes.append("checked out at a branch head: the source may not match the binary")
    return "; ".join(notes)


def _checkouts(conn: Database, collection: str) -> dict[SourceCommit, Checkout]:
    """The usable checkouts recorded by clone-sources, by (source URL, commit)."""
    found = {}
    for clone in database.usable_clones(conn):
        absolute = os.path.join(os.path.abspath(collection), clone.path)
        if os.path.isdir(absolute):
            source = clone.source
            found[source] = Checkout(
                absolute, source.url, source.commit, clone.status != "fallback"
            )
    return found


def _relative(path: str, root: str) -> str:
    """`path` relative to `root` (a plain prefix cut for the usual case: it is under it)."""
    if path.startswith(root + "/"):
        return path[len(root) + 1 :]
    return os.path.relpath(path, root)


def _store(conn: Database, collection: str, sources: BinarySources) -> None:
    root = os.path.abspath(collection)
    checkout = sources.checkout
    database.store_binary_sources(
        conn,
        BinarySourceRow(
            sources.binary_id,
            sources.method,
            sources.confidence,
            _relative(checkout.path, root) if checkout else "",
            checkout.commit if checkout else "",
            checkout.url if checkout else "",
            sources.count("resolved"),
            sources.count("missing"),
            sources.count("unresolved"),
            sources.notes,
        ),
        [
            FileSourceRow(
                sources.binary_id,
                f.file_id,
                f.status,
                _relative(f.path, root) if f.path else "",
                f.method,
                f.reason,
            )
            for f in sources.files
        ],
    )
