"""An entry's files from the cluster are data: refused values name the entry, file and field.

collection.py is the one place where `metadata.json` and `info.json` are parsed; compile
turns a refused file into an error row and goes on with every other entry. Then the
database: a binary whose names are not UTF-8 is stored with escapes, a half-written row
makes readers say "run compile", and a full disk ends compile with one line that the next
run recovers from. The compile runs are the real command, in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from coverage_collector import blobs
from coverage_collector.collection import (
    EntryFileError,
    EntryMetadata,
    SourceInfo,
    read_info,
    read_json_object,
    read_metadata,
)
from coverage_collector.compile.names import storable
from coverage_collector.covdata.writer import (
    FuncCounters,
    FuncDesc,
    PackageBuilder,
    encode_counter_file,
    encode_meta_file,
)
from coverage_collector.demo import copy_sample
from tests.helpers.tmpfsfixtures import small_tmpfs

SECRET = "collection-test-secret-5f1c"
GOOD_OWNER_COLUMNS = (
    "namespace, owner_type, owner_name, binary_name, statements, covered, entries, instances, "
    "pods_json, coverage_pct"
)


def _cli(*args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coverage_collector", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _compile(collection: Path) -> subprocess.CompletedProcess[str]:
    return _cli("cluster", "compile", "--collection", str(collection))


def _template(collection: Path) -> Path:
    return next(p for p in sorted((collection / "coverage").iterdir()) if "kv-store-0" in p.name)


def _plant(
    collection: Path,
    name: str,
    *,
    metadata: bytes | None = None,
    info: bytes | None = None,
) -> Path:
    """A copy of the kv-store-0 entry as pod `<name>-0` of namespace `planted` (its own
    owner: the sample's owners keep their numbers), with `metadata`/`info` if given."""
    template = _template(collection)
    path = collection / "coverage" / name
    shutil.copytree(template, path)
    good = json.loads((template / "metadata.json").read_text(encoding="utf-8"))
    planted = dict(good, namespace="planted", pod_name=f"{name}-0")
    (path / "metadata.json").write_bytes(metadata or json.dumps(planted).encode())
    if info is not None:
        (path / "info.json").write_bytes(info)
    return path


def _good_owners(collection: Path) -> list[tuple[object, ...]]:
    """The sample's owners (not the planted ones) with their numbers."""
    conn = sqlite3.connect(collection / "coverage.db")
    try:
        return conn.execute(
            f"SELECT {GOOD_OWNER_COLUMNS} FROM owners WHERE namespace != 'planted' "
            "ORDER BY group_key"
        ).fetchall()
    finally:
        conn.close()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "collection"
    copy_sample(str(path))
    return path


@pytest.fixture(scope="module")
def clean_owners(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[object, ...]]:
    """The owners of a clean compile of the sample."""
    path = tmp_path_factory.mktemp("clean") / "collection"
    copy_sample(str(path))
    assert _compile(path).returncode == 0
    owners = _good_owners(path)
    assert len(owners) == 5
    return owners


# --------------------------------------------------------------------------------------------
# Parsing: typed values, or a refusal naming the file and the field


def _entry(tmp_path: Path, metadata: bytes, info: bytes | None = None) -> Path:
    path = tmp_path / "entry"
    path.mkdir(parents=True)
    (path / "metadata.json").write_bytes(metadata)
    if info is not None:
        (path / "info.json").write_bytes(info)
    return path


def test_metadata_parses_into_typed_values(tmp_path: Path) -> None:
    data = {
        "pod_name": "api-7d9f8c6b5d-x2k4p",
        "namespace": "shop",
        "container": {"name": "server", "image": "quay.io/shop/api@sha256:00"},
        "binary_name": "api",
        "hostname": "node-1",
        "host_process": False,
        "owner_kind": None,  # null reads as absent
        "instances": [{"pid": 7}],  # not compile's business, but within the caps
    }
    entry = _entry(tmp_path, json.dumps(data).encode())
    assert read_metadata(str(entry)) == EntryMetadata(
        pod_name="api-7d9f8c6b5d-x2k4p",
        namespace="shop",
        container_name="server",
        image="quay.io/shop/api@sha256:00",
        binary_name="api",
        hostname="node-1",
    )


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (b'{"namespace": "x\\ud800"}', "field 'namespace': invalid Unicode (a lone surrogate)"),
        (b'{"pod_name": "esc\\u001b[31m"}', "field 'pod_name': control character U+001B"),
        (b'{"namespace": 5}', "field 'namespace': expected a string, found a number"),
        (b'{"container": {"name": ["x"]}}', "field 'container.name': expected a string"),
        (b'{"container": "server"}', "field 'container': expected an object"),
        (b'{"host_process": "yes"}', "field 'host_process': expected a boolean"),
        (b'{"binary_name": "' + b"b" * 5000 + b'"}', "field 'binary_name': longer than 1024"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper than 32 levels"),
        (b'{"pid": ' + b"9" * 5000 + b"}", "an integer of 5000 digits"),
        (b'{"namespace": "\xff"}', "not valid UTF-8"),
        (b'{"namespace": NaN}', "NaN"),
        (b"[1, 2]", "expected an object, found an array"),
        (b'{"pod_name": "x",', "malformed"),
    ],
)
def test_bad_metadata_is_refused_naming_the_file_and_field(
    tmp_path: Path, metadata: bytes, message: str
) -> None:
    entry = _entry(tmp_path, metadata)
    with pytest.raises(EntryFileError) as refused:
        read_metadata(str(entry))
    assert str(refused.value).startswith(f"metadata.json: {message}")
    assert "\n" not in str(refused.value)


