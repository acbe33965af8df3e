"""The public decoder API: per binary columns, per counter file a counter per unit."""

from __future__ import annotations

import shutil
from pathlib import Path

import coverage_collector.covdata as cov
from tests.helpers.gofixtures import Dataset, cache_root, covdata, go_env, require_dataset


def test_public_names() -> None:
    assert sorted(cov.__all__) == cov.__all__
    assert all(hasattr(cov, name) for name in cov.__all__)


def test_each_counter_file_aligns_to_units(
    go_datasets: dict[str, Dataset], go_toolchain: Path, tmp_path: Path
) -> None:
    # One counter file decoded alone gives one count per unit, in slot order; keyed by
    # position, those are the counts covdata prints for a directory holding just that file.
    data = require_dataset(go_datasets, "features")
    meta = cov.read_meta(str(data.meta_files()[0]))
    for index, path in enumerate(data.counter_files()):
        counts = cov.accumulate(meta, [cov.read_counters(str(path))], meta.mode, print).counts
        assert len(counts) == meta.n_units
        single = tmp_path / str(index)
        single.mkdir()
        shutil.copy(data.meta_files()[0], single)
        shutil.copy(path, single)
        out = single / "profile.txt"
        covdata(go_toolchain, ["textfmt", f"-i={single}", f"-o={out}"], go_env(cache_root()))
        expected = {}
        for line in out.read_text().splitlines()[1:]:
            position, _, count = line.rsplit(" ", 2)
            expected[position] = int(count)
        ours: dict[str, int] = {}
        for unit in range(meta.n_units):
            file = meta.strings[int(meta.func_file[meta.unit_func[unit]])]
            position = (
                f"{file}:{meta.start_line[unit]}.{meta.start_col[unit]},"
                f"{meta.end_line[unit]}.{meta.end_col[unit]}"
            )
            ours[position] = ours.get(position, 0) + int(counts[unit])
        assert ours == expected
