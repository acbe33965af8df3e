"""Corrupt, truncated and odd coverage files: a clear one-line error or Go's own answer.

Every case of go-coverage-format.md §5 is crafted from real files of the `lab_count` data set.
Where Go accepts the input, our output must equal Go's; where Go fails or panics, we exit 1
with one line that names the file and the defect, and never show a traceback.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from coverage_collector.covdata import uleb
from coverage_collector.covdata.counters import parse_header, read_counters
from coverage_collector.covdata.meta import read_meta
from coverage_collector.covdata.writer import FuncCounters, encode_counter_file
from tests.helpers.gofixtures import Dataset, cache_root, covdata, go_env, require_dataset


def ours(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "coverage_collector", "covdata", *args],
        capture_output=True,
        check=False,
    )


@pytest.fixture
def lab(go_datasets: dict[str, Dataset], tmp_path: Path) -> Path:
    """A private copy of the lab_count data: one meta file and three counter files."""
    source = require_dataset(go_datasets, "lab_count").dirs[0]
    target = tmp_path / "lab"
    shutil.copytree(source, target)
    return target


def meta_of(directory: Path) -> Path:
    return next(directory.glob("covmeta.*"))


def counters_of(directory: Path) -> list[Path]:
    return sorted(directory.glob("covcounters.*"))


def rewrite(path: Path, change: Callable[[bytearray], bytes | bytearray]) -> None:
    path.write_bytes(bytes(change(bytearray(path.read_bytes()))))


def assert_clean_error(result: subprocess.CompletedProcess[bytes], file: Path, defect: str) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert file.name in errors[0]
    assert defect in errors[0], errors[0]


def assert_same_as_go(directory: Path, go_toolchain: Path, tmp_path: Path) -> None:
    for report in ("percent", "func"):
        expected = covdata(go_toolchain, [report, f"-i={directory}"], go_env(cache_root()))
        actual = ours(report, f"-i={directory}")
        assert expected.returncode == 0, expected.stderr
        assert (actual.returncode, actual.stdout) == (0, expected.stdout), actual.stderr
    go_file, our_file = tmp_path / "go.txt", tmp_path / "ours.txt"
    covdata(go_toolchain, ["textfmt", f"-i={directory}", f"-o={go_file}"], go_env(cache_root()))
    ours("textfmt", f"-i={directory}", f"-o={our_file}")
    assert our_file.read_bytes() == go_file.read_bytes()


def _records_replaced(data: bytearray, byte: int) -> bytes:
    """Return `data` with every byte of its function records set to `byte`."""
    start = parse_header(bytes(data)).records_start
    return bytes(data[:start]) + bytes([byte]) * (len(data) - 16 - start) + bytes(data[-16:])


GO = "<Go's own message>"
"""The defect of a case Go rejects cleanly: our stderr and status must be Go's."""

COUNTER_DEFECTS: list[tuple[str, Callable[[bytearray], bytes | bytearray], str]] = [
    ("empty", lambda b: b"", GO),
    ("short", lambda b: b[:20], GO),
    ("truncated", lambda b: b[:-5], GO),
    ("bad magic", lambda b: b"XXXX" + b[4:], GO),
    ("version 2", lambda b: b[:4] + struct.pack("<I", 2) + b[8:], GO),
    ("no segments", lambda b: b[:-8] + struct.pack("<I", 0) + b[-4:], GO),
    ("flavor 7", lambda b: b[:24] + b"\x07" + b[25:], "unknown counter flavor 7"),
    ("huge strtab", lambda b: b[:40] + struct.pack("<I", 10**6) + b[44:], GO),
    ("too many records", lambda b: b[:32] + struct.pack("<Q", 10**6) + b[40:], "truncated"),
    ("endless uleb", lambda b: _records_replaced(b, 0xFF), "truncated"),
]


@pytest.mark.parametrize(
    ("case", "change", "defect"), COUNTER_DEFECTS, ids=[c[0] for c in COUNTER_DEFECTS]
)
def test_corrupt_counter_file(
    case: str, change: Callable[[bytearray], bytes], defect: str, lab: Path, go_toolchain: Path
) -> None:
    # A broken counter file fails the command with Go's message where Go rejects it
    # cleanly, else (Go panics or reads on) with one line naming the file and the defect.
    victim = counters_of(lab)[0]
    rewrite(victim, change)
    for command in ("textfmt", "percent", "merge"):
        out = "out" if command == "merge" else "out.txt"
        args = [command, f"-i={lab}"] + ([] if command == "percent" else [f"-o={lab.parent / out}"])
        (lab.parent / "out").mkdir(exist_ok=True)
        assert_error(args, victim, defect, go_toolchain)


