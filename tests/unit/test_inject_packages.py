"""Which directories are main packages: the build system's rule (reference-tool §1.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage_collector.inject.packages import main_packages, package_clause


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("package main\n", ("main", False)),
        ("// Command x.\n/* block\npackage lib */\npackage main // trailing\n", ("main", False)),
        ("//go:build ignore\n\npackage main\n", ("main", True)),
        ("// +build ignore\n\npackage main\n", ("main", True)),
        ("//go:build !ignore\n\npackage main\n", ("main", False)),
        ("//go:build linux && ignore\n\npackage main\n", ("main", False)),
        ("package lib;\n", ("lib", False)),
        ("// no clause at all\nfunc main() {}\n", ("", False)),
        ("package 9lives\n", ("", False)),
    ],
)
def test_package_clause(source: str, expected: tuple[str, bool]) -> None:
    # Only the exact `ignore` constraint takes a file out, as the build system reads it.
    assert package_clause(source) == expected


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_main_packages_follow_the_build_systems_rule(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "go.mod": "module m\n",
            "main.go": "package main\n",
            "cmd/a/a.go": "package main\n",
            "cmd/a/a_test.go": "package main_test\n",  # tests are not compiled in
            "cmd/a/_scratch.go": "package scratch\n",  # ignored by the go command
            "lib/lib.go": "package lib\n",
            "lib/gen.go": "//go:build ignore\n\npackage main\n",  # a generator: still a library
            "only/gen.go": "// +build ignore\n\npackage main\n",  # nothing compilable left
            "mixed/main.go": "package main\n",
            "mixed/other.go": "package other\n",  # disagreeing files: not main
            "nested/go.mod": "module nested\n",
            "nested/main.go": "package main\n",
            "nested/deeper/main.go": "package main\n",
            "vendor/x/main.go": "package main\n",
            "node_modules/y/main.go": "package main\n",
            ".git/hooks/main.go": "package main\n",
            "testdata/main.go": "package main\n",
            "docs/README.md": "package main\n",
        },
    )
    found = [Path(d).relative_to(tmp_path).as_posix() for d in main_packages(str(tmp_path))]
    assert found == [".", "cmd/a"]
    # a nested module given as a root is injected on its own
    assert list(main_packages(str(tmp_path / "nested"))) == [
        str(tmp_path / "nested"),
        str(tmp_path / "nested" / "deeper"),
    ]
