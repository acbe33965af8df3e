"""Property tests: mutated real coverage files give a clean error or a valid result."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage_collector.covdata.commands import Request, run
from coverage_collector.covdata.counters import decode_counters
from coverage_collector.covdata.meta import decode_meta
from coverage_collector.exceptions import CollectorError
from tests.helpers.gofixtures import Dataset, require_dataset

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """Return `original` truncated, with bytes overwritten, inserted or deleted."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "overwrite", "insert", "delete", "u32"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[at:]
        elif kind == "overwrite" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "u32" and len(data) >= at + 4:
            value = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFFFF, 2**31, 2**32 - 1]))
            data[at : at + 4] = value.to_bytes(4, "little")
    return bytes(data)


@pytest.fixture(params=["lab_count", "features", "writer_api"])
def real_files(request: pytest.FixtureRequest, go_datasets: dict[str, Dataset]) -> list[Path]:
    data = require_dataset(go_datasets, request.param)
    return data.meta_files() + data.counter_files()


def _run_all(files: dict[str, bytes]) -> None:
    """Run every report over `files`; only CollectorError may escape (it is caught)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in files.items():
            Path(tmp, name).write_bytes(content)
        for command in ("textfmt", "percent", "func", "pkglist", "merge"):
            out = str(Path(tmp, "out" if command == "merge" else "out.txt"))
            try:
                run(command, Request([tmp], output=out))
            except CollectorError as exc:
                assert exc.message and "\n" not in exc.message


@FUZZ
@given(data=st.data())
def test_mutated_files_never_crash(real_files: list[Path], data: st.DataObject) -> None:
    # Any mutation of one real file: a CollectorError with a one-line message, or a result.
    victim = data.draw(st.sampled_from(real_files))
    files = {p.name: p.read_bytes() for p in real_files}
    files[victim.name] = data.draw(mutated(files[victim.name]))
    _run_all(files)


@FUZZ
@given(data=st.data())
def test_decoders_reject_or_accept(real_files: list[Path], data: st.DataObject) -> None:
    # The decoders alone, on mutated bytes: clean error or a consistent columnar result.
    victim = data.draw(st.sampled_from(real_files))
    blob = data.draw(mutated(victim.read_bytes()))
    try:
        if victim.name.startswith("covmeta."):
            meta = decode_meta(blob, victim.name)
            assert meta.func_units[-1] == meta.n_units == len(meta.unit_func)
        else:
            counters = decode_counters(blob, victim.name)
            layout = counters.layout
            assert len(layout.starts) == len(layout.counts)
    except CollectorError as exc:
        assert victim.name in exc.message
