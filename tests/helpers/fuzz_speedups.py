"""Feed the compiled kernels damaged copies of real Go coverage files (run as a script).

`python -m tests.helpers.fuzz_speedups SO DIR ITERATIONS SEED` loads the extension module
built at SO (a sanitized build, see test_speedups_sanitized), damages copies of the counter
files and meta blobs in DIR (bytes overwritten, files cut short, record counts that lie,
records relabelled at the edges of the function tables), and
checks each kernel against its Python path: the same sums where both accept, a refusal by
both otherwise, and nothing changed by a refusal. Prints one summary line; exits 1 on the
first disagreement (a memory error aborts the process through the sanitizer instead).
"""

from __future__ import annotations

import random
import sys
from array import array
from importlib.machinery import ExtensionFileLoader
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType

from coverage_collector.covdata import small, speedups, uleb
from coverage_collector.covdata.counterformat import parse_header
from coverage_collector.covdata.metaformat import parse_blob_header

BYTES = (0x00, 0x7F, 0x80, 0xFF)
LIES = (0, 0, 1, 1000, 1 << 63)


def load(path: str) -> ModuleType:
    name = "coverage_collector.covdata._speedups"
    spec = spec_from_file_location(name, path, loader=ExtensionFileLoader(name, path))
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def damage(data: bytes, first: int, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if len(out) > first:
            out[rng.randrange(first, len(out))] = rng.choice([*BYTES, rng.randrange(256)])
    if rng.random() < 0.3 and len(out) > first:
        out = out[: rng.randrange(first, len(out) + 1)]
    return bytes(out)


def relabel(data: bytes, start: int, n_entries: int, tables, rng: random.Random) -> bytes:
    """Give one record of a Go-written file a header at the edge of the tables: the last
    package or one past it, the last function or one or two past it, the right number of
    counters or one off, or none (the rest of the file re-encoded around it)."""
    records, pos = [], start
    for _ in range(n_entries):
        fields = []
        for _ in range(3):
            value, pos = uleb.read(data, pos)
            fields.append(value)
        values = []
        for _ in range(fields[0]):
            value, pos = uleb.read(data, pos)
            values.append(value)
        records.append((fields, values))
    if not records:
        return data
    pkg_first, pkg_funcs, func_units = tables
    fields, values = records[rng.randrange(len(records))]
    pkg = rng.choice([len(pkg_first) - 1, len(pkg_first), fields[1]])
    funcs = pkg_funcs[pkg] if pkg < len(pkg_first) else 1
    func = rng.choice([funcs - 1, funcs, funcs + 1, 0])
    known = pkg < len(pkg_first) and func < funcs
    index = pkg_first[pkg] + func if known else 0
    width = func_units[index + 1] - func_units[index] if known else len(values)
    n = max(0, rng.choice([width, width - 1, width + 1, 0]))
    fields[:] = [n, pkg, func]
    values[:] = (values * (n + 1))[:n] if values else [0] * n
    body = b"".join(uleb.encode(v) for f, vs in records for v in (*f, *vs))
    return data[:start] + body + data[pos:]


def python_merge(data: bytes, start: int, n_entries: int, tables, n_units: int, n_funcs: int):
    saved, speedups.KERNELS = speedups.KERNELS, None
    totals, executed = array("Q", bytes(8 * n_units)), bytearray(n_funcs)
    try:
        small._merge_records(data, start, n_entries, tables, totals, executed)
    except (small.NotSmallError, IndexError):
        return None
    finally:
        speedups.KERNELS = saved
    return totals, executed


def main() -> int:
    so, directory, iterations, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    kernels = load(so)
    rng = random.Random(seed)
    meta_path = next(directory.glob("covmeta.*"))
    meta = small.read_small_meta(str(meta_path))
    tables = meta.function_tables()
    counter_files = [p.read_bytes() for p in sorted(directory.glob("covcounters.*"))[:50]]
    blobs = meta.blobs
    accepted = refused = 0
    for _ in range(iterations):
        original = rng.choice(counter_files)
        header = parse_header(original)
        if rng.random() < 0.5:
            data = relabel(original, header.records_start, header.n_entries, tables, rng)
        else:
            data = damage(original, header.records_start, rng)
        n_entries = header.n_entries + rng.choice(LIES)
        expected = python_merge(
            data, header.records_start, n_entries, tables, meta.n_units, meta.n_funcs
        )
        totals, executed = array("Q", bytes(8 * meta.n_units)), bytearray(meta.n_funcs)
        try:
            kernels.merge_records(data, header.records_start, n_entries, *tables, totals, executed)
        except ValueError:
            if expected is not None or any(totals) or any(executed):
                print("merge_records refused what Python takes, or changed something")
                return 1
            refused += 1
            continue
        if expected != (totals, executed):
            print("merge_records disagrees with the Python merge")
            return 1
        accepted += 1
    for _ in range(iterations):
        blob = damage(rng.choice(blobs), 44, rng)
        try:
            header = parse_blob_header(blob)
        except ValueError:
            continue
        try:
            kernels.decode_functions(
                blob, header.records_start, header.num_funcs, header.declared_len
            )
            accepted += 1
        except ValueError:
            refused += 1
    print(f"accepted {accepted}, refused {refused}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
