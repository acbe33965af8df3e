"""The difference with a baseline collection (`cluster render --baseline`), as the report
shows it: plain rows and strings, no HTML.

`cluster diff` computes it (coverage_collector.diff.run); this module puts its numbers on
the index's owner rows, on the binary pages and, per line, on the source viewer:

* an index owner pairs with the diff's owner of the same namespace, owner type, owner
  name, binary name and head build (covmeta hash); owners only in the baseline are
  listed apart (`removed`);
* a binary page shows the roll-up of the head binary (`BinaryDiff`) and its files';
* each source line gets one category letter (`LINE_CATEGORIES`). When blocks of several
  categories touch one line, the first of this priority wins:
  lost > newly covered > new code (not covered > covered) > never covered > still covered,
  so a line shows what changed before what did not, and a loss before a gain.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from coverage_collector.covdata.arrays import run_offsets
from coverage_collector.covdata.model import MetaFile
from coverage_collector.diff.compare import LOST, NEVER_COVERED, NEWLY_COVERED, STILL_COVERED, Tally
from coverage_collector.diff.run import BinaryDiff, DiffOptions, DiffResult, diff
from coverage_collector.report.model import Change, FileRow, IndexData, OwnerChange, Tallies
from coverage_collector.results import Blocks, line_counts, points_text

LINE_CATEGORIES = {
    ".": "untracked",
    "s": "still covered",
    "v": "never covered",
    "c": "new code, covered",
    "u": "new code, not covered",
    "n": "newly covered",
    "l": "lost",
}
"""Per-line category letters, lowest priority first (the letter's index is its rank)."""
LETTERS = "".join(LINE_CATEGORIES)
_RANK = {STILL_COVERED: 1, NEVER_COVERED: 2, NEWLY_COVERED: 5, LOST: 6}
_NEW_COVERED, _NEW_UNCOVERED = 3, 4


def tallies(t: Tally, rebuilt: bool | None = None) -> Tallies:
    """A tally's numbers for the page (`rebuilt`: owners only)."""
    return Tallies(
        newly=t.newly_covered,
        lost=t.lost,
        still=t.still_covered,
        never=t.never_covered,
        new_code=t.new_code,
        new_covered=t.new_code_covered,
        removed=t.removed_code,
        base_statements=t.base_statements,
        base_covered=t.base_covered,
        rebuilt=rebuilt,
    )


def tally_summary(t: Tally) -> str:
    """One line: the category counts in statements."""
    return (
        f"newly covered {t.newly_covered} · lost {t.lost} · still covered {t.still_covered} "
        f"· never covered {t.never_covered} · new code {t.new_code_covered}/{t.new_code} "
        f"covered · removed {t.removed_code}"
    )


@dataclass(frozen=True, kw_only=True)
class Header:
    """What a page's header says about the baseline (the index: the whole collection; a
    binary page: the binary, `missing` when it is not in the comparison)."""

    name: str
    """The baseline's directory name."""
    base: str = "-"
    head: str = "-"
    delta: str = ""
    """In points, signed."""
    direction: str = ""
    summary: str = ""
    """The category counts in statements (`tally_summary`)."""
    missing: bool = False
    base_hash: str = ""
    """Binary pages: the baseline build compared with ('' for a new binary)."""
    rebuilt: bool = False


@dataclass(frozen=True)
class RemovedOwner:
    """An owner only in the baseline, listed apart on the index."""

    label: str
    binary: str
    hash: str
    percent: str
    statements: int


@dataclass(frozen=True)
class Comparison:
    """The diff of the rendered collection with a baseline, keyed as the report needs it."""

    name: str
    """The baseline's directory name (what the pages call it)."""
    result: DiffResult
    binaries: dict[str, BinaryDiff] = field(default_factory=dict)
    """Head covmeta hash -> the diff of that head binary."""
    removed: tuple[RemovedOwner, ...] = ()
    """Owners only in the baseline."""

    @classmethod
    def load(cls, collection: str, baseline: str) -> Comparison:
        result = diff(DiffOptions(collection, baseline))
        binaries: dict[str, BinaryDiff] = {}
        for binary in result.binaries:
            if binary.head_hash:
                binaries.setdefault(binary.head_hash, binary)
        removed = tuple(
            RemovedOwner(
                label=o.label,
                binary=o.binary_name,
                hash=o.base_hash,
                percent=o.tally.base.percent_text(),
                statements=o.tally.base_statements,
            )
            for o in result.owners
            if not o.head_hash
        )
        return cls(os.path.basename(os.path.abspath(baseline)), result, binaries, removed)

    @property
    def total(self) -> Tally:
        return self.result.total

    def header(self) -> Header:
        """What the index header says about the baseline."""
        t = self.total
        return Header(
            name=self.name,
            base=t.base.percent_text() if t.base_statements else "-",
            head=t.head.percent_text() if t.head_statements else "-",
            delta=points_text(t.delta),
            direction=direction(t.delta),
            summary=tally_summary(t),
        )

    def compare_index(self, index: IndexData) -> IndexData:
        """The index with the baseline's numbers on every owner row."""
        by_key = {
            (o.namespace, o.owner_type, o.owner_name, o.binary_name, o.head_hash): o
            for o in self.result.owners
            if o.head_hash
        }
        owners = []
        for owner in index.owners:
            head_hash = index.binaries[owner.binary_id].meta_hash
            found = by_key.get((owner.namespace, owner.type, owner.owner, owner.binary, head_hash))
            if found is None:  # not in the comparison (cannot happen for a whole collection)
                change = OwnerChange(0.0, "?", "", False, None, base=None, base_text="?")
            else:
                t = found.tally
                rebuilt = bool(found.base_hash) and found.base_hash != found.head_hash
                change = OwnerChange(
                    round(t.delta, 4),
                    points_text(t.delta),
                    direction(t.delta),
                    t.changed,
                    tallies(t, rebuilt),
                    base=t.base.percent_rounded(2) if found.base_hash else None,
                    base_text=t.base.percent_text() if found.base_hash else "new",
                )
            owners.append(replace(owner, change=change))
        return replace(index, owners=tuple(owners))

    def binary(self, meta_hash: str) -> BinaryDiff | None:
        return self.binaries.get(meta_hash)

    def compare_files(
        self, binary: BinaryDiff | None, files: tuple[FileRow, ...]
    ) -> tuple[FileRow, ...]:
        """The binary page's file rows with each file's delta and category counts."""
        by_path = {f.path: f.tally for f in binary.files} if binary else {}
        rows = []
        for file in files:
            t = by_path.get(file.path)
            change = (
                Change(0.0, "", "", False, None)
                if t is None
                else Change(
                    round(t.delta, 4),
                    points_text(t.delta),
                    direction(t.delta),
                    t.changed,
                    tallies(t),
                )
            )
            rows.append(replace(file, change=change))
        return tuple(rows)

    def binary_header(self, binary: BinaryDiff | None) -> Header:
        """What a binary page's header says about the baseline."""
        if binary is None:
            return Header(name=self.name, missing=True)
        t = binary.tally
        return Header(
            name=self.name,
            base_hash=binary.base_hash,
            rebuilt=bool(binary.base_hash) and binary.base_hash != binary.head_hash,
            base=t.base.percent_text() if binary.base_hash else "-",
            head=t.head.percent_text(),
            delta=points_text(t.delta),
            direction=direction(t.delta),
            summary=tally_summary(t),
        )

    def key(self, binary: BinaryDiff | None) -> list[Any]:
        """What a binary page depends on in the comparison (part of its input key)."""
        if binary is None:
            return [self.name, None]
        codes, bases = binary.unit_codes, binary.unit_base_counts
        digest = ""
        if codes is not None:
            hashed = hashlib.blake2b(np.ascontiguousarray(codes, dtype=np.int8).tobytes())
            if bases is not None:  # the lines' baseline counts are on the page too
                hashed.update(np.ascontiguousarray(bases, dtype=np.int64).tobytes())
            digest = hashed.hexdigest()
        return [
            self.name,
            binary.base_hash,
            asdict(binary.tally),
            [[f.path, asdict(f.tally)] for f in binary.files],
            digest,
        ]


def direction(points: float) -> str:
    """'up', 'down' or '' (no change at the precision shown)."""
    return "" if points_text(points) == "+0.0" else "up" if points > 0 else "down"


def line_categories(
    codes: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    start_line: npt.NDArray[np.int64],
    end_line: npt.NDArray[np.int64],
    n_lines: int,
) -> str:
    """Per line of a file, its category letter (see `LINE_CATEGORIES`), from the file's
    units' category codes (compare's, -1: new code), head counts and lines."""
    rank = np.zeros(n_lines, dtype=np.int64)
    if len(codes) and n_lines:
        unit_rank = np.where(counts != 0, _NEW_COVERED, _NEW_UNCOVERED)
        for code, value in _RANK.items():
            unit_rank = np.where(codes == code, value, unit_rank)
        first = np.clip(np.asarray(start_line, dtype=np.int64), 1, n_lines) - 1
        last = np.clip(np.asarray(end_line, dtype=np.int64), 1, n_lines) - 1
        owner, offset = run_offsets(np.maximum(last - first + 1, 0))
        np.maximum.at(rank, first[owner] + offset, unit_rank[owner])
    table = np.frombuffer(LETTERS.encode("ascii"), dtype=np.uint8)
    return table[rank].tobytes().decode("ascii")


def baseline_line_counts(
    meta: MetaFile, units: np.ndarray, binary_diff: BinaryDiff | None, n_lines: int
) -> list[int]:
    """Per line of a file (its application `units`), the baseline's count: the largest
    count of the matched baseline blocks touching it, -1 where none does (new code, or no
    block), by the one per-line rule (`results.line_counts`)."""
    bases = binary_diff.unit_base_counts if binary_diff is not None else None
    if bases is None:
        return [-1] * n_lines
    matched = units[bases[units] >= 0]
    blocks = Blocks.of(
        meta.start_line[matched],
        meta.start_col[matched],
        meta.end_line[matched],
        meta.end_col[matched],
        bases[matched],
    )
    return line_counts(blocks, n_lines).tolist()
