"""The counter-merging rules on single numbers (see `results`, which re-exports them):
plain Python, for the paths that merge a few counters without loading numpy."""

from __future__ import annotations

from coverage_collector.covdata.model import CounterMode

U64_MAX = (1 << 64) - 1


def merge_count(a: int, b: int, mode: CounterMode | int) -> int:
    """Return two counters merged: OR-ed in set mode (0 or 1), else summed, saturating at
    2**64 - 1."""
    if mode == CounterMode.SET:
        return int(bool(a or b))
    return min(a + b, U64_MAX)


def merged_mode(a: CounterMode | int, b: CounterMode | int) -> CounterMode:
    """Return the mode of data of modes `a` and `b` merged: the larger one (set < count <
    atomic), as covdata's `merge` and `percent` upgrade it."""
    return CounterMode(max(a, b))
