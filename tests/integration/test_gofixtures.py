"""Sanity checks of the Go coverage data sets built by tests/gofixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.gofixtures import (
    DATASET_NAMES,
    GO_OLD,
    Dataset,
    cache_root,
    covdata,
    go_env,
    require_dataset,
)

NO_COUNTERS = {"empty_counters"}


def _textfmt(go: Path, ds: Dataset, out: Path) -> tuple[int, bytes, str]:
    proc = covdata(go, ["textfmt", ds.i_arg, "-o", str(out)], go_env(cache_root()))
    return proc.returncode, proc.stderr, out.read_text(encoding="utf-8") if out.exists() else ""


def test_all_data_sets_built(go_datasets: dict[str, Dataset]) -> None:
    missing = set(DATASET_NAMES) - set(go_datasets) - {"go121"}
    assert not missing
    for name, ds in go_datasets.items():
        assert ds.name == name
        assert ds.dirs and all(d.is_dir() for d in ds.dirs)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_dataset_files(go_datasets: dict[str, Dataset], name: str) -> None:
    ds = require_dataset(go_datasets, name)
    for d in ds.dirs:
        assert list(d.glob("covmeta.*")), f"{d} has no covmeta"
    counters = ds.counter_files()
    if name in NO_COUNTERS:
        assert not counters
    else:
        assert counters
    for meta in ds.meta_files():
        data = meta.read_bytes()
        assert data[:4] == b"\x00cvm"
        assert data[24:40].hex() == meta.name.removeprefix("covmeta.")
    for ctr in counters:
        assert ctr.read_bytes()[:4] == b"\x00cwm"


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_covdata_accepts(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path, name: str
) -> None:
    ds = require_dataset(go_datasets, name)
    rc, err, text = _textfmt(go_toolchain, ds, tmp_path / "out.txt")
    if ds.mode_clash:
        assert rc == 1
        assert b"counter mode clash" in err
        assert text == ""
    else:
        assert rc == 0, err
        assert text.startswith("mode: ")
        assert len(text.splitlines()) > 1
    pct = covdata(go_toolchain, ["percent", ds.i_arg], go_env(cache_root()))
    assert pct.returncode == 0, pct.stderr
    assert b"coverage:" in pct.stdout


def test_modes_and_versions(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    for mode in ("set", "count", "atomic"):
        ds = go_datasets[f"lab_{mode}"]
        assert _textfmt(go_toolchain, ds, tmp_path / mode)[2].startswith(f"mode: {mode}\n")
        assert len(ds.counter_files()) >= 2
    old = require_dataset(go_datasets, "go121")
    assert old.go_version == GO_OLD
    assert old.meta_files()[0].name != go_datasets["lab_count"].meta_files()[0].name


def test_scale(go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path) -> None:
    assert len(go_datasets["many_runs"].counter_files()) >= 30
    for name in ("gofmt", "coverpkg_all"):
        text = _textfmt(go_toolchain, go_datasets[name], tmp_path / name)[2]
        assert len(text.splitlines()) > 20_000
        assert "runtime/" in text


def test_special_layouts(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    # Local package: absolute SrcFile paths.
    text = _textfmt(go_toolchain, go_datasets["local_pkg"], tmp_path / "local")[2]
    assert text.splitlines()[1].startswith("/")
    # Orphan counter files next to a normal pod.
    orphan = go_datasets["panic_orphan"]
    tags = {m.name.removeprefix("covmeta.") for m in orphan.meta_files()}
    assert any(c.name.split(".")[1] not in tags for c in orphan.counter_files())
    # Writer API: one meta and two named snapshots (before and after ClearCounters).
    assert len(go_datasets["writer_api"].counter_files()) == 2
    assert len(go_datasets["two_binaries"].meta_files()) == 2
    assert len(go_datasets["two_dirs"].dirs) == 2


def test_subtract_panics_on_two_dirs_two_binaries(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    """The data set reproduces Go's `decreasing dir index` panic (spec §4.10)."""
    ds = go_datasets["two_dirs_two_binaries"]
    proc = covdata(go_toolchain, ["subtract", ds.i_arg, "-o", str(tmp_path)], go_env(cache_root()))
    assert proc.returncode == 2
    assert b"decreasing dir index" in proc.stderr
