"""Hostile coverage inputs: FIFOs, device and escaping symlinks, lying headers, failing stdout.

Inputs are the bundled sample's real covmeta/covcounters files, copied into tmp_path and
then made hostile. Every command runs as a subprocess under a timeout: a hang is a failure,
and so is a traceback or an error that doesn't name the file.
"""

from __future__ import annotations

import os
import resource
import shutil
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from coverage_collector.covdata import uleb
from coverage_collector.covdata.files import read_regular
from coverage_collector.covdata.meta import decode_meta, read_meta
from coverage_collector.covdata.model import CounterMode, enum_or_raw, go_name
from coverage_collector.covdata.writer import (
    FuncDesc,
    PackageBuilder,
    encode_counter_file,
    encode_meta_file,
)
from coverage_collector.exceptions import CovDataError
from tests.helpers.gofixtures import cache_root, go_env
from tests.helpers.gofixtures import covdata as go_covdata

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "src/coverage_collector/sample_collection/coverage"
    / "ip-10-0-1-23.ec2.internal-host-monitor"
)
REPORTS = ("textfmt", "percent", "func", "pkglist", "merge")
TIMEOUT = 30
MEMORY_LIMIT = 3 << 30
"""Address-space cap for the lying-header runs: an allocation of what they claim fails."""
SEGMENT_COUNTS = 32  # offset of the segment header's u64 number of function records
SEGMENT_STRTAB = 40
SEGMENT_ARGS = 44
META_MODE = 48


def covdata(
    *args: str, stdout: int | None = subprocess.PIPE, limit_memory: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run `coverage-collector covdata ARGS` under a timeout (a hang fails the test)."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "coverage_collector", "covdata", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=TIMEOUT,
        check=False,
        preexec_fn=cap_memory if limit_memory else None,
    )


def report(command: str, directory: Path, out: Path) -> subprocess.CompletedProcess[bytes]:
    """Run report `command` over `directory`, with `-o` where the command needs one."""
    if command == "textfmt":
        return covdata(command, f"-i={directory}", f"-o={out / 'profile.txt'}")
    if command == "merge":
        return covdata(command, f"-i={directory}", f"-o={out / 'merged'}")
    return covdata(command, f"-i={directory}")


@pytest.fixture
def cov(tmp_path: Path) -> Path:
    """A private copy of one sample binary's coverage files (one meta, one counter file)."""
    target = tmp_path / "coverage"
    target.mkdir()
    for path in SAMPLE.glob("cov*"):
        shutil.copy(path, target)
    return target


def meta_of(directory: Path) -> Path:
    return next(directory.glob("covmeta.*"))


def counter_of(directory: Path) -> Path:
    return next(directory.glob("covcounters.*"))


def extra_counter(directory: Path) -> Path:
    """The path of a second counter file of the same binary (not created)."""
    return directory / f"covcounters.{meta_of(directory).name.split('.')[1]}.4242.1"


def assert_one_line_error(
    result: subprocess.CompletedProcess[bytes], file: Path, defect: str
) -> None:
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert str(file) in errors[0], errors[0]
    assert defect in errors[0], errors[0]


HOSTILE_FILES: list[tuple[str, Callable[[Path, Path], None], str]] = [
    ("fifo", lambda path, outside: os.mkfifo(path), "not a regular file (a FIFO)"),
    ("dev-zero", lambda path, outside: path.symlink_to("/dev/zero"), "outside its input directory"),
    ("dev-null", lambda path, outside: path.symlink_to("/dev/null"), "outside its input directory"),
    ("outside", lambda path, outside: path.symlink_to(outside), "outside its input directory"),
    ("dotdot", lambda path, outside: path.symlink_to(f"../{outside.name}"), "outside its input"),
    ("etc-passwd", lambda path, outside: path.symlink_to("/etc/passwd"), "outside its input"),
    ("directory", lambda path, outside: path.symlink_to(path.parent), "(a directory)"),
]


