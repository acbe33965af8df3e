"""Decode one entry into a report: runs in the worker processes of compile.

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

from coverage_collector import blobs
from coverage_collector.collection import EntryMetadata, read_json_object
from coverage_collector.compiler import stats
from coverage_collector.covdata.accumulate import PodAccumulator
from coverage_collector.covdata.counters import decode_counters
from coverage_collector.covdata.fastmerge import IrregularInputError, sum_files
from coverage_collector.covdata.meta import decode_meta
from coverage_collector.covdata.model import BoolArray, CounterMode, MetaFile
from coverage_collector.covdata.pods import COUNTER_NAME, Pod, collect_pods, read_input
from coverage_collector.exceptions import CovDataError

META_CACHE_SIZE = 16
SOURCE_FIELDS = ("source_url", "source_commit", "software_group", "software_key")


@dataclass(frozen=True)
class DecodeTask:
    """What a worker needs to turn one entry into a report."""

    name: str
    path: str
    stat_sig: str
    excludes: tuple[str, ...]
    known_binaries: frozenset[str]
    """covmeta hashes already in the database: their meta bytes need not be sent back."""


@dataclass(frozen=True)
class BinaryInfo:
    meta_hash: str
    mode: str
    granularity: str
    n_units: int
    n_funcs: int
    meta_blob: bytes | None
    """The compressed covmeta file, when the database does not have it yet."""


@dataclass(frozen=True)
class InstanceFile:
    """One process instance: its counter file (the newest snapshot)."""

    counter_file: str
    pid: int
    discovered_ns: int
    size: int


@dataclass
class DecodedEntry:
    """An entry decoded into a report, or the problems that prevented it."""

    name: str
    stat_sig: str
    metadata: EntryMetadata = field(default_factory=EntryMetadata)
    sources: dict[str, str] = field(default_factory=dict)
    metadata_hash: str = ""
    input_hash: str = ""
    binary: BinaryInfo | None = None
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


_meta_cache: OrderedDict[bytes, _Binary] = OrderedDict()


def decode_entry(task: DecodeTask) -> DecodedEntry:
    """Decode the entry of `task`; every problem is recorded on the result, never raised."""
    result = DecodedEntry(task.name, task.stat_sig)
    _read_metadata(task, result)
    if result.failed:
        return result
    try:
        scan = collect_pods([task.path])
    except CovDataError as exc:
        return result.fail(exc.message)
    if not scan.pods:
        orphans = f" ({len(scan.orphans)} counter files without it)" if scan.orphans else ""
        return result.fail(f"no covmeta file{orphans}")
    if len(scan.pods) > 1:
        hashes = ", ".join(os.path.basename(p.meta_path) for p in scan.pods)
        return result.fail(f"several binaries in one entry: {hashes}")
    result.problems.extend(f"{os.path.basename(o)}: no matching covmeta file" for o in scan.orphans)
    try:
        _decode_pod(task, scan.pods[0], result)
    except CovDataError as exc:
        return result.fail(exc.message)
    return result


def _read_metadata(task: DecodeTask, result: DecodedEntry) -> None:
    """Read metadata.json (required) and info.json (optional) into `result`."""
    digest = hashlib.blake2b(digest_size=16)
    data, problem = read_json_object(os.path.join(task.path, "metadata.json"))
    if problem:
        result.fail(f"metadata.json: {problem.split(': ', 1)[-1]}")
        return
    result.metadata = EntryMetadata.from_json(data or {})
    info, problem = read_json_object(os.path.join(task.path, "info.json"))
    if problem and not problem.endswith(": missing"):
        result.problems.append(f"info.json: {problem.split(': ', 1)[-1]}")
    for key in SOURCE_FIELDS:
        value = (info or {}).get(key)
        result.sources[key] = value.strip() if isinstance(value, str) else ""
    for source in (data, info):
        digest.update(repr(sorted((source or {}).items())).encode(errors="surrogateescape"))
    result.metadata_hash = digest.hexdigest()


def _decode_pod(task: DecodeTask, pod: Pod, result: DecodedEntry) -> None:
    meta_bytes = read_input(pod.meta_path, "meta-data file")
    digest = hashlib.blake2b(meta_bytes, digest_size=16)
    binary = _meta(meta_bytes, digest.digest(), pod.meta_path, task.excludes)
    meta, app = binary.meta, binary.app
    named = os.path.basename(pod.meta_path).removeprefix("covmeta.")
    if named != meta.hash_hex:
        raise CovDataError(
            f"{os.path.basename(pod.meta_path)} holds the meta-data of {meta.hash_hex}"
        )
    files: dict[str, bytes] = {}
    for ref in pod.counter_files:
        data = files[ref.path] = read_input(ref.path, "counter data file")
        name = os.path.basename(ref.path)
        digest.update(f"\0{name}\0{len(data)}\0".encode(errors="surrogateescape"))
        digest.update(data)
        match = COUNTER_NAME.match(name)
        nanos = int(match.group(3)) if match else 0
        result.instances.append(InstanceFile(name, ref.pid, nanos, len(data)))
    result.input_hash = digest.hexdigest()
    counts = _sum_counters(meta, files, result)
    if meta.mode == CounterMode.SET:
        counts = (counts != 0).astype(np.uint64)
    numbers = stats.totals(meta, counts, app)
    result.statements, result.covered = numbers.statements, numbers.covered
    result.counts_blob = blobs.pack_counts(counts)
    known = meta.hash_hex in task.known_binaries
    result.binary = BinaryInfo(
        meta.hash_hex,
        str(meta.mode),
        str(meta.granularity),
        meta.n_units,
        meta.n_funcs,
        None if known else binary.blob,
    )


def _meta(data: bytes, digest: bytes, path: str, excludes: tuple[str, ...]) -> _Binary:
    """Decode meta bytes, reusing the result for identical bytes (entries share binaries)."""
    cached = _meta_cache.get(digest)
    if cached is not None:
        _meta_cache.move_to_end(digest)
        return cached
    meta = decode_meta(data, path)
    cached = _meta_cache[digest] = _Binary(
        meta, stats.application_units(meta, excludes), blobs.pack_bytes(data)
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
        accumulator = PodAccumulator(meta, meta.mode, result.problems.append)
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