def assert_error(args: list[str], victim: Path, defect: str, go_toolchain: Path) -> None:
    """Assert that `args` fails on `victim` with Go's stderr and status (`defect` GO) or
    with one line naming `defect`."""
    result = ours(*args)
    if defect != GO:
        assert_clean_error(result, victim, defect)
        return
    expected = covdata(go_toolchain, args, go_env(cache_root()))
    assert (result.returncode, result.stdout, result.stderr) == (
        expected.returncode,
        expected.stdout,
        expected.stderr,
    )
    assert result.returncode == 1 and victim.name.encode() in result.stderr


META_DEFECTS: list[tuple[str, Callable[[bytearray], bytes | bytearray], str]] = [
    ("empty", lambda b: b"", GO),
    ("short", lambda b: b[:40], GO),
    ("bad magic", lambda b: b"\x00cvX" + b[4:], GO),
    ("text profile", lambda b: b"mode: set\nx.go:1.1,2.2 1 1\n" + b"\x00" * 60, GO),
    ("version 2", lambda b: b[:4] + struct.pack("<I", 2) + b[8:], GO),
    ("insane offset", lambda b: b[:56] + struct.pack("<Q", 10**6) + b[64:], GO),
    ("truncated blob", lambda b: b[:-10], GO),
    ("no header room", lambda b: b[:16] + struct.pack("<Q", 10**5) + b[24:], GO),
]


@pytest.mark.parametrize(
    ("case", "change", "defect"), META_DEFECTS, ids=[c[0] for c in META_DEFECTS]
)
def test_corrupt_meta_file(
    case: str, change: Callable[[bytearray], bytes], defect: str, lab: Path, go_toolchain: Path
) -> None:
    # A broken meta file fails as in Go (reports and merge word a blob they can't read
    # differently), or with one line naming it and the defect.
    victim = meta_of(lab)
    rewrite(victim, change)
    (lab.parent / "out").mkdir()
    for args in (["percent", f"-i={lab}"], ["merge", f"-i={lab}", f"-o={lab.parent / 'out'}"]):
        assert_error(args, victim, defect, go_toolchain)


MAPPED_DEFECTS: list[tuple[str, str, Callable[[bytearray], bytes | bytearray], str]] = [
    ("counter", "huge strtab", lambda b: b[:40] + struct.pack("<I", 10**6) + b[44:], GO),
    ("counter", "huge args", lambda b: b[:44] + struct.pack("<I", 10**6) + b[48:], GO),
    ("counter", "truncated", lambda b: b[:-5], GO),
    (
        "counter",
        "args up to the end",
        lambda b: (
            b[:44] + struct.pack("<I", len(b) - 48 - struct.unpack_from("<I", b, 40)[0]) + b[48:]
        ),
        GO,
    ),
    ("meta", "huge strtab", lambda b: b[:44] + struct.pack("<I", 10**6) + b[48:], GO),
    ("meta", "truncated blob", lambda b: b[:-10], "truncated"),  # Go slices past the end: panic
]


@pytest.mark.parametrize(
    ("kind", "case", "change", "defect"),
    MAPPED_DEFECTS,
    ids=[f"{c[0]} {c[1]}" for c in MAPPED_DEFECTS],
)
def test_corrupt_large_file(
    kind: str,
    case: str,
    change: Callable[[bytearray], bytes],
    defect: str,
    go_datasets: dict[str, Dataset],
    go_toolchain: Path,
    tmp_path: Path,
) -> None:
    # Files of 16 KiB or more, which Go maps and reads with other rules (partial reads,
    # no bounds checks), fail as in Go where Go fails cleanly.
    directory = tmp_path / "gofmt"
    shutil.copytree(require_dataset(go_datasets, "gofmt").dirs[0], directory)
    victim = counters_of(directory)[0] if kind == "counter" else meta_of(directory)
    assert victim.stat().st_size >= 16 << 10
    rewrite(victim, change)
    (tmp_path / "out").mkdir()
    for args in (
        ["percent", f"-i={directory}"],
        ["merge", f"-i={directory}", f"-o={tmp_path / 'out'}"],
    ):
        assert_error(args, victim, defect, go_toolchain)


