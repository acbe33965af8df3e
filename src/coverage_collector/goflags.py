"""Parse Go-style flags (`-i=dir`, `-i dir`, `--pkg=x`, `-pcombine`) for the covdata commands.

`go tool covdata` users type Go's flag syntax; this follows Go's `flag` package:
one or two dashes, `=` or a separate value, booleans only with `=`, parsing
stops at the first non-flag argument or at `--`.
"""

from __future__ import annotations

from dataclasses import dataclass

from coverage_collector.exceptions import UsageError


@dataclass(frozen=True)
class FlagSpec:
    """A flag a command accepts."""

    name: str
    help: str
    boolean: bool = False


def parse(args: list[str], specs: list[FlagSpec]) -> tuple[dict[str, str | bool], list[str]]:
    """Return the flag values and the remaining positional arguments of `args`.

    Raises UsageError for an undefined flag or a missing value.
    """
    by_name = {spec.name: spec for spec in specs}
    values: dict[str, str | bool] = {}
    rest = list(args)
    while rest:
        arg = rest[0]
        if len(arg) < 2 or arg[0] != "-":
            break
        rest.pop(0)
        if arg == "--":
            break
        name = arg[2:] if arg.startswith("--") else arg[1:]
        if not name or name[0] in "-=":
            raise UsageError(f"bad flag syntax: {arg}")
        name, has_value, value = name.partition("=")
        spec = by_name.get(name)
        if spec is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if spec.boolean:
            values[name] = _parse_bool(name, value) if has_value else True
        elif has_value:
            values[name] = value
        elif rest:
            values[name] = rest.pop(0)
        else:
            raise UsageError(f"flag needs an argument: -{name}")
    return values, rest


def _parse_bool(name: str, value: str) -> bool:
    truthy = {"1", "t", "T", "TRUE", "true", "True"}
    falsy = {"0", "f", "F", "FALSE", "false", "False"}
    if value in truthy:
        return True
    if value in falsy:
        return False
    raise UsageError(f'invalid boolean value "{value}" for -{name}')


def usage(command: str, specs: list[FlagSpec]) -> str:
    """Return a usage text listing `specs`."""
    lines = [f"usage: coverage-collector covdata {command} -i=<directories> [flags]", ""]
    for spec in specs:
        lines.append(f"  -{spec.name}" + ("" if spec.boolean else " value"))
        lines.append(f"\t{spec.help}")
    return "\n".join(lines) + "\n"
