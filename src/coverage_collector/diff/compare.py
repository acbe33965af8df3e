"""Unit-by-unit comparison of one binary's counters in two collections.

The same build (same covmeta hash) compares unit by unit. Two builds of one owner's binary
are matched by package, file, function and the unit's position inside its function (lines
relative to the function's first unit, columns, statements): a function that moved in its
file still matches, a changed one matches only where its blocks are unchanged. A key that
occurs twice in a build (it cannot tell its units apart) matches nothing. Unmatched units
are new code (head) or removed code (baseline), never paired by guess.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from coverage_collector.compile.store import BinaryModel
from coverage_collector.results import Numbers, int64_counts

CATEGORIES = (
    "newly_covered",
    "lost",
    "still_covered",
    "never_covered",
    "new_code",
    "removed_code",
)
"""Statement categories, in the spirit of genhtml's differential coverage."""

NEWLY_COVERED, LOST, STILL_COVERED, NEVER_COVERED, NEW_CODE, NEW_CODE_COVERED, REMOVED = range(7)
"""Per-unit category codes (head units; removed code is counted on baseline units)."""


@dataclass
class Tally:
    """Statements per category, and coverage on both sides."""

    newly_covered: int = 0
    lost: int = 0
    still_covered: int = 0
    never_covered: int = 0
    new_code: int = 0
    new_code_covered: int = 0
    removed_code: int = 0
    head_statements: int = 0
    head_covered: int = 0
    base_statements: int = 0
    base_covered: int = 0

    def add(self, other: Tally) -> Tally:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    @property
    def head(self) -> Numbers:
        return Numbers(self.head_statements, self.head_covered)

    @property
    def base(self) -> Numbers:
        return Numbers(self.base_statements, self.base_covered)

    @property
    def delta(self) -> float:
        """Difference in coverage points, head minus baseline (unrounded)."""
        return self.head.percent - self.base.percent

    @property
    def changed(self) -> bool:
        return bool(self.newly_covered or self.lost or self.new_code or self.removed_code)


def unit_keys(model: BinaryModel) -> list[tuple[object, ...] | None]:
    """Per unit: its matching key across builds, or None for units outside the application
    and for keys that occur more than once."""
    meta = model.meta
    packages = [p.path for p in meta.packages]
    first_line = meta.start_line[meta.func_units[:-1]] if meta.n_funcs else meta.start_line[:0]
    keys: list[tuple[object, ...] | None] = []
    for unit, func in enumerate(meta.unit_func.tolist()):
        if not model.app[unit]:
            keys.append(None)
            continue
        base = int(first_line[func])
        keys.append(
            (
                packages[int(meta.func_pkg[func])],
                meta.strings[int(meta.func_file[func])],
                meta.strings[int(meta.func_name[func])],
                int(meta.start_line[unit]) - base,
                int(meta.start_col[unit]),
                int(meta.end_line[unit]) - base,
                int(meta.end_col[unit]),
                int(meta.stmts[unit]),
            )
        )
    seen: dict[tuple[object, ...], int] = {}
    for key in keys:
        if key is not None:
            seen[key] = seen.get(key, 0) + 1
    return [key if key is not None and seen[key] == 1 else None for key in keys]


@dataclass(frozen=True)
class UnitMatch:
    """Head unit -> baseline unit (-1: new code), and the baseline units nothing matched."""

    head_to_base: np.ndarray
    removed: np.ndarray
    """Per baseline unit: whether it is removed code."""


def match_units(head: BinaryModel, base: BinaryModel, same_build: bool) -> UnitMatch:
    if same_build:
        units = np.arange(head.meta.n_units)
        return UnitMatch(np.where(head.app, units, -1), np.zeros(base.meta.n_units, dtype=bool))
    base_index = {key: i for i, key in enumerate(unit_keys(base)) if key is not None}
    head_to_base = np.array(
        [base_index.get(key, -1) if key is not None else -1 for key in unit_keys(head)],
        dtype=np.int64,
    )
    head_to_base[~head.app] = -1
    matched = np.zeros(base.meta.n_units, dtype=bool)
    matched[head_to_base[head_to_base >= 0]] = True
    return UnitMatch(head_to_base, base.app & ~matched)


def baseline_counts(match: UnitMatch, base_counts: np.ndarray) -> np.ndarray:
    """Per head unit, the count of the baseline unit it matched (int64, counts beyond
    2**63 - 1 as 2**63 - 1); -1 for new code and units outside the application."""
    mapped = match.head_to_base >= 0
    out = np.full(len(match.head_to_base), -1, dtype=np.int64)
    out[mapped] = int64_counts(base_counts[match.head_to_base[mapped]])
    return out


def unit_categories(
    match: UnitMatch, head_counts: np.ndarray, base_counts: np.ndarray
) -> np.ndarray:
    """Per head unit, its category code (-1 outside the application)."""
    mapped = match.head_to_base >= 0
    head_hit = head_counts != 0
    base_hit = np.zeros(len(head_counts), dtype=bool)
    base_hit[mapped] = base_counts[match.head_to_base[mapped]] != 0
    codes = np.full(len(head_counts), -1, dtype=np.int64)
    codes[mapped & head_hit & ~base_hit] = NEWLY_COVERED
    codes[mapped & ~head_hit & base_hit] = LOST
    codes[mapped & head_hit & base_hit] = STILL_COVERED
    codes[mapped & ~head_hit & ~base_hit] = NEVER_COVERED
    return codes


def tally(
    head: BinaryModel | None,
    base: BinaryModel | None,
    head_counts: np.ndarray | None,
    base_counts: np.ndarray | None,
    match: UnitMatch | None,
    head_units: np.ndarray | None = None,
    base_units: np.ndarray | None = None,
    codes: np.ndarray | None = None,
) -> Tally:
    """Statements per category over the given units (default: all application units) of a
    head build, a baseline build, or a matched pair (`codes`: the pair's unit_categories,
    when already known)."""
    result = Tally()
    if head is not None and head_counts is not None:
        units = np.flatnonzero(head.app) if head_units is None else head_units
        stmts = head.meta.stmts.astype(np.int64)[units]
        hit = head_counts[units] != 0
        if codes is None and match is not None and base_counts is not None:
            codes = unit_categories(match, head_counts, base_counts)
        unit_codes = codes[units] if codes is not None else np.full(len(units), -1)
        result.head_statements = int(stmts.sum())
        result.head_covered = int(stmts[hit].sum())
        result.newly_covered = int(stmts[unit_codes == NEWLY_COVERED].sum())
        result.lost = int(stmts[unit_codes == LOST].sum())
        result.still_covered = int(stmts[unit_codes == STILL_COVERED].sum())
        result.never_covered = int(stmts[unit_codes == NEVER_COVERED].sum())
        new = unit_codes == -1
        result.new_code = int(stmts[new].sum())
        result.new_code_covered = int(stmts[new & hit].sum())
    if base is not None and base_counts is not None:
        units = np.flatnonzero(base.app) if base_units is None else base_units
        stmts = base.meta.stmts.astype(np.int64)
        result.base_statements = int(stmts[units].sum())
        result.base_covered = int(stmts[units][base_counts[units] != 0].sum())
        removed = units if match is None else units[match.removed[units]]
        result.removed_code = int(stmts[removed].sum())
    return result