def test_malformed_function_offset(lab: Path) -> None:
    # A function offset pointing before the offsets table is rejected as malformed.
    victim = meta_of(lab)
    data = bytearray(victim.read_bytes())
    (blob_offset,) = struct.unpack_from("<Q", data, 56)
    struct.pack_into("<I", data, blob_offset + 44, 3)
    victim.write_bytes(bytes(data))
    assert_clean_error(ours("func", f"-i={lab}"), victim, "malformed func offset 3")


def _records(directory: Path) -> list[FuncCounters]:
    decoded = read_counters(str(counters_of(directory)[0]))
    layout = decoded.layout
    return [
        FuncCounters(int(layout.pkgs[i]), int(layout.funcs[i]), decoded.counters(i))
        for i in range(len(layout))
    ]


def _replace_counters(directory: Path, records: list[FuncCounters], args: dict[str, str]) -> Path:
    """Replace all counter files by one holding `records`; return its path."""
    meta = read_meta(str(meta_of(directory)))
    for path in counters_of(directory):
        path.unlink()
    target = directory / f"covcounters.{meta.hash_hex}.42.1"
    target.write_bytes(encode_counter_file(meta.file_hash, args, records))
    return target


def test_fewer_counters_than_units(lab: Path) -> None:
    # Go panics (index out of range); we name the function and the counts.
    records = _records(lab)
    records[0].counters = records[0].counters[:-1]
    victim = _replace_counters(lab, records, {})
    result = ours("percent", f"-i={lab}")
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    assert b"counters for" in result.stderr and meta_of(lab).name.encode() in result.stderr
    assert victim.exists()


def test_counts_disagree_between_files(lab: Path, go_toolchain: Path) -> None:
    # A later record shorter than an earlier one for the same function is Go's error.
    records = _records(lab)
    _replace_counters(lab, records, {})
    shorter = [FuncCounters(r.pkg, r.func, r.counters[:-1]) for r in records[:1]]
    meta = read_meta(str(meta_of(lab)))
    victim = lab / f"covcounters.{meta.hash_hex}.43.2"
    victim.write_bytes(encode_counter_file(meta.file_hash, {}, shorter))
    expected = covdata(go_toolchain, ["percent", f"-i={lab}"], go_env(cache_root()))
    actual = ours("percent", f"-i={lab}")
    assert (actual.returncode, actual.stdout, actual.stderr) == (
        expected.returncode,
        expected.stdout,
        expected.stderr,
    )
    assert actual.stderr.startswith(b"error: merging counters: len(dst)=")


def test_tolerated_oddities_match_go(lab: Path, go_toolchain: Path, tmp_path: Path) -> None:
    # Unknown packages/functions (warned), extra counters, funcIdx == NumFuncs, a counter file
    # with no records, version 0 and a wrong hash in the header: Go accepts all, and so do we.
    records = _records(lab)
    n_pkgs = len(read_meta(str(meta_of(lab))).packages)
    records[0].counters = uleb_array([*records[0].counters.tolist(), 99, 98])
    records.append(FuncCounters(n_pkgs + 3, 0, uleb_array([1, 2])))
    records.append(FuncCounters(0, 10_000, uleb_array([5])))
    nfuncs = read_meta(str(meta_of(lab))).packages[0].num_funcs
    records.append(FuncCounters(0, nfuncs, uleb_array([7])))
    victim = _replace_counters(lab, records, {"GOOS": "linux"})
    empty = lab / victim.name.replace(".42.1", ".45.7")
    empty.write_bytes(encode_counter_file(bytes(16), {}, []))
    rewrite(victim, lambda b: b[:4] + struct.pack("<I", 0) + bytes(16) + b[24:])
    assert_same_as_go(lab, go_toolchain, tmp_path)
    expected = covdata(go_toolchain, ["percent", f"-i={lab}"], go_env(cache_root()))
    assert ours("percent", f"-i={lab}").stderr == expected.stderr
    assert b"func payload inconsistency" in expected.stderr


def uleb_array(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.uint32)