def test_info_json_url_loses_its_credentials_before_it_is_returned(tmp_path: Path) -> None:
    url = f"https://x-access-token:{SECRET}@github.com/org/repo?token={SECRET}#{SECRET}"
    info = json.dumps({"source_url": f" {url} ", "source_commit": "abc", "pid": 0}).encode()
    entry = _entry(tmp_path, b"{}", info)
    assert read_info(str(entry)) == SourceInfo(
        source_url="https://github.com/org/repo", source_commit="abc"
    )
    assert read_info(str(_entry(tmp_path / "none", b"{}"))) == SourceInfo()  # optional
    with pytest.raises(EntryFileError, match=r"^info\.json: field 'source_commit': expected"):
        read_info(str(_entry(tmp_path / "bad", b"{}", b'{"source_commit": 1}')))


def _no_hang(seconds: int) -> None:
    def stop(*_: object) -> None:
        raise TimeoutError("the read blocked")

    signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"namespace": SECRET}), encoding="utf-8")
    cases = {
        "fifo": "not a regular file",
        "link-out": "a symlink (not followed)",
        "link-dev": "a symlink (not followed)",
        "big": "larger than 1048576 bytes",
        "dir": "not a regular file",
    }
    for name in cases:
        (tmp_path / name).mkdir()
    os.mkfifo(tmp_path / "fifo" / "metadata.json")
    (tmp_path / "link-out" / "metadata.json").symlink_to(outside)
    (tmp_path / "link-dev" / "metadata.json").symlink_to("/dev/zero")
    (tmp_path / "big" / "metadata.json").write_bytes(b" " * (1 << 20) + b"{}")
    (tmp_path / "dir" / "metadata.json").mkdir()
    _no_hang(10)
    try:
        for name, defect in cases.items():
            with pytest.raises(EntryFileError) as refused:
                read_metadata(str(tmp_path / name))
            assert str(refused.value) == f"metadata.json: {defect}", name
            assert SECRET not in str(refused.value)
    finally:
        signal.alarm(0)
    data, problem = read_json_object(str(tmp_path / "fifo" / "metadata.json"))
    assert data is None and problem == f"{tmp_path}/fifo/metadata.json: not a regular file"
    assert read_json_object(str(tmp_path / "nothing.json"))[1] == (
        f"{tmp_path}/nothing.json: missing"
    )


# --------------------------------------------------------------------------------------------
# compile on real entries: each bad entry named once, the good owners as in a clean run


