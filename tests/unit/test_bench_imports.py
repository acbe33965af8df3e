"""Every benchmark still imports: a module the suite never runs rots silently (an import of a
removed module, a sibling imported as a top-level module) until someone needs the figures."""

from __future__ import annotations

import importlib
import pkgutil

import bench
import pytest

MODULES = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.ispkg)


def test_the_benchmarks_are_found() -> None:
    assert {"compile_bench", "compare_outputs", "revision_bench"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert module.__doc__, f"bench/{name}.py says what it measures in its docstring"