@pytest.mark.parametrize(
    ("case", "plant", "defect"), HOSTILE_FILES, ids=[c[0] for c in HOSTILE_FILES]
)
@pytest.mark.parametrize("command", REPORTS)
def test_hostile_counter_file_is_refused(
    case: str,
    plant: Callable[[Path, Path], None],
    defect: str,
    command: str,
    cov: Path,
    tmp_path: Path,
) -> None:
    # A covcounters.* that is a FIFO, a device or a symlink leaving the directory is refused
    # at once with one line naming it: no hang, no read of /dev/zero, nothing of the target.
    outside = tmp_path / "secret"
    outside.write_bytes(b"SECRET-CONTENT " + counter_of(cov).read_bytes())
    victim = extra_counter(cov)
    plant(victim, outside)
    result = report(command, cov, tmp_path)
    assert_one_line_error(result, victim, defect)
    assert b"SECRET" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["percent", "merge"])
def test_hostile_meta_file_is_refused(command: str, cov: Path, tmp_path: Path) -> None:
    # The same for a meta-data file: a FIFO in its place fails at once, naming it.
    victim = meta_of(cov)
    victim.unlink()
    os.mkfifo(victim)
    assert_one_line_error(report(command, cov, tmp_path), victim, "(a FIFO)")


def test_symlinks_inside_the_directory_are_read(cov: Path, tmp_path: Path) -> None:
    # A symlink whose target stays inside the input directory is an ordinary input.
    expected = covdata("percent", f"-i={cov}")
    assert expected.returncode == 0, expected.stderr
    for path in (meta_of(cov), counter_of(cov)):
        hidden = cov / "store" / path.name
        hidden.parent.mkdir(exist_ok=True)
        path.rename(hidden)
        path.symlink_to(Path("store") / path.name)
    linked = covdata("percent", f"-i={cov}")
    assert (linked.returncode, linked.stdout) == (0, expected.stdout), linked.stderr


def test_read_regular_never_blocks_on_a_fifo(tmp_path: Path) -> None:
    # In process too: the FIFO is refused without waiting for a writer.
    fifo = tmp_path / "covcounters.x.1.1"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            read_regular(str(fifo), kind="counter data file")
        except CovDataError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(TIMEOUT)
    if reader.is_alive():
        with open(fifo, "wb"):  # release the blocked reader before failing
            pass
        pytest.fail("reading a FIFO blocked")
    assert len(outcome) == 1 and "(a FIFO)" in str(outcome[0])


def test_read_regular_limits_size(tmp_path: Path) -> None:
    # A file over the cap is refused before it is read, naming it and its size.
    big = tmp_path / "covmeta.big"
    big.write_bytes(b"\0" * 1000)
    assert read_regular(str(big), limit=1000) == b"\0" * 1000
    with pytest.raises(CovDataError, match=r"covmeta\.big: 1000 bytes is more than the limit"):
        read_regular(str(big), limit=999)


