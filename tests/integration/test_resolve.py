"""Every binary's files resolved to the exact source, in every repository layout."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from coverage_collector.sources import modules as modules_module
from coverage_collector.sources.modules import (
    Checkout,
    ModuleIndex,
    module_path_of,
    prefixes,
    vendored_modules,
)
from coverage_collector.sources.resolve import Resolver, resolve_sources
from tests.helpers.sourcefixtures import Built, git


def file_rows(collection: Path) -> dict[tuple[str, str], tuple[str, str, str]]:
    conn = sqlite3.connect(collection / "coverage.db")
    rows = conn.execute(
        "SELECT b.name, f.path, x.status, x.method, x.source_path FROM file_sources x "
        "JOIN binary_files f ON f.binary_id = x.binary_id AND f.file_id = x.file_id "
        "JOIN binaries b ON b.id = x.binary_id"
    )
    return {(name, path): (status, method, source) for name, path, status, method, source in rows}


EXPECTED = {
    # (binary, covmeta path): (status, method, path inside the checkout)
    ("shop", "example.com/shop/cmd/shop/main.go"): ("resolved", "image-source", "cmd/shop/main.go"),
    ("shop", "example.com/shop/internal/store/store.go"): (
        "resolved",
        "image-source",
        "internal/store/store.go",
    ),
    ("shop", "example.com/shop/cmd/shop/zz_generated.go"): ("missing", "image-source", ""),
    ("platform", "example.com/platform/api/types.go"): ("resolved", "image-source", "api/types.go"),
    ("platform", "example.com/platform/apiserver/server.go"): (
        "resolved",
        "image-source",
        "apiserver/server.go",
    ),
    ("platform", "example.com/platform/cmd/platform/main.go"): (
        "resolved",
        "image-source",
        "cmd/platform/main.go",
    ),
    ("platform-tool", "example.com/platform/api/types.go"): (
        "resolved",
        "module-index",
        "api/types.go",
    ),
    ("tool", "example.com/dep/dep.go"): (
        "resolved",
        "image-source",
        "vendor/example.com/dep/dep.go",
    ),
    ("tool", "example.com/tool/main.go"): ("resolved", "image-source", "main.go"),
    ("widget-new", "example.com/widget-org/widget/pkg/w/w.go"): (
        "resolved",
        "image-source",
        "pkg/w/w.go",
    ),
    ("widget-old", "example.com/coreos/widget/pkg/w/w.go"): (
        "resolved",
        "renamed-module",
        "pkg/w/w.go",
    ),
}


def test_every_layout_resolves_to_the_file_at_the_recorded_commit(
    resolved_collection: tuple[Path, list[Built]],
) -> None:
    collection, built = resolved_collection
    found = file_rows(collection)
    commits = {b.name: b for b in built}
    for (binary, path), (status, method, inside) in EXPECTED.items():
        got_status, got_method, source = found[(binary, path)]
        assert (got_status, got_method) == (status, method), (binary, path)
        if status != "resolved":
            assert source == ""
            continue
        checkout = Path(*Path(source).parts[:5])  # repos/local/example/<repo>/<commit>
        assert Path(source) == checkout / inside, (binary, path)
        item = commits[binary]
        recorded = item.source_commit or git("rev-parse", "HEAD", cwd=item.repo)
        assert checkout.name == recorded
        at_commit = git("show", f"{recorded}:{inside}", cwd=item.repo)
        assert (collection / source).read_text(encoding="utf-8").strip() == at_commit


def test_binary_summaries_state_method_and_confidence(
    resolved_collection: tuple[Path, list[Built]],
) -> None:
    collection, _ = resolved_collection
    conn = sqlite3.connect(collection / "coverage.db")
    rows = {
        name: rest
        for name, *rest in conn.execute(
            "SELECT b.name, s.method, s.confidence, s.resolved, s.missing, s.unresolved "
            "FROM binary_sources s JOIN binaries b ON b.id = s.binary_id"
        )
    }
    assert rows["shop"] == ["image-source", "exact", 2, 1, 0]
    assert rows["platform-tool"] == ["module-index", "module", 3, 0, 0]
    assert rows["widget-old"][:2] == ["renamed-module", "low"]
    assert rows["tool"] == ["image-source", "exact", 2, 0, 0]
    notes = dict(
        conn.execute(
            "SELECT b.name, s.notes FROM binary_sources s JOIN binaries b ON b.id = s.binary_id"
        )
    )
    assert notes["shop"] == "" and notes["platform-tool"] == "no source recorded for its images"


def test_the_module_index_is_built_once_per_run(
    resolved_collection: tuple[Path, list[Built]], monkeypatch: pytest.MonkeyPatch
) -> None:
    collection, built = resolved_collection
    walked: list[str] = []
    original = modules_module._walk_modules

    def counting(checkout: Checkout, go_files: set[str]):  # type: ignore[no-untyped-def]
        walked.append(checkout.path)
        return original(checkout, go_files)

    monkeypatch.setattr(modules_module, "_walk_modules", counting)
    summary = resolve_sources(str(collection))
    assert len(summary.binaries) == len(built)
    assert sorted(walked) == sorted(set(walked)) and len(walked) == summary.checkouts == 4


def test_build_paths_and_names(resolved_collection: tuple[Path, list[Built]]) -> None:
    collection, _ = resolved_collection
    shop = next((collection / "repos" / "local" / "example" / "shop").iterdir())
    checkout = Checkout(str(shop), "u", shop.name)
    resolver = Resolver(ModuleIndex.build([checkout]))
    files = [
        (0, "/go/src/example.com/shop/internal/store/store.go"),  # GOPATH layout
        (1, "/workspace/cmd/shop/main.go"),  # a CI build directory
        (2, "/home/builder/src/example.com/elsewhere/x.go"),  # no such module
    ]
    own = resolver.resolve(1, files, [checkout], set())
    assert [(f.status, f.method) for f in own.files] == [
        ("resolved", "image-source"),
        ("resolved", "build-path"),
        ("unresolved", ""),
    ]
    assert own.files[1].path == str(shop / "cmd" / "shop" / "main.go")
    # without recorded sources, only a matching (non-empty) name finds the repository
    assert resolver.resolve(2, files[1:2], [], {"", "Pod"}).files[0].status == "unresolved"
    by_name = resolver.resolve(3, files[1:2], [], {"shop"}).files[0]
    assert (by_name.status, by_name.method) == ("resolved", "name")


def test_go_mod_parsing() -> None:
    assert module_path_of('module "example.com/q" // quoted\n') == "example.com/q"
    assert module_path_of("// module fake\nmodule example.com/real\n") == "example.com/real"
    assert module_path_of("go 1.21\n") == ""
    assert vendored_modules("# a.com/x v1\n## explicit\na.com/x\n# b.com/y v2 => ./y\n") == [
        "a.com/x",
        "b.com/y",
    ]
    assert [p for p, _ in prefixes("example.com/b/api")] == [
        "example.com/b/api",
        "example.com/b",
        "example.com",
    ]
    # the standard library's module owns dot-less import paths, after any longer module
    assert list(prefixes("go/ast/ast.go"))[-1] == ("std", "go/ast/ast.go")


def test_standard_library_paths_resolve_in_a_go_checkout(tmp_path: Path) -> None:
    # GOROOT/src is module `std`, whose import paths have no module prefix; `cmd` is a
    # module of its own; a dotted path is never the standard library's.
    goroot = tmp_path / "go"
    for name, text in {
        "src/go.mod": "module std\n",
        "src/go/ast/ast.go": "package ast\n",
        "src/vendor/golang.org/x/net/idna/idna.go": "package idna\n",
        "src/cmd/go.mod": "module cmd\n",
        "src/cmd/gofmt/gofmt.go": "package main\n",
    }.items():
        (goroot / name).parent.mkdir(parents=True, exist_ok=True)
        (goroot / name).write_text(text, encoding="utf-8")
    checkout = Checkout(str(goroot))
    resolver = Resolver(ModuleIndex.build([checkout]))
    files = [
        "go/ast/ast.go",
        "vendor/golang.org/x/net/idna/idna.go",
        "cmd/gofmt/gofmt.go",
        "example.com/x/y.go",
    ]
    result = resolver.resolve(1, list(enumerate(files)), [checkout], set())
    assert [f.status for f in result.files] == ["resolved", "resolved", "resolved", "unresolved"]
    assert result.files[0].path == str(goroot / "src" / "go" / "ast" / "ast.go")
    assert result.files[2].path == str(goroot / "src" / "cmd" / "gofmt" / "gofmt.go")


def test_files_the_source_tree_refuses_are_unresolved_with_the_reason(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("OUTSIDE\n", encoding="utf-8")
    root = tmp_path / "repos" / "evil" / "abc"
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/evil\n", encoding="utf-8")
    (root / "main.go").write_text("package main\n", encoding="utf-8")
    (root / "inside.go").symlink_to("main.go")
    (root / "passwd.go").symlink_to("/etc/passwd")
    (root / "zero.go").symlink_to("/dev/zero")
    (root / "linked").symlink_to(outside)
    (root / "big.go").write_bytes(b"/" * (9 << 20))
    nested = root / "nested"
    nested.mkdir()
    (nested / "go.mod").symlink_to("/proc/self/fd/0")  # never read: no hang on stdin
    checkout = Checkout(str(root))
    resolver = Resolver(ModuleIndex.build([checkout]))
    files = {
        "example.com/evil/main.go": ("resolved", ""),
        "example.com/evil/inside.go": ("resolved", ""),
        "example.com/evil/../../../outside/secret.txt": ("unresolved", "outside checkout"),
        "example.com/evil/passwd.go": ("unresolved", "symlink"),
        "example.com/evil/zero.go": ("unresolved", "symlink"),
        "example.com/evil/linked/secret.txt": ("unresolved", "symlink"),
        "example.com/evil/big.go": ("unresolved", "too large"),
        "/etc/passwd": ("unresolved", ""),  # looked up by suffix inside the checkout only
        "example.com/evil/gone.go": ("missing", ""),
    }
    result = resolver.resolve(1, list(enumerate(files)), [checkout], {"evil"})
    assert [(f.status, f.reason) for f in result.files] == list(files.values())
    assert [f.name for f in result.refused] == [n for n, (_, r) in files.items() if r]
    assert result.files[1].path == str(root / "inside.go")
