"""Decode one entry into the rows compile stores: runs in the worker processes of compile.

An entry is one binary's covmeta file plus one counter file per process
instance (the newest snapshot of each; `cluster download` guarantees that). The
instances are summed in 64 bits (OR-ed in set mode), exactly what
`go tool covdata textfmt -i=<entry>` reports. A broken counter file is reported
and left out; the other instances still count.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from coverage_collector import analysis, blobs
from coverage_collector.collection import (
    EntryFileError,
    EntryMetadata,
    SourceInfo,
    read_info,
    read_metadata,
)
from coverage_collector.compile.names import decode_safe_meta
from coverage_collector.covdata.accumulate import MetaGroupAccumulator
from coverage_collector.covdata.counters import decode_counters
from coverage_collector.covdata.fastmerge import IrregularInputError, sum_files
from coverage_collector.covdata.metagroups import (
    COUNTER_NAME,
    MetaGroup,
    collect_meta_groups,
    read_input,
)
from coverage_collector.covdata.model import BoolArray, CounterMode, MetaFile
from coverage_collector.database.entries import NewBinary
from coverage_collector.exceptions import CovDataError

META_CACHE_SIZE = 16
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class DecodeTask:
    """What a worker needs to decode one entry."""

    name: str
    path: str
    stat_sig: str
    excludes: tuple[str, ...]
    known_binaries: frozenset[str]
    """covmeta hashes already in the database: their meta bytes need not be sent back."""


@dataclass(frozen=True)
class InstanceFile:
    """One process instance: its counter file (the newest snapshot)."""

    counter_file: str
    pid: int
    discovered_ns: int
    size: int


@dataclass
class DecodedEntry:
    """An entry decoded (its binary, instances and counters), or the problems that prevented it."""

    name: str
    stat_sig: str
    metadata: EntryMetadata = field(default_factory=EntryMetadata)
    sources: SourceInfo = field(default_factory=SourceInfo)
    metadata_hash: str = ""
    input_hash: str = ""
    binary: NewBinary | None = None
    counts_blob: bytes | None = None
    statements: int = 0
    covered: int = 0
    instances: list[InstanceFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failed: bool = False
    """The entry could not be compiled at all (its problems say why)."""

    @property
    def status(self) -> str:
        if self.failed:
            return "error"
        return "partial" if self.problems else "ok"

    def fail(self, problem: str) -> DecodedEntry:
        self.problems.append(problem)
        self.failed = True
        return self


@dataclass(frozen=True)
class _Binary:
    """A decoded meta file, as a worker keeps it for the next entries of the same binary."""

    meta: MetaFile
    app: BoolArray
    blob: bytes
    """The compressed file, made once: compressing costs more than decoding."""
    repaired: int
    """Names that were not valid UTF-8 (stored with `\\xNN` escapes)."""


_meta_cache: OrderedDict[bytes, _Binary] = OrderedDict()


COUNTED_MODES = frozenset({CounterMode.SET, CounterMode.COUNT, CounterMode.ATOMIC})
"""The counter modes a binary built with `-cover` runs in (regonly and testmain are Go's
internal modes; anything else is a corrupt or lying header)."""


def decode_entry(task: DecodeTask) -> DecodedEntry:
    """Decode the entry of `task`; every problem is recorded on the result, never raised."""
    result = DecodedEntry(task.name, task.stat_sig)
    _read_metadata(task, result)
    if result.failed:
        return result
    try:
        scan = collect_meta_groups([task.path])
    except CovDataError as exc:
        return result.fail(exc.message)
    if not scan.groups:
        orphans = f" ({len(scan.orphans)} counter files without it)" if scan.orphans else ""
        return result.fail(f"no covmeta file{orphans}")
    if len(scan.groups) > 1:
        hashes = ", ".join(os.path.basename(p.meta_path) for p in scan.groups)
        return result.fail(f"several binaries in one entry: {hashes}")
    result.problems.extend(f"{os.path.basename(o)}: no matching covmeta file" for o in scan.orphans)
    try:
        _decode_meta_group(task, scan.groups[0], result)
    except CovDataError as exc:
        return result.fail(exc.message)
    return result


def _read_metadata(task: DecodeTask, result: DecodedEntry) -> None:
    """Read metadata.json (required: the entry fails without it) and info.json (optional:
    a refused one is a problem, the counters still count) into `result`."""
    try:
        result.metadata = read_metadata(task.path)
    except EntryFileError as exc:
        result.fail(str(exc))
        return
    try:
        result.sources = read_info(task.path)
    except EntryFileError as exc:
        result.problems.append(str(exc))
    digest = hashlib.blake2b(repr((result.metadata, result.sources)).encode(), digest_size=16)
    result.metadata_hash = digest.hexdigest()


def _decode_meta_group(task: DecodeTask, group: MetaGroup, result: DecodedEntry) -> None:
    meta_bytes = read_input(group.meta_path, "meta-data file")
    digest = hashlib.blake2b(meta_bytes, digest_size=16)
    binary = _meta(meta_bytes, digest.digest(), group.meta_path, task.excludes)
    meta, app = binary.meta, binary.app
    named = os.path.basename(group.meta_path).removeprefix("covmeta.")
    if named != meta.hash_hex:
        raise CovDataError(
            f"{os.path.basename(group.meta_path)} holds the meta-data of {meta.hash_hex}"
        )
    if meta.mode not in COUNTED_MODES:  # the counters' meaning is unknown: nothing to merge
        raise CovDataError(
            f"{os.path.basename(group.meta_path)}: unknown counter mode {int(meta.mode)} "
            "(set, count or atomic expected)"
        )
    if binary.repaired:
        result.problems.append(
            f"{os.path.basename(group.meta_path)}: {binary.repaired} names not valid UTF-8 "
            "(kept, with \\xNN escapes)"
        )
    files: dict[str, bytes] = {}
    for ref in group.counter_files:
        data = files[ref.path] = read_input(ref.path, "counter data file")
        name = os.path.basename(ref.path)
        digest.update(f"\0{name}\0{len(data)}\0".encode(errors="surrogateescape"))
        digest.update(data)
        match = COUNTER_NAME.match(name)
        nanos = _int64(match.group(3)) if match else 0
        result.instances.append(InstanceFile(name, ref.pid, nanos, len(data)))
    result.input_hash = digest.hexdigest()
    counts = _sum_counters(meta, files, result)
    if meta.mode == CounterMode.SET:
        counts = (counts != 0).astype(np.uint64)
    numbers = analysis.totals(meta, counts, app)
    result.statements, result.covered = numbers.statements, numbers.covered
    result.counts_blob = blobs.pack_counts(counts)
    known = meta.hash_hex in task.known_binaries
    result.binary = NewBinary(
        meta.hash_hex,
        result.metadata.binary_name,
        str(meta.mode),
        str(meta.granularity),
        meta.n_units,
        meta.n_funcs,
        None if known else binary.blob,
    )


def _int64(digits: str) -> int:
    """A file name's number as the database stores it; 0 when it does not fit in int64
    (the name, the instance's key, keeps the exact digits)."""
    return int(digits) if len(digits) <= 19 and int(digits) <= INT64_MAX else 0


def _meta(data: bytes, digest: bytes, path: str, excludes: tuple[str, ...]) -> _Binary:
    """Decode meta bytes, reusing the result for identical bytes (entries share binaries)."""
    cached = _meta_cache.get(digest)
    if cached is not None:
        _meta_cache.move_to_end(digest)
        return cached
    safe = decode_safe_meta(data, path)
    meta = safe.meta
    cached = _meta_cache[digest] = _Binary(
        meta, analysis.application_units(meta, excludes), blobs.pack_bytes(data), safe.repaired
    )
    if len(_meta_cache) > META_CACHE_SIZE:
        _meta_cache.popitem(last=False)
    return cached


def _sum_counters(meta: MetaFile, files: dict[str, bytes], result: DecodedEntry) -> np.ndarray:
    """Return the 64-bit sums of the counter files (path -> bytes, read once for the input
    hash and the merge); broken files are reported and skipped."""
    try:
        totals, _, _ = sum_files(meta, list(files), list(files.values()))
        return totals
    except (IrregularInputError, CovDataError):
        pass
    skipped: set[str] = set()
    while True:
        accumulator = MetaGroupAccumulator(meta, meta.mode, result.problems.append)
        try:
            for path, data in files.items():
                if path not in skipped:
                    current = path
                    accumulator.add(decode_counters(data, path))
        except CovDataError as exc:
            skipped.add(current)
            name = os.path.basename(current)
            result.problems.append(f"{exc.message}; {name} left out")
            result.instances = [i for i in result.instances if i.counter_file != name]
            continue
        return accumulator.sums()
