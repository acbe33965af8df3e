"""A row dataclass as the values of its table's columns.

Writers declare their records as frozen dataclasses whose fields are the table's columns in
order, and pass `values(record)` to `execute`. Not `dataclasses.astuple`: it deep-copies
every value through a recursive walk, which made compile's store of about a million function
rows take a third of a reference-scale compile.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import fields
from typing import Any


@functools.cache
def _getter(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    names = [f.name for f in fields(cls)]
    if len(names) == 1:
        return lambda row: (getattr(row, names[0]),)
    return operator.attrgetter(*names)


def values(row: Any) -> tuple[Any, ...]:
    """The fields of dataclass `row` in declaration order, as a plain tuple (not copied)."""
    return _getter(type(row))(row)
