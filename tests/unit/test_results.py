"""The results layer: the percent rule, roll-ups, counter merging and per-line counts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from coverage_collector.covdata.model import CounterMode
from coverage_collector.covdata.textreport import pct as covdata_percent
from coverage_collector.results import (
    INT64_MAX,
    U64_MAX,
    Blocks,
    CountsMerge,
    Numbers,
    int64_counts,
    line_counts,
    merge_count,
    merge_counts,
    merge_runs,
    merged_mode,
    points_text,
)

SMALL_FRACTIONS = [(c, s) for s in range(1, 130) for c in range(s + 1)]


# --------------------------------------------------------------------------------------------
# The percent rule


def test_exact_ties_round_to_even() -> None:
    # 1/16 = 6.25% and 3/16 = 18.75% are exact doubles halfway between two tenths.
    assert Numbers(16, 1).percent == 6.25
    assert Numbers(16, 1).percent_text() == "6.2%"
    assert Numbers(16, 3).percent_text() == "18.8%"
    assert Numbers(8, 1).percent_text() == "12.5%"
    assert Numbers(8, 1).percent_text(0) == "12%"
    assert Numbers(8, 3).percent_text(0) == "38%"
    assert Numbers(800, 1).percent_rounded(2) == 0.12  # 0.125% is an exact tie


def test_no_statements_is_zero_percent() -> None:
    assert Numbers().percent == 0.0
    assert Numbers(0, 0, 7).percent_text() == "0.0%"
    assert Numbers(0, 0).percent_rounded(2) == 0.0


def test_percent_is_the_unrounded_double() -> None:
    # Comparisons (--fail-under) see 79.96..., not the 80.0 that is shown.
    numbers = Numbers(2501, 2000)
    assert numbers.percent == 100.0 * 2000 / 2501
    assert numbers.percent < 80
    assert numbers.percent_text() == "80.0%"


def test_json_and_text_show_the_same_tenths() -> None:
    # The report's page data (round to 1) and its text (format with 1) never disagree.
    for covered, statements in SMALL_FRACTIONS:
        numbers = Numbers(statements, covered)
        assert f"{numbers.percent_rounded(1)}%" == numbers.percent_text(), (covered, statements)


def test_text_matches_covdata_formatting() -> None:
    # covdata's `func` percentages are byte-identical to Go's %.1f (test_covdata_oracle).
    for covered, statements in SMALL_FRACTIONS:
        assert Numbers(statements, covered).percent_text() == covdata_percent(covered, statements)


def test_numbers_roll_up_with_plus_and_sum() -> None:
    parts = [Numbers(10, 5, 3), Numbers(6, 1, 2), Numbers(0, 0, 0)]
    total = sum(parts, Numbers())
    assert total == Numbers(16, 6, 5)
    assert sum(parts) == total
    assert total.percent == 37.5  # from the totals, not an average of percentages
    assert parts[0] + parts[1] == total


def test_numbers_are_frozen() -> None:
    numbers = Numbers(3, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        numbers.covered = 2  # type: ignore[misc]


def test_points_never_show_minus_zero() -> None:
    assert points_text(-0.04) == "+0.0"
    assert points_text(0.0) == "+0.0"
    assert points_text(1.25) == "+1.2"
    assert points_text(-1.25) == "-1.2"
    assert points_text(-0.06) == "-0.1"


# --------------------------------------------------------------------------------------------
# Counter merging


def test_set_mode_is_or_ed() -> None:
    merged = merge_counts([np.array([1, 0, 5, 0]), np.array([0, 0, 1, 1])], CounterMode.SET)
    assert merged.tolist() == [1, 0, 1, 1]
    assert merged.dtype == np.uint64


def test_count_mode_sums_in_64_bits() -> None:
    u32 = np.array([0xFFFFFFFF, 3], dtype=np.uint64)
    merged = merge_counts([u32, u32, u32], CounterMode.COUNT)
    assert merged.tolist() == [3 * 0xFFFFFFFF, 9]  # no 32-bit saturation here
    assert merge_counts([], CounterMode.ATOMIC).tolist() == []


def test_sums_saturate_at_2_64_and_never_wrap() -> None:
    half = np.array([1 << 63, U64_MAX - 1, 5], dtype=np.uint64)
    merged = merge_counts([half, np.array([1 << 63, 1, 6], dtype=np.uint64)], CounterMode.COUNT)
    assert merged.tolist() == [U64_MAX, U64_MAX, 11]
    again = merge_counts([merged, np.array([7, 0, 0], dtype=np.uint64)], CounterMode.COUNT)
    assert again.tolist() == [U64_MAX, U64_MAX, 11]


@pytest.mark.parametrize("mode", [CounterMode.SET, CounterMode.COUNT, CounterMode.ATOMIC])
def test_a_merge_of_merges_is_the_merge_of_all(mode: CounterMode) -> None:
    # Compile merges a binary's owners' merges, not its entries: the same numbers, in
    # any order, saturation included; a generator is merged one vector at a time.
    rng = np.random.default_rng(16)
    vectors = [rng.integers(0, 4, 6, dtype=np.uint64) for _ in range(9)]
    vectors.append(np.array([U64_MAX - 2, 0, 0, 0, 0, 1], dtype=np.uint64))
    whole = merge_counts(vectors, mode)
    parts = [merge_counts(vectors[i : i + 4], mode) for i in range(0, len(vectors), 4)]
    merge = CountsMerge(mode)
    for part in reversed(parts):
        merge.add(part)
    assert merge.total.tolist() == whole.tolist()
    assert merge_counts((v for v in vectors), mode).tolist() == whole.tolist()
    assert CountsMerge(mode).total.tolist() == []


def test_runs_merge_like_vectors() -> None:
    counts = np.array([1, 2, 0, 4, 0], dtype=np.uint64)
    assert merge_runs(counts, [0, 2, 4], CounterMode.COUNT).tolist() == [3, 4, 0]
    assert merge_runs(counts, [0, 2, 4], CounterMode.SET).tolist() == [1, 1, 0]
    assert merge_runs(counts[:0], [], CounterMode.COUNT).tolist() == []


def test_runs_near_2_63_and_2_64() -> None:
    big = np.array([INT64_MAX, 1, 1 << 63, 1 << 63, U64_MAX, U64_MAX, U64_MAX, 5], dtype=np.uint64)
    merged = merge_runs(big, [0, 2, 4, 7], CounterMode.COUNT)
    assert merged.tolist() == [1 << 63, U64_MAX, U64_MAX, 5]


def test_two_counters_merge() -> None:
    assert merge_count(0, 3, CounterMode.SET) == 1
    assert merge_count(0, 0, CounterMode.SET) == 0
    assert merge_count(2, 3, CounterMode.COUNT) == 5
    assert merge_count(U64_MAX, 1, CounterMode.ATOMIC) == U64_MAX


def test_merged_mode_is_the_larger() -> None:
    assert merged_mode(CounterMode.SET, CounterMode.SET) == CounterMode.SET
    assert merged_mode(CounterMode.SET, CounterMode.COUNT) == CounterMode.COUNT
    assert merged_mode(CounterMode.ATOMIC, CounterMode.COUNT) == CounterMode.ATOMIC


# --------------------------------------------------------------------------------------------
# Per-line counts


def test_line_counts_take_the_largest_block_on_each_line() -> None:
    blocks = Blocks.of([1, 2, 5], [2, 5, 1], [3, 2, 5], [4, 9, 3], [0, 7, 2])
    assert line_counts(blocks, 6).tolist() == [0, 7, 0, -1, 2, -1]
    assert line_counts(blocks, 0).tolist() == []


def test_counts_beyond_int64_show_as_int64_max() -> None:
    huge = np.array([U64_MAX, 1 << 63, 3], dtype=np.uint64)
    assert int64_counts(huge).tolist() == [INT64_MAX, INT64_MAX, 3]
    blocks = Blocks.of([1, 2, 3], [1, 1, 1], [1, 2, 3], [9, 9, 9], huge)
    assert line_counts(blocks, 3).tolist() == [INT64_MAX, INT64_MAX, 3]
