"""The export model's shared per-binary parts: profile lines and functions built on demand."""

from __future__ import annotations

import numpy as np

from coverage_collector.export.model import FunctionCoverage, LazyFunctions, ProfileLines


def _profile() -> ProfileLines:
    positions = (np.array([3, 7]), np.array([14, 2]), np.array([5, 7]), np.array([2, 30]))
    return ProfileLines(positions, np.array([2, 1]))


def test_profile_lines_format_each_block_with_its_count() -> None:
    profile = _profile()
    assert profile.lines("a/b.go", np.array([0, 12], dtype=np.uint64)) == [
        "a/b.go:3.14,5.2 2 0\n",
        "a/b.go:7.2,7.30 1 12\n",
    ]
    # shared by the groups of a binary: one group's counts never leak into the next
    assert profile.lines("a/b.go", np.array([18446744073709551615, 0], dtype=np.uint64)) == [
        "a/b.go:3.14,5.2 2 18446744073709551615\n",
        "a/b.go:7.2,7.30 1 0\n",
    ]
    assert profile.lines("./b.go", np.array([1, 0], dtype=np.uint64))[0] == "./b.go:3.14,5.2 2 1\n"


def test_functions_are_built_once_when_first_read() -> None:
    calls: list[int] = []

    def build() -> list[FunctionCoverage]:
        calls.append(1)
        return [FunctionCoverage("main", 3, 9, 4, 2, 1), FunctionCoverage("f", 11, 12, 1, 0, 0)]

    functions = LazyFunctions(build)
    assert calls == []
    assert len(functions) == 2 and functions[1].name == "f"
    assert [f.name for f in functions] == ["main", "f"] and functions[:1][0].executions == 1
    assert calls == [1]
