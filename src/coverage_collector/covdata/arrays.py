"""Vectorised helpers shared by the decoders."""

from __future__ import annotations

import numpy as np

from coverage_collector.covdata.model import IntArray


def run_offsets(lengths: IntArray) -> tuple[IntArray, IntArray]:
    """Return, for consecutive runs of `lengths`, each element's run and offset in the run.

    Example: lengths [2, 0, 3] give runs [0, 0, 2, 2, 2] and offsets [0, 1, 0, 1, 2].
    """
    runs = np.repeat(np.arange(len(lengths)), lengths)
    first = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=first[1:])
    return runs, np.arange(len(runs)) - first[runs]