BAD_METADATA = {
    "bad-surrogate": (b'{"namespace": "x\\ud800", "pod_name": "p-0"}', "field 'namespace'"),
    "bad-deep": (b'{"pod_name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
    "bad-digits": (b'{"pid": ' + b"7" * 5000 + b', "pod_name": "x-0"}', "5000 digits"),
    "bad-type": (b'{"namespace": ["shop"], "pod_name": "x-0"}', "field 'namespace'"),
    "bad-utf8": (b'{"namespace": "sh\xffop", "pod_name": "x-0"}', "not valid UTF-8"),
    "bad-control": (b'{"namespace": "x", "pod_name": "a\\u001b]0;t\\u0007-0"}', "U+001B"),
}
BAD_INFO = {
    "info-surrogate": (b'{"source_url": "https://h/x\\ud800"}', "field 'source_url'"),
    "info-deep": (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
    "info-digits": (b'{"pid": ' + b"9" * 5000 + b"}", "5000 digits"),
    "info-type": (b'{"source_commit": {"sha": "1"}}', "field 'source_commit'"),
}


def test_compile_names_each_bad_entry_once_and_keeps_the_good_numbers(
    sample: Path, clean_owners: list[tuple[object, ...]]
) -> None:
    for name, (metadata, _) in BAD_METADATA.items():
        _plant(sample, name, metadata=metadata)
    for name, (info, _) in BAD_INFO.items():
        _plant(sample, name, info=info)
    url = f"https://u:{SECRET}@git.example.net/org/repo?access_token={SECRET}"
    _plant(sample, "info-credentials", info=json.dumps({"source_url": url}).encode())

    run = _compile(sample)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "Traceback" not in output and "internal error" not in output
    expected = {**BAD_METADATA, **BAD_INFO}
    lines = output.splitlines()
    for name, (_, field) in expected.items():
        named = [line for line in lines if name in line]
        assert len(named) == 1, (name, named)
        file = "metadata.json" if name.startswith("bad-") else "info.json"
        assert f"{name}: {file}: " in named[0] and field in named[0], named[0]
    assert f"{len(expected)} entries with problems" in output
    assert "\x1b" not in output and "\x07" not in output
    assert _good_owners(sample) == clean_owners

    conn = sqlite3.connect(sample / "coverage.db")
    statuses = dict(conn.execute("SELECT dir_name, status FROM entries"))
    assert {n for n, s in statuses.items() if s == "error"} == set(BAD_METADATA)
    assert {n for n, s in statuses.items() if s == "partial"} == set(BAD_INFO)  # counters kept
    errors = conn.execute("SELECT item, message FROM errors WHERE stage = 'compile'").fetchall()
    assert sorted(item for item, _ in errors) == sorted(expected)
    assert conn.execute(
        "SELECT source_url FROM entries WHERE dir_name = 'info-credentials'"
    ).fetchone() == ("https://git.example.net/org/repo",)
    assert SECRET.encode() not in (sample / "coverage.db").read_bytes()

    # Fixing the files clears the errors: the next run exits 0.
    for name in expected:
        shutil.rmtree(sample / "coverage" / name)
    again = _compile(sample)
    assert again.returncode == 0, again.stderr
    assert _good_owners(sample) == clean_owners


def test_an_entry_directory_whose_name_is_not_utf8_is_refused_by_name(sample: Path) -> None:
    bad = os.path.join(os.fsencode(sample / "coverage"), b"entry-\xff")
    shutil.copytree(_template(sample), os.fsdecode(bad))
    run = _compile(sample)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert "entry-\\xff: entry directory name is not valid UTF-8" in run.stderr
    shutil.rmtree(bad)
    assert _compile(sample).returncode == 0


KILLER = """
import multiprocessing, os, signal
from coverage_collector.compile import decode

original = decode._read_metadata


def read_metadata(task, result):
    if task.name == "killer" and multiprocessing.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does to a worker
    return original(task, result)


decode._read_metadata = read_metadata
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="compile decodes inline on 1 CPU")
def test_an_entry_that_kills_its_worker_is_the_only_one_lost(
    sample: Path, tmp_path: Path, clean_owners: list[tuple[object, ...]]
) -> None:
    _plant(sample, "killer")
    for index in range(6):  # enough entries in flight with it to need a pool
        _plant(sample, f"bystander-{index}")
    hook = tmp_path / "hook"
    hook.mkdir()
    # Loaded by every process of the command; it kills workers (never the command itself)
    # that decode "killer".
    (hook / "sitecustomize.py").write_text(KILLER, encoding="utf-8")
    run = subprocess.Popen(
        [sys.executable, "-m", "coverage_collector", "cluster", "compile", "--collection",
         str(sample), "--max-concurrency", "2"],
        env={**os.environ, "PYTHONPATH": str(hook)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    [line] = [line for line in stderr.splitlines() if "killer" in line]
    assert "ended its worker process" in line
    conn = sqlite3.connect(sample / "coverage.db")
    statuses = dict(conn.execute("SELECT dir_name, status FROM entries"))
    assert len(statuses) == 17 and statuses.pop("killer") == "error"
    assert set(statuses.values()) == {"ok"}
    assert _good_owners(sample) == clean_owners


def test_a_counter_file_number_beyond_int64_is_kept_by_name(sample: Path) -> None:
    entry = _plant(sample, "big-number")
    [counter] = entry.glob("covcounters.*")
    name = counter.name.rsplit(".", 1)[0] + "." + "9" * 40
    counter.rename(entry / name)
    run = _compile(sample)
    assert run.returncode == 0, run.stderr
    conn = sqlite3.connect(sample / "coverage.db")
    assert conn.execute(
        "SELECT i.counter_file, i.discovered_ns FROM instances i JOIN entries r "
        "ON r.id = i.entry_id WHERE r.dir_name = 'big-number'"
    ).fetchall() == [(name, 0)]


# --------------------------------------------------------------------------------------------
# Names inside covmeta files


MODULE = "example.com/hostile"
HOSTILE_FILES = [
    f"{MODULE}/ok.go".encode(),
    f"{MODULE}/bad".encode() + b"\xff.go",
    b"../../etc/passwd",
    b"/etc/passwd",
]


def _hostile_binary(entry: Path) -> str:
    """Replace the entry's binary by one whose file and function names are hostile: one
    has a byte that is not UTF-8, two leave any checkout. Return its hash."""
    file_hash = bytes.fromhex("c3" * 16)
    builder = PackageBuilder(MODULE, "main", MODULE)
    records = []
    for index, raw in enumerate(HOSTILE_FILES):
        name = os.fsdecode(b"F\xfe" if index == 1 else f"F{index}".encode())
        func = builder.add(
            FuncDesc(name, os.fsdecode(raw), [(3, 1, 4, 2, 1), (5, 1, 6, 2, 1)], False)
        )
        records.append(FuncCounters(0, func, np.array([index + 1, 0], dtype=np.uint32)))
    for old in [*entry.glob("covmeta.*"), *entry.glob("covcounters.*")]:
        old.unlink()
    meta = encode_meta_file(file_hash, [builder.encode()], mode=2, granularity=1)
    (entry / f"covmeta.{file_hash.hex()}").write_bytes(meta)
    counters = encode_counter_file(file_hash, {"GOOS": "linux", "GOARCH": "amd64"}, records)
    (entry / f"covcounters.{file_hash.hex()}.77.1773834363000000000").write_bytes(counters)
    return file_hash.hex()


def test_names_that_are_not_utf8_are_stored_escaped_and_hostile_names_as_data(
    sample: Path, clean_owners: list[tuple[object, ...]]
) -> None:
    meta_hash = _hostile_binary(_plant(sample, "hostile-names"))
    run = _compile(sample)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    [line] = [line for line in run.stderr.splitlines() if "hostile-names" in line]
    assert f"covmeta.{meta_hash}: 2 names not valid UTF-8" in line

    conn = sqlite3.connect(sample / "coverage.db")
    (binary_id, statements, covered) = conn.execute(
        "SELECT id, statements, covered FROM binaries WHERE meta_hash = ?", (meta_hash,)
    ).fetchone()
    assert (statements, covered) == (8, 4)  # the binary and its counters are kept
    paths = {
        p
        for (p,) in conn.execute("SELECT path FROM binary_files WHERE binary_id = ?", (binary_id,))
    }
    assert paths == {
        f"{MODULE}/ok.go",
        f"{MODULE}/bad\\xff.go",  # escaped, distinct, never resolvable
        "../../etc/passwd",  # valid names are data, unchanged (resolve refuses them)
        "/etc/passwd",
    }
    functions = {
        n
        for (n,) in conn.execute(
            "SELECT name FROM binary_functions WHERE binary_id = ?", (binary_id,)
        )
    }
    assert functions == {"F0", "F\\xfe", "F2", "F3"}
    owner = conn.execute(
        "SELECT statements, covered FROM owners WHERE owner_name = 'hostile-names'"
    ).fetchone()
    assert owner == (8, 4)
    assert _good_owners(sample) == clean_owners

    # Every later stage decodes the binary through the same safe names.
    summary = _cli("cluster", "summary", "--collection", str(sample), "--by", "binary")
    assert "Traceback" not in summary.stderr + summary.stdout
    export = _cli(
        "cluster", "export", "--collection", str(sample), "--format", "gocover",
        "--output-dir", str(sample / "out"),
    )  # fmt: skip
    assert "Traceback" not in export.stderr and "internal error" not in export.stderr
    exported = b"".join(p.read_bytes() for p in (sample / "out").rglob("*.out"))
    assert b"bad\\xff.go" in exported and b"\xff" not in exported


def test_storable_keeps_text_and_escapes_only_what_is_not_utf8() -> None:
    assert storable("ok/é.go") == "ok/é.go"
    assert storable(os.fsdecode(b"a\xff\xfeb")) == "a\\xff\\xfeb"
    assert storable("x\ud800") == "x\\ud800"  # a surrogate no byte decoded to
    assert storable(os.fsdecode(b"a\xff")) != storable("a\ufffd")


# --------------------------------------------------------------------------------------------
# The database: never a state the next stage can't read


def test_a_half_written_binary_makes_readers_say_run_compile(sample: Path) -> None:
    assert _compile(sample).returncode == 0
    out = sample / "out"
    whole = _cli("cluster", "export", "--collection", str(sample), "--format", "gocover",
                 "--output-dir", str(out))  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    reference = {p.name: p.read_bytes() for p in out.glob("*.out")}
    conn = sqlite3.connect(sample / "coverage.db")
    with conn:  # a binary row as an interrupted merge leaves it: no counters yet
        conn.execute("UPDATE binaries SET counts_blob = NULL WHERE id = 1")
    conn.close()
    for args in (
        ["export", "--format", "gocover", "--output-dir", str(sample / "out2")],
        ["render", "--output-dir", str(sample / "html")],
    ):
        run = _cli("cluster", *args[:1], "--collection", str(sample), *args[1:])
        errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stderr
        assert errors == [
            "error: the database is incomplete (counters not merged yet): "
            "run 'coverage-collector cluster compile'"
        ]
    repaired = _compile(sample)
    assert repaired.returncode == 0, repaired.stderr
    assert "4 binaries (1 updated)" in repaired.stderr
    assert _cli("cluster", "export", "--collection", str(sample), "--format", "gocover",
                "--output-dir", str(sample / "out3")).returncode == 0  # fmt: skip
    assert {p.name: p.read_bytes() for p in (sample / "out3").glob("*.out")} == reference


def test_blob_errors_are_one_line_data_errors() -> None:
    for blob in (
        None,
        b"",
        b"\x09abc",
        b"\x00not zlib",
        b"\x01" + __import__("zlib").compress(b"abc"),
    ):
        with pytest.raises(blobs.BlobError) as broken:
            blobs.unpack_counts(blob)
        assert str(broken.value).endswith(": run 'coverage-collector cluster compile'")
        assert "\n" not in str(broken.value)
    with pytest.raises(blobs.BlobError):
        blobs.unpack_bytes(None)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs; skipped where `mount` isn't allowed."""
    with small_tmpfs(tmp_path / "small", "4m") as mount:
        yield mount


@pytest.mark.parametrize("free_kib", [64, 200, 280])
def test_compile_on_a_full_disk_says_so_in_one_line_and_the_next_run_completes(
    small_disk: Path, tmp_path: Path, free_kib: int, clean_owners: list[tuple[object, ...]]
) -> None:
    collection = small_disk / "collection"
    copy_sample(str(collection))
    # The run logs go elsewhere: this test is about the database (its pages, its WAL).
    (tmp_path / "logs").mkdir()
    (collection / "logs").symlink_to(tmp_path / "logs")
    filler = small_disk / "filler"
    stats = os.statvfs(small_disk)
    filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - free_kib * 1024))

    full = _compile(collection)
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert len(errors) == 1, full.stderr
    assert str(collection / "coverage.db") in errors[0] and "disk is full" in errors[0]

    filler.unlink()
    again = _compile(collection)
    assert again.returncode == 0, again.stderr
    assert _good_owners(collection) == clean_owners
    conn = sqlite3.connect(collection / "coverage.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM binaries WHERE counts_blob IS NULL").fetchone() == (
        0,
    )
