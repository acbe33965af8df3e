"""`--fail-under` and `--fail-on-lost`: what fails, and the exit status that says so."""

from __future__ import annotations

from dataclasses import dataclass, field

from coverage_collector.diff.run import DiffResult

BELOW, LOST, BOTH = 3, 4, 5
"""Exit statuses: coverage below --fail-under, coverage lost, both."""


@dataclass
class Gates:
    below: list[str] = field(default_factory=list)
    """What is under --fail-under: `total: 58.4%`, `<owner>: 55.1%`."""
    lost: int = 0
    """Statements that lost their coverage, when --fail-on-lost is given."""

    @property
    def exit_status(self) -> int:
        if self.below and self.lost:
            return BOTH
        return BELOW if self.below else LOST if self.lost else 0


def check(
    result: DiffResult, fail_under: float | None, fail_on_lost: bool, per_owner: bool
) -> Gates:
    """The head's total against `fail_under` (and, `per_owner`, every owner still running);
    any lost statement when `fail_on_lost`."""
    gates = Gates(lost=result.total.lost if fail_on_lost else 0)
    if fail_under is None:
        return gates
    if result.total.head.percent < fail_under:
        gates.below.append(f"total: {result.total.head.percent_text()}")
    if per_owner:
        gates.below += [
            f"{o.label}: {o.tally.head.percent_text()}"
            for o in result.owners
            if o.head_hash and o.tally.head.percent < fail_under
        ]
    return gates