def _patched(offset: int, fmt: str, value: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        patched = bytearray(data)
        struct.pack_into(fmt, patched, offset, value)
        return bytes(patched)

    return change


def _args_count(count: int) -> Callable[[bytes], bytes]:
    """Replace the args table's entry count by `count` (growing the table as needed)."""

    def change(data: bytes) -> bytes:
        (strtab_len, args_len) = struct.unpack_from("<II", data, SEGMENT_STRTAB)
        start = 48 + strtab_len
        _, after = uleb.read(data, start)
        encoded = uleb.encode(count)
        grown = len(encoded) - (after - start)
        pad = -grown % 4  # keep the records 4-byte aligned
        head = bytearray(data[:start] + encoded + data[after : start + args_len] + b"\0" * pad)
        struct.pack_into("<I", head, SEGMENT_ARGS, args_len + grown + pad)
        return bytes(head) + data[start + args_len :]

    return change


LYING_COUNTERS: list[tuple[str, Callable[[bytes], bytes], str]] = [
    ("records 2e9", _patched(SEGMENT_COUNTS, "<Q", 2_000_000_000), "2000000000 function records"),
    ("records 2^64-1", _patched(SEGMENT_COUNTS, "<Q", 2**64 - 1), "function records announced"),
    # Go rejects these two before reading records; its words (as for a 10**6 table, which
    # test_covdata_errors compares with Go) are used.
    ("strtab 2e9", _patched(SEGMENT_STRTAB, "<I", 2_000_000_000), ": unexpected EOF"),
    ("args 2e9 bytes", _patched(SEGMENT_ARGS, "<I", 2_000_000_000), ": unexpected EOF"),
    ("args 2e9 entries", _args_count(2_000_000_000), "announces 2000000000 entries"),
]


@pytest.mark.parametrize(
    ("case", "change", "defect"), LYING_COUNTERS, ids=[c[0] for c in LYING_COUNTERS]
)
@pytest.mark.parametrize("command", ["percent", "merge"])
def test_lying_counter_header_is_a_decode_error(
    case: str,
    change: Callable[[bytes], bytes],
    defect: str,
    command: str,
    cov: Path,
    tmp_path: Path,
) -> None:
    # Sizes a counter header claims are checked against the file before anything is
    # allocated: under a 3 GiB address-space cap, the run ends with the decode error.
    victim = counter_of(cov)
    victim.write_bytes(change(victim.read_bytes()))
    if command == "merge":
        result = covdata(command, f"-i={cov}", f"-o={tmp_path / 'm'}", limit_memory=True)
    else:
        result = covdata(command, f"-i={cov}", limit_memory=True)
    assert_one_line_error(result, victim, defect)


def test_huge_argc_is_a_decode_error(cov: Path) -> None:
    # `argc` 2e9 would make a list of 2e9 program arguments: refused, naming the file.
    meta = read_meta(str(meta_of(cov)))
    victim = extra_counter(cov)
    victim.write_bytes(encode_counter_file(meta.file_hash, {"argc": "2000000000"}, []))
    result = covdata("percent", f"-i={cov}", limit_memory=True)
    assert_one_line_error(result, victim, "argc 2000000000 is more than")


def test_overlapping_function_records_are_bounded() -> None:
    # Function offsets that all point at one record with many units would multiply
    # its units by the number of functions: refused as more units than the blob holds.
    units = [(i + 1, 1, i + 1, 9, 1) for i in range(200)]
    builder = PackageBuilder("example.com/p", "p", "example.com/p")
    builder.add(FuncDesc("big", "p.go", units, False))
    for index in range(200):
        builder.add(FuncDesc(f"f{index}", "p.go", [(1, 1, 1, 2, 1)], False))
    blob = bytearray(builder.encode())
    first = struct.unpack_from("<I", blob, 44)[0]
    for index in range(201):
        struct.pack_into("<I", blob, 44 + 4 * index, first)
    data = encode_meta_file(bytes(16), [bytes(blob)], 2, 1)
    with pytest.raises(CovDataError, match="claim more units than the blob"):
        decode_meta(data, "covmeta.crafted")


@pytest.mark.parametrize("command", ["percent", "func", "pkglist", "debugdump"])
def test_stdout_to_dev_full_is_one_line(command: str, cov: Path) -> None:
    # A full disk behind stdout: one line on stderr, exit status 1, no traceback.
    with open("/dev/full", "wb") as full:
        result = covdata(command, f"-i={cov}", stdout=full.fileno())
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr == "error: Couldn't write to standard output: No space left on device\n"


def test_stdout_closed_pipe_is_one_line(cov: Path) -> None:
    # A reader that went away (`| head` that exited): one line, exit status 1.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = covdata("func", f"-i={cov}", stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == 1, result.stderr
    assert result.stderr == b"error: Couldn't write to standard output: Broken pipe\n"


def test_orphans_stay_silent_when_stdout_fails(cov: Path) -> None:
    # An orphaned counter file is skipped silently, as covdata skips it: the failed
    # stdout is the one line on stderr.
    orphan = cov / "covcounters.00000000000000000000000000000000.1.1"
    shutil.copy(counter_of(cov), orphan)
    with open("/dev/full", "wb") as full:
        result = covdata("percent", f"-i={cov}", stdout=full.fileno())
    assert result.returncode == 1
    assert result.stderr == b"error: Couldn't write to standard output: No space left on device\n"


@pytest.mark.parametrize(("mode", "name"), [(9, "<invalid>"), (0, "<invalid>"), (2, "count")])
def test_textfmt_prints_modes_as_go(mode: int, name: str, cov: Path, tmp_path: Path) -> None:
    # Go's CounterMode.String(): "<invalid>" for a mode it doesn't know, never the number.
    victim = meta_of(cov)
    data = bytearray(victim.read_bytes())
    data[META_MODE] = mode
    victim.write_bytes(bytes(data))
    out = tmp_path / "profile.txt"
    result = covdata("textfmt", f"-i={cov}", f"-o={out}")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes().splitlines()[0] == f"mode: {name}".encode()
    assert go_name(enum_or_raw(CounterMode, mode)) == name


def test_textfmt_invalid_mode_matches_go(cov: Path, tmp_path: Path, go_toolchain: Path) -> None:
    # The whole profile equals go tool covdata's for a meta file with mode 9.

    victim = meta_of(cov)
    data = bytearray(victim.read_bytes())
    data[META_MODE] = 9
    victim.write_bytes(bytes(data))
    ours, go = tmp_path / "ours.txt", tmp_path / "go.txt"
    expected = go_covdata(go_toolchain, ["textfmt", f"-i={cov}", f"-o={go}"], go_env(cache_root()))
    assert expected.returncode == 0, expected.stderr
    assert covdata("textfmt", f"-i={cov}", f"-o={ours}").returncode == 0
    assert ours.read_bytes() == go.read_bytes()
    assert go.read_bytes().startswith(b"mode: <invalid>\n")


@pytest.mark.parametrize("command", ["merge", "textfmt"])
def test_output_on_full_disk_fails_as_go(
    command: str, cov: Path, go_toolchain: Path, tmp_path: Path
) -> None:
    # merge -o / textfmt -o onto a full tmpfs: Go's message, and no `.tmp.*` or empty
    # merge output left behind.
    target = tmp_path / "small"
    target.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(target)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"can't mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        (target / "filler").write_bytes(b"\0" * 4096)  # the one page there is
        output = target if command == "merge" else target / "profile.txt"
        args = [command, f"-i={cov}", f"-o={output}"]
        expected = go_covdata(go_toolchain, args, go_env(cache_root()))
        for partial in target.glob("cov*"):
            partial.unlink()  # Go leaves the empty file it could not write
        result = covdata(*args)
        assert (result.returncode, result.stderr) == (expected.returncode, expected.stderr)
        assert result.returncode == 1
        assert b"no space left on device" in result.stderr
        if command == "merge":
            assert sorted(p.name for p in target.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", str(target)], check=False)


def test_counter_file_names_are_matched_in_linear_time() -> None:
    # A name built to make a nested quantifier backtrack: 40 digits then a mismatch took
    # hours with `([0-9]+)+`; it must be refused at once.
    import time

    from coverage_collector.covdata.metagroups import COUNTER_NAME

    name = "covcounters." + "a" * 32 + ".1." + "1" * 4000 + "x"
    started = time.monotonic()
    assert COUNTER_NAME.match(name) is None
    assert time.monotonic() - started < 0.5
    good = COUNTER_NAME.match("covcounters." + "a" * 32 + ".42.1773825169000000000")
    assert good is not None and good.groups()[1:] == ("42", "1773825169000000000")