def test_saturating_overflow_matches_go(lab: Path, go_toolchain: Path, tmp_path: Path) -> None:
    # Sums past 2**32-1 saturate exactly like covdata, with its warning (printed once per
    # binary here, once per overflowing record by Go: see covdata/cli.py).
    records = _records(lab)
    big = [FuncCounters(r.pkg, r.func, r.counters * 0 + 0xFFFFFFF0) for r in records]
    _replace_counters(lab, big, {})
    meta = read_meta(str(meta_of(lab)))
    (lab / f"covcounters.{meta.hash_hex}.44.3").write_bytes(
        encode_counter_file(meta.file_hash, {}, big)
    )
    assert_same_as_go(lab, go_toolchain, tmp_path)
    assert b"uint32 overflow" in ours("percent", f"-i={lab}").stderr


def _to_raw(data: bytes, big_endian: bool) -> bytes:
    """Re-encode a ULEB counter file in the raw (u32) flavour."""
    header, rest = bytearray(data[:32]), data[32:]
    _, strtab_len, args_len = struct.unpack_from("<QII", rest)
    body_start = 16 + strtab_len + args_len
    values, _ = uleb.decode_u32(np.frombuffer(rest[body_start:-16], dtype=np.uint8))
    header[24], header[25] = 1, 1 if big_endian else 0
    raw = values.astype(">u4" if big_endian else "<u4").tobytes()
    return bytes(header) + rest[:body_start] + raw + data[-16:]


@pytest.mark.parametrize("big_endian", [False, True], ids=["little", "big"])
def test_raw_counter_flavour_matches_go(
    big_endian: bool, lab: Path, go_toolchain: Path, tmp_path: Path
) -> None:
    # The raw u32 flavour (never written by Go, honoured by covdata) in either byte order.
    for path in counters_of(lab):
        rewrite(path, lambda b: _to_raw(bytes(b), big_endian))
    assert_same_as_go(lab, go_toolchain, tmp_path)


def test_second_segment_is_ignored_like_go(lab: Path, go_toolchain: Path, tmp_path: Path) -> None:
    # covdata reads only the first segment; a second one must not change the numbers.
    victim = counters_of(lab)[0]
    data = victim.read_bytes()
    segment = data[32:-16]
    footer2 = data[-16:-8] + struct.pack("<I", 2) + data[-4:]
    victim.write_bytes(data + segment + footer2)
    assert_same_as_go(lab, go_toolchain, tmp_path)


def test_orphans_and_missing_inputs_as_go(lab: Path, go_toolchain: Path, tmp_path: Path) -> None:
    # Counter files without their meta file are skipped silently; a missing input
    # directory fails with Go's message and status.
    orphan_dir = tmp_path / "orphans"
    orphan_dir.mkdir()
    for path in counters_of(lab):
        shutil.copy(path, orphan_dir)
    for inputs in (orphan_dir, tmp_path / "nope"):
        expected = covdata(go_toolchain, ["percent", f"-i={inputs}"], go_env(cache_root()))
        actual = ours("percent", f"-i={inputs}")
        assert (actual.returncode, actual.stdout, actual.stderr) == (
            expected.returncode,
            expected.stdout,
            expected.stderr,
        )


def test_meta_without_counters_is_all_zero(lab: Path, go_toolchain: Path, tmp_path: Path) -> None:
    # A binary that never wrote counters is a normal report with every count 0.
    for path in counters_of(lab):
        path.unlink()
    assert_same_as_go(lab, go_toolchain, tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ["percent"],
        ["textfmt", "-i=x"],
        ["frobnicate"],
        ["percent", "-i=x", "extra"],
        ["percent", "-bogus"],
        ["merge", "-i=x", "-pcombine=maybe", "-o=y"],
    ],
)
def test_usage_errors(args: list[str]) -> None:
    # Wrong command lines exit 2 with Go's message and usage, not a traceback (the exact
    # bytes are compared with Go's in test_covdata_go_messages.py).
    result = ours(*args)
    assert result.returncode == 2
    assert b"usage: go tool covdata " in result.stderr
    assert b"Traceback" not in result.stderr


def test_mode_clash_in_subtract_is_per_binary(
    go_datasets: dict[str, Dataset], tmp_path: Path
) -> None:
    # Binaries of different modes are separate meta groups: subtract/intersect handle each alone.
    data = require_dataset(go_datasets, "mixed_modes")
    directory = str(data.dirs[0])
    (tmp_path / "out").mkdir()
    result = ours("intersect", f"-i={directory},{directory}", f"-o={tmp_path / 'out'}")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "out").glob("covmeta.*"))) == 2
