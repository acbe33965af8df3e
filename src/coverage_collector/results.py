"""What the counters mean: coverage numbers, the one percent rule, counter merging and
per-line counts, shared by compile, the report, the exports, BigQuery, diff and summary.

**The percent rule.** A percentage is `100 * covered / statements` computed once, as an
IEEE double in that order (0.0 when there are no statements), and never rounded before it
is shown. An output shows it with a fixed number of decimals by rounding that double's
exact value to the nearest, ties to even: what Python's `format(p, ".1f")` and `round(p, 1)`
do, what Go's `%.1f` does (so the figures agree with `go tool covdata percent` and `func`),
and what `fixed()` does in the report's script. Exact ties are rare: 1 of 16 statements is
6.25%, shown as 6.2% (JavaScript's `toFixed` alone would say 6.3%). Text (terminal,
markdown, the report's pages) shows one decimal; JSON carries two (`summary`, the JSON
export, `diff`), the report's page data one. Comparisons (`--fail-under`) and differences
in points use the unrounded value. `Numbers` carries the figures; `points_text` shows a
difference.

**Counter merging** follows covdata (go-coverage-format.md §4.2) with 64-bit counters:
counters of different process instances are summed, saturating at 2**64 - 1 (never
wrapping; covdata's own outputs saturate at 2**32 - 1 on top of that, in covdata/); in
set mode they are OR-ed (0 or 1); merging two modes gives the larger (set < count <
atomic). `merge_counts` merges aligned vectors, `merge_runs` runs of a sorted vector (the
same block in several builds), `merge_count` two numbers (`countrules`: no numpy).
covdata's batch sums (fastmerge), unit table (profile) and small inputs (small) merge through
them too; its per-record merges (`merge -pcombine`,
`subtract`) keep their own 32-bit arithmetic, cheaper on short records.

**Per-line counts.** A line's count is the largest count of the blocks that touch it, -1
when none does (`line_counts`); counts beyond 2**63 - 1 show as 2**63 - 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from coverage_collector.countrules import U64_MAX, merge_count, merged_mode  # noqa: F401 - re-exported: the rules on single numbers
from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.covdata.model import CounterMode

INT64_MAX = (1 << 63) - 1
UNTRACKED = -1
"""The count of a line no block touches."""

U64Array = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Numbers:
    """Statements, covered statements and executions of anything from one function to a
    whole collection; `+` and `sum()` roll them up."""

    statements: int = 0
    covered: int = 0
    executions: int = 0
    """Calls of the functions counted (their entry blocks' counters), where known."""

    @cached_property
    def percent(self) -> float:
        """Covered statements in percent, unrounded (0.0 without statements)."""
        return 100.0 * self.covered / self.statements if self.statements else 0.0

    def percent_rounded(self, digits: int) -> float:
        """Return `percent` rounded to `digits` decimals (the rule), for JSON."""
        return round(self.percent, digits)

    def percent_text(self, digits: int = 1) -> str:
        """Return `percent` with `digits` decimals and a percent sign: "73.4%"."""
        return f"{self.percent:.{digits}f}%"

    def __add__(self, other: Numbers) -> Numbers:
        return Numbers(
            self.statements + other.statements,
            self.covered + other.covered,
            self.executions + other.executions,
        )

    def __radd__(self, other: int) -> Numbers:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented


def points_text(points: float) -> str:
    """Return a difference in coverage points with its sign and one decimal: "+1.3", and
    "+0.0" for any change too small to show (never "-0.0")."""
    text = f"{points:+.1f}"
    return "+0.0" if text == "-0.0" else text


# --------------------------------------------------------------------------------------------
# Counter merging


def merge_counts(vectors: Iterable[np.ndarray], mode: CounterMode | int) -> U64Array:
    """Return the merge of counter `vectors` aligned unit by unit (an empty vector when
    there are none): OR-ed in set mode, else summed, saturating at 2**64 - 1.

    `vectors` may be a generator: only the running total and the vector at hand are held,
    however many there are (a binary's entries across many clusters)."""
    merge = CountsMerge(mode)
    for vector in vectors:
        merge.add(vector)
    return merge.total


class CountsMerge:
    """A merge of aligned counter vectors given one at a time (see `merge_counts`): the
    order never matters (saturating sums and ORs are associative and commutative), so a
    merge of merges is the merge of all their vectors."""

    def __init__(self, mode: CounterMode | int) -> None:
        self.mode = mode
        self._total: U64Array | None = None

    def add(self, vector: np.ndarray) -> None:
        """Merge `vector` into the total (the first one sets its length)."""
        if self._total is None:
            self._total = np.zeros(len(vector), dtype=np.uint64)
        add_counts(self._total, vector, self.mode)

    @property
    def total(self) -> U64Array:
        """The merge so far: an empty vector before the first `add`."""
        return np.zeros(0, dtype=np.uint64) if self._total is None else self._total


def add_counts(total: U64Array, vector: npt.ArrayLike, mode: CounterMode | int) -> None:
    """Merge the counters `vector` into `total` in place (see `merge_counts`)."""
    if mode == CounterMode.SET:
        total[np.not_equal(vector, 0)] = 1  # OR-ed: `total` holds only 0 and 1
        return
    values = np.asarray(vector, dtype=np.uint64)
    np.add(total, values, out=total)
    wrapped = total < values
    if wrapped.any():
        total[wrapped] = U64_MAX


def merge_runs(counts: npt.ArrayLike, starts: npt.ArrayLike, mode: CounterMode | int) -> U64Array:
    """Return one merged counter per run of `counts`, the runs beginning at the ascending
    indexes `starts` (the first must be 0): OR-ed in set mode, else summed, saturating at
    2**64 - 1."""
    values = np.asarray(counts, dtype=np.uint64)
    first = np.asarray(starts, dtype=np.int64)
    if not len(first):
        return np.zeros(0, dtype=np.uint64)
    if mode == CounterMode.SET:
        return (np.maximum.reduceat(values, first) != 0).astype(np.uint64)
    if int(values.max()) <= U64_MAX // len(values):  # no run can reach 2**64
        return np.add.reduceat(values, first)
    # Exact: sum the high and low 32-bit halves apart (neither can wrap), then recombine.
    half = np.uint64(32)
    low = np.add.reduceat(values & np.uint64(0xFFFFFFFF), first)
    high = np.add.reduceat(values >> half, first) + (low >> half)
    total = (high << half) | (low & np.uint64(0xFFFFFFFF))
    return np.where(high >> half != 0, np.uint64(U64_MAX), total)


# --------------------------------------------------------------------------------------------
# Per-line counts


def int64_counts(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Return `counts` as int64, those beyond 2**63 - 1 as 2**63 - 1 (SQLite, BigQuery and
    JSON readers hold signed 64-bit integers)."""
    values = np.asarray(counts)
    if values.dtype == np.uint64:
        values = np.minimum(values, np.uint64(INT64_MAX))
    return values.astype(np.int64)


@dataclass(frozen=True)
class Blocks:
    """The coverage blocks of one file, sorted by start position (line, byte column)."""

    start_line: npt.NDArray[np.int64]
    start_col: npt.NDArray[np.int64]
    end_line: npt.NDArray[np.int64]
    end_col: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]

    @classmethod
    def of(
        cls,
        start_line: npt.ArrayLike,
        start_col: npt.ArrayLike,
        end_line: npt.ArrayLike,
        end_col: npt.ArrayLike,
        counts: npt.ArrayLike,
    ) -> Blocks:
        """Build from parallel sequences (any order); sorted as cover sorts them."""
        columns = [
            np.asarray(c, dtype=np.int64) for c in (start_line, start_col, end_line, end_col)
        ]
        columns.append(int64_counts(counts))
        order = block_order(columns[0], columns[1])
        return cls(*(c[order] for c in columns))

    def __len__(self) -> int:
        return len(self.counts)


def block_order(start_line: npt.ArrayLike, start_col: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Return the permutation that sorts blocks as cover sorts them: by start line, then
    start column, ties in their given order (`Blocks.of`; the report's per-owner data files
    name blocks by their position in this order)."""
    return np.lexsort((np.asarray(start_col), np.asarray(start_line)))


def line_counts(blocks: Blocks, n_lines: int) -> npt.NDArray[np.int64]:
    """Return per line (index 0 is line 1) the largest count of the blocks touching it, or
    `UNTRACKED`."""
    return LineMap.of(blocks.start_line, blocks.end_line, n_lines).counts(blocks.counts)


@dataclass(frozen=True)
class LineMap:
    """Which lines each block touches (its start to its end line, cut to `n_lines`): built
    once, it gives the per-line counts of many counter vectors of the same blocks (the report
    computes a binary's lines for each of its owners and their entries)."""

    n_lines: int
    line: npt.NDArray[np.int64]
    """Per (block, line touched) pair: the line's index."""
    block: npt.NDArray[np.int64]
    """Per pair: the block's index."""

    @classmethod
    def of(cls, start_line: npt.ArrayLike, end_line: npt.ArrayLike, n_lines: int) -> LineMap:
        if not n_lines:
            empty = np.zeros(0, dtype=np.int64)
            return cls(0, empty, empty)
        first = np.clip(np.asarray(start_line, dtype=np.int64), 1, n_lines) - 1
        last = np.clip(np.asarray(end_line, dtype=np.int64), 1, n_lines) - 1
        block, offset = run_offsets(np.maximum(last - first + 1, 0))
        return cls(n_lines, first[block] + offset, block)

    def counts(self, counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Return per line the largest of `counts` (per block) of the blocks touching it,
        or `UNTRACKED`."""
        result = np.full(self.n_lines, UNTRACKED, dtype=np.int64)
        np.maximum.at(result, self.line, int64_counts(counts)[self.block])
        return result

    def executed(self, counts: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Return per line whether a block touching it has a count (`counts(...) > 0`,
        without the per-element maximum)."""
        result = np.zeros(self.n_lines, dtype=bool)
        result[self.line[np.asarray(counts)[self.block] != 0]] = True
        return result
