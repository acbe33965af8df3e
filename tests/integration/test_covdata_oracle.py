"""Our `covdata` subcommands against Go's own `go tool covdata`, byte for byte, on real data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coverage_collector.covdata.meta import read_meta
from tests.helpers.covdatarun import (
    FULL_PATH,
    KERNEL_MODES,
    assert_same_merge,
    counter_contents,
)
from tests.helpers.gofixtures import (
    DATASET_NAMES,
    Dataset,
    cache_root,
    covdata,
    go_env,
    require_dataset,
)

REPORTS = ["percent", "func", "pkglist"]
PACKAGE_PATTERNS = {
    "lab_count": "example.com/lab/...",
    "features": "example.com/features/generics",
    "coverpkg_all": "runtime,internal/...,example.com/...",
    "gofmt": "go/...,cmd/gofmt",
    "two_binaries": "example.com/...",
}


def ours(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run `coverage-collector covdata ARGS` in a fresh process, on the full path whatever
    the input's size (test_covdata_small checks the numpy-free path on the same data), with
    `env` added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "coverage_collector", "covdata", *args],
        capture_output=True,
        check=False,
        env={**os.environ, **FULL_PATH, **(env or {})},
    )


def go(go_toolchain: Path, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    return covdata(go_toolchain, args, go_env(cache_root()))


@pytest.fixture(params=DATASET_NAMES)
def dataset(request: pytest.FixtureRequest, go_datasets: dict[str, Dataset]) -> Dataset:
    return require_dataset(go_datasets, request.param)


@pytest.mark.parametrize("kernels", KERNEL_MODES)
@pytest.mark.parametrize("report", REPORTS)
def test_reports_match_go(
    report: str, kernels: str, dataset: Dataset, go_toolchain: Path, tmp_path: Path
) -> None:
    # percent, func and pkglist print exactly what covdata prints, on every data set
    # (orphaned counter files are skipped silently, as covdata skips them).
    expected = go(go_toolchain, [report, dataset.i_arg], tmp_path)
    actual = ours([report, dataset.i_arg], KERNEL_MODES[kernels])
    assert expected.returncode == 0, expected.stderr
    assert (actual.stdout, actual.stderr) == (expected.stdout, expected.stderr)
    assert actual.returncode == 0


@pytest.mark.parametrize("kernels", KERNEL_MODES)
def test_textfmt_matches_go(
    kernels: str, dataset: Dataset, go_toolchain: Path, tmp_path: Path
) -> None:
    # textfmt writes the same file; a mode clash fails in both, leaving an empty file.
    expected_file, actual_file = tmp_path / "go.txt", tmp_path / "ours.txt"
    expected = go(go_toolchain, ["textfmt", dataset.i_arg, f"-o={expected_file}"], tmp_path)
    actual = ours(["textfmt", dataset.i_arg, "-o", str(actual_file)], KERNEL_MODES[kernels])
    if dataset.mode_clash:
        assert expected.returncode == actual.returncode == 1
        assert actual.stderr == expected.stderr
        assert b"counter mode clash" in actual.stderr
        assert actual_file.read_bytes() == b""
        return
    assert expected.returncode == 0, expected.stderr
    assert actual.returncode in (0, 1), actual.stderr
    assert actual_file.read_bytes() == expected_file.read_bytes()


@pytest.mark.parametrize("name", sorted(PACKAGE_PATTERNS))
@pytest.mark.parametrize("report", ["percent", "func", "pkglist"])
def test_pkg_filter_matches_go(
    name: str, report: str, go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    # -pkg patterns (exact, /..., several) select the same packages as covdata.
    data = require_dataset(go_datasets, name)
    args = [report, data.i_arg, f"-pkg={PACKAGE_PATTERNS[name]}"]
    expected = go(go_toolchain, args, tmp_path)
    actual = ours(args)
    assert expected.returncode == actual.returncode == 0, actual.stderr
    assert actual.stdout == expected.stdout


def test_percent_writes_textfmt_too(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    # `percent -o FILE` also writes the text profile, as covdata does.
    data = require_dataset(go_datasets, "lab_atomic")
    go(go_toolchain, ["percent", data.i_arg, f"-o={tmp_path / 'go.txt'}"], tmp_path)
    ours(["percent", data.i_arg, f"--o={tmp_path / 'ours.txt'}"])
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "go.txt").read_bytes()


def write_both(
    go_toolchain: Path, tmp_path: Path, args: list[str], env: dict[str, str] | None = None
) -> tuple[Path, Path]:
    """Run a covdata command that writes a directory with Go and with us (`env` added to our
    environment); return both dirs."""
    go_out, our_out = tmp_path / "go", tmp_path / "ours"
    go_out.mkdir()
    our_out.mkdir()  # covdata doesn't create its -o directory
    expected = go(go_toolchain, [*args, f"-o={go_out}"], tmp_path)
    actual = ours([*args, f"-o={our_out}"], env)
    assert expected.returncode == 0, expected.stderr
    assert actual.returncode == 0, actual.stderr
    return go_out, our_out


MERGES = [
    ("lab_count", []),
    ("two_binaries", []),
    ("two_binaries", ["-pcombine"]),
    ("mixed_modes", ["-pcombine"]),
    ("lab_set", ["-pkg=example.com/lab/a,example.com/lab/c"]),
    ("many_runs", ["-pkg=example.com/..."]),
    ("two_dirs", []),
    ("features", ["-pcombine"]),
    ("go121", []),
    ("go121", ["-pcombine"]),
    ("go122_features", []),
    ("go124", []),
    ("go125_features", ["-pcombine"]),
    ("go126", []),
    ("go126_features", []),
    ("gofmt", ["-pkg=go/...,cmd/gofmt"]),
]


@pytest.mark.parametrize("kernels", KERNEL_MODES)
@pytest.mark.parametrize(("name", "flags"), MERGES)
def test_merge_matches_go(
    name: str,
    flags: list[str],
    kernels: str,
    go_datasets: dict[str, Dataset],
    go_toolchain: Path,
    tmp_path: Path,
) -> None:
    # merge: identical meta files, counter files equal in content and readable by covdata.
    data = require_dataset(go_datasets, name)
    args = ["merge", data.i_arg, *flags]
    go_out, our_out = write_both(go_toolchain, tmp_path, args, KERNEL_MODES[kernels])
    assert_same_merge(go_toolchain, go_out, our_out, tmp_path)


SUBTRACTIONS = [
    ("subtract", "two_dirs", []),
    ("intersect", "two_dirs", []),
    ("intersect", "two_dirs", ["-pkg=example.com/lab/a"]),
    ("subtract", "lab_count", []),
]


@pytest.mark.parametrize("kernels", KERNEL_MODES)
@pytest.mark.parametrize(("command", "name", "flags"), SUBTRACTIONS)
def test_subtract_intersect_match_go(
    command: str,
    name: str,
    flags: list[str],
    kernels: str,
    go_datasets: dict[str, Dataset],
    go_toolchain: Path,
    tmp_path: Path,
) -> None:
    # subtract/intersect agree with covdata wherever covdata works.
    data = require_dataset(go_datasets, name)
    dirs = list(data.dirs) if len(data.dirs) > 1 else [data.dirs[0], data.dirs[0]]
    i_arg = "-i=" + ",".join(map(str, dirs))
    args = [command, i_arg, *flags]
    go_out, our_out = write_both(go_toolchain, tmp_path, args, KERNEL_MODES[kernels])
    assert {p.name for p in our_out.glob("covmeta.*")} == {p.name for p in go_out.glob("covmeta.*")}
    assert counter_contents(our_out) == counter_contents(go_out)


@pytest.mark.parametrize("command", ["subtract", "intersect"])
def test_subtract_intersect_work_where_go_panics(
    command: str, go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    # With two binaries spread over both inputs covdata panics; we give the per-binary answer:
    # the same as running covdata on each binary's files alone.
    data = require_dataset(go_datasets, "two_dirs_two_binaries")
    (tmp_path / "x").mkdir()
    panicked = go(go_toolchain, [command, data.i_arg, f"-o={tmp_path / 'x'}"], tmp_path)
    assert panicked.returncode == 2 and b"decreasing dir index" in panicked.stderr
    (tmp_path / "ours").mkdir()
    actual = ours([command, data.i_arg, f"-o={tmp_path / 'ours'}"])
    assert actual.returncode == 0, actual.stderr
    for meta in data.dirs[0].glob("covmeta.*"):
        tag = meta.name.removeprefix("covmeta.")
        split = []
        for index, directory in enumerate(data.dirs):
            single = tmp_path / f"{tag}-{index}"
            single.mkdir()
            for path in directory.glob(f"cov*.{tag}*"):
                (single / path.name).write_bytes(path.read_bytes())
            split.append(str(single))
        go_out = tmp_path / f"go-{tag}"
        go_out.mkdir()
        result = go(go_toolchain, [command, "-i=" + ",".join(split), f"-o={go_out}"], tmp_path)
        assert result.returncode == 0, result.stderr
        ours_for_tag = [c for c in counter_contents(tmp_path / "ours") if c[0] == tag]
        assert ours_for_tag == counter_contents(go_out)


def test_decoder_reads_every_unit_of_gofmt(go_datasets: dict[str, Dataset]) -> None:
    # The large real program decodes to tens of thousands of units in slot order.
    data = require_dataset(go_datasets, "gofmt")
    meta = read_meta(str(data.meta_files()[0]))
    assert meta.n_units > 40_000
    assert meta.n_funcs > 5_000
    assert len(meta.unit_func) == meta.n_units
    assert (meta.func_units[-1]) == meta.n_units
