"""The batched merge equals the exact, file-by-file merge on real data, in any batch size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from coverage_collector.covdata import fastmerge
from coverage_collector.covdata.accumulate import accumulate
from coverage_collector.covdata.counters import read_counters
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.writer import FuncCounters, encode_counter_file
from tests.helpers.gofixtures import Dataset, require_dataset


@pytest.fixture(autouse=True, params=["lockstep", "doubling"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test with each way of finding the records (normally chosen by cost)."""
    slow = "DOUBLING_COST" if request.param == "lockstep" else "LOCKSTEP_COST"
    monkeypatch.setattr(fastmerge, slow, 1.0)
    return str(request.param)


@pytest.mark.parametrize("batch_bytes", [1, 700, 1 << 20])
@pytest.mark.parametrize(
    "name", ["many_runs", "gofmt", "coverpkg_all", "lab_set", "go121", "go124_features", "go126"]
)
def test_fast_merge_equals_exact_merge(
    name: str, batch_bytes: int, go_datasets: dict[str, Dataset], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of one file, of a few files, and of all files give the exact path's counters.
    monkeypatch.setattr(fastmerge, "BATCH_BYTES", batch_bytes)
    data = require_dataset(go_datasets, name)
    meta = read_meta(str(data.meta_files()[0]))
    paths = [str(p) for p in data.counter_files()]
    warnings: list[str] = []
    fast, args = fastmerge.merge_files(meta, paths, meta.mode, warnings.append)
    exact = accumulate(meta, [read_counters(p) for p in paths], meta.mode, warnings.append)
    assert np.array_equal(fast.counts, exact.counts)
    assert np.array_equal(fast.executed_funcs, exact.executed_funcs)
    assert len(args) == len(paths) and warnings == []
    assert fast.counts.any()


def test_irregular_files_are_refused(go_datasets: dict[str, Dataset], tmp_path: Path) -> None:
    # A record with more counters than its function has units takes the exact path.
    data = require_dataset(go_datasets, "lab_count")
    meta = read_meta(str(data.meta_files()[0]))
    source = data.counter_files()[0]
    decoded = read_counters(str(source))
    raw = bytearray(source.read_bytes())
    start = decoded.header.records_start
    assert raw[start] == decoded.layout.counts[0]  # first record's numCounters, one byte
    raw[start] += 1
    victim = tmp_path / source.name
    victim.write_bytes(bytes(raw))
    with pytest.raises(fastmerge.IrregularInputError):
        fastmerge.merge_files(meta, [str(victim)], meta.mode, print)


@pytest.mark.parametrize("empty_first", [True, False])
def test_files_without_records_in_a_batch(
    empty_first: bool, go_datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    # A counter file with no function records (valid; Go writes it after ClearCounters) may
    # open or sit inside a batch without shifting anyone's counters.
    data = require_dataset(go_datasets, "lab_count")
    meta = read_meta(str(data.meta_files()[0]))
    empty = tmp_path / f"covcounters.{meta.hash_hex}.7.7"
    empty.write_bytes(encode_counter_file(meta.file_hash, {"GOOS": "linux"}, []))
    paths = [str(p) for p in data.counter_files()]
    paths.insert(0 if empty_first else 1, str(empty))
    fast, args = fastmerge.merge_files(meta, paths, meta.mode, print)
    exact = accumulate(meta, [read_counters(p) for p in paths], meta.mode, print)
    assert np.array_equal(fast.counts, exact.counts)
    assert np.array_equal(fast.executed_funcs, exact.executed_funcs)
    assert args[0 if empty_first else 1] == {"GOOS": "linux"}


def test_a_record_running_past_its_file_is_refused(
    go_datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    # The last record of the first file claims more counters than the file holds: neither
    # walk may read into the next file of the batch; the exact path then names the defect.
    data = require_dataset(go_datasets, "lab_count")
    meta = read_meta(str(data.meta_files()[0]))
    sources = data.counter_files()
    decoded = read_counters(str(sources[0]))
    raw = bytearray(sources[0].read_bytes())
    last = decoded.header.records_start + int(decoded.layout.starts[-1])
    assert raw[last] == decoded.layout.counts[-1] < 0x70  # one-byte numCounters
    raw[last] += 0x0F
    victim = tmp_path / sources[0].name
    victim.write_bytes(bytes(raw))
    with pytest.raises(fastmerge.IrregularInputError):
        fastmerge.merge_files(meta, [str(victim), *map(str, sources[1:])], meta.mode, print)


def test_a_regular_record_cut_short_is_refused(
    go_datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    # The last record has the right numCounters for its function, but the file ends before
    # its counters do (its footer is read as counters, as Go reads it, and still too few):
    # neither walk may take the next file's values as the rest of them.
    data = require_dataset(go_datasets, "gofmt")
    meta = read_meta(str(data.meta_files()[0]))
    units = meta.units_per_func()
    func = int(np.argmax(units))
    assert units[func] > 40
    pkg = int(meta.func_pkg[func])
    record = FuncCounters(pkg, func - meta.packages[pkg].first_func, [1] * int(units[func]))
    whole = encode_counter_file(meta.file_hash, {}, [record])
    footer = 16
    cut = whole[: len(whole) - footer - 30] + whole[len(whole) - footer :]
    victim = tmp_path / f"covcounters.{meta.hash_hex}.1.1"
    victim.write_bytes(cut)
    others = [str(p) for p in data.counter_files()[:3]]
    with pytest.raises(fastmerge.IrregularInputError):
        fastmerge.merge_files(meta, [str(victim), *others], meta.mode, print)
