"""Which counter files are snapshots of one process (only its newest counts)."""

from __future__ import annotations

import numpy as np

from coverage_collector.gocoverdir.snapshots import CounterSnapshot, group_instances


def snap(pid: int, nanos: int, *counters: int) -> tuple[CounterSnapshot, np.ndarray]:
    name = f"covcounters.{'a' * 32}.{pid}.{nanos}"
    return CounterSnapshot(name, pid, nanos, b""), np.array(counters, dtype=np.uint64)


def grouped(*items: tuple[CounterSnapshot, np.ndarray]) -> list[tuple[str, str, int]]:
    counts = {s.name: c for s, c in items}
    found = group_instances([s for s, _ in items], counts)
    short = [(i.first, i.newest, i.superseded) for i in found]
    return [(f"{a.pid}.{a.nanos}", f"{b.pid}.{b.nanos}", n) for a, b, n in short]


def test_growing_snapshots_of_one_pid_are_one_process_in_any_file_order() -> None:
    # files listed out of order; the older copy (nanos 20) comes after the newer in the list
    items = (snap(1, 30, 5, 3, 0), snap(1, 10, 1, 0, 0), snap(1, 20, 2, 1, 0))
    assert grouped(*items) == [("1.10", "1.30", 2)]


def test_a_pid_reused_by_a_restart_is_a_new_process() -> None:
    # the second process ran code the first did not: neither dominates the other
    items = (snap(1, 10, 4, 4, 0), snap(1, 20, 1, 0, 2), snap(1, 30, 1, 1, 3))
    assert grouped(*items) == [("1.10", "1.10", 0), ("1.20", "1.30", 1)]


def test_an_older_copy_imported_after_the_newer_one_counts_nothing() -> None:
    # the entry holds the newest snapshot under the first one's name (nanos 10); an earlier
    # copy (nanos 15) arrives later: it is dominated, so it is the same process earlier
    items = (snap(7, 10, 9, 9), snap(7, 15, 3, 2))
    assert grouped(*items) == [("7.10", "7.10", 1)]


def test_different_pids_are_different_processes() -> None:
    items = (snap(2, 10, 1), snap(3, 5, 1), snap(2, 20, 2))
    assert grouped(*items) == [("2.10", "2.20", 1), ("3.5", "3.5", 0)]


def test_a_restart_that_dominates_its_predecessor_is_taken_for_it() -> None:
    # the documented limit: counts of the first run are then not added (coverage is right)
    items = (snap(1, 10, 1, 0), snap(1, 20, 2, 1))
    assert grouped(*items) == [("1.10", "1.20", 1)]
