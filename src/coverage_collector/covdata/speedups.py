"""The compiled loops of `covdata` (`_speedups.c`), when they were built.

Like coverage.py's C tracer, the extension is optional: `pip install` builds it where a C
compiler is found and goes on without it elsewhere. `KERNELS` is the module, or None, and
every caller then takes a Python path with the same result (the tests run both: set
`DISABLE_VARIABLE` to take the Python paths with the extension built).
"""

from __future__ import annotations

import os
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
