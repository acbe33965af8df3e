"""The compiled loops of `covdata` (`_speedups.c`), when they were built.

Like coverage.py's C tracer, the extension is optional: `pip install` builds it where a C
compiler is found and goes on without it elsewhere. `KERNELS` is the module, or None, and
every caller then takes a Python path with the same result (the tests run both: set
`DISABLE_VARIABLE` to take the Python paths with the extension built).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType

DISABLE_VARIABLE = "COVERAGE_COLLECTOR_COVDATA_PURE"


def _load() -> ModuleType | None:
    if os.environ.get(DISABLE_VARIABLE):
        return None
    try:
        from coverage_collector.covdata import _speedups
    except ImportError:
        return None
    return _speedups


KERNELS = _load()


def apply_filter_file(
    records: Sequence[object],
    kept: object,
    seen: object,
    first_input: bool,
    intersect: bool,
) -> None:
    """Apply one counter file to `subtract` or `intersect` with the kernels: summed into the
    totals when it is of the first input, else filtering them (cmd/covdata's rules).

    `records` are `merge_records`' first arguments (data, start, count, the three function
    tables, totals); `kept` marks the functions the first input ran, `seen` those a later
    input ran. Raises ValueError, having changed nothing, for irregular records.
    """
    assert KERNELS is not None
    if first_input:
        KERNELS.merge_records(*records, kept)
    else:
        KERNELS.filter_records(*records, kept, seen, not intersect)
