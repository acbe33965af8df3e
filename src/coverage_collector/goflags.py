"""Parse command lines exactly as Go's `flag` package does, and print its messages.

`go tool covdata` users type Go's flag syntax and scripts grep Go's messages, so
this follows `flag.FlagSet.Parse` (Go 1.27) to the byte: one or two dashes, `=` or a
separate value (booleans only with `=`), parsing stops at the first non-flag
argument or after `--`, `-help`/`-h` ask for help unless the program defines them.
Values are parsed as `strconv` does (`ParseInt(s, 0, 64)`, `ParseBool`), and the
errors, `PrintDefaults` text and `%q` quoting are Go's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


def go_bytes(text: str) -> bytes:
    """Return the bytes Go sees for command-line argument `text` (argv is bytes)."""
    return text.encode("utf-8", "surrogateescape")


class FlagKind(Enum):
    """The Go flag types the covdata commands use; the value is PrintDefaults' type name."""

    BOOL = ""
    INT = "int"
    STRING = "string"


@dataclass(frozen=True)
class Flag:
    """One flag a command defines: `flag.Bool`, `flag.Int` or `flag.String` in Go."""

    name: str
    usage: str
    kind: FlagKind = FlagKind.STRING


class FlagError(Exception):
    """A command line Go's `flag` package rejects; `message` is the line Go prints
    before the usage text (exit status 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HelpRequestedError(Exception):
    """`-help` or `-h` given to a program that doesn't define it: Go prints the usage."""


@dataclass
class ParsedFlags:
    """Flag values after parsing, with Go's zero values for flags not given."""

    values: dict[str, str | int | bool] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    """The arguments left after the flags (Go's `flag.Args()`)."""

    def string(self, name: str) -> str:
        return str(self.values.get(name, ""))

    def integer(self, name: str) -> int:
        value = self.values.get(name, 0)
        return value if isinstance(value, int) else 0

    def boolean(self, name: str) -> bool:
        return self.values.get(name, False) is True


def parse(args: list[str], flags: list[Flag]) -> ParsedFlags:
    """Parse `args` against `flags` as `flag.FlagSet.Parse` does.

    Raises `FlagError` with Go's message for a bad command line, `HelpRequestedError`
    for an undefined `-h`/`-help`. Returns the values and the remaining arguments.
    """
    by_name = {flag.name: flag for flag in flags}
    parsed = ParsedFlags()
    rest = list(args)
    while rest:
        arg = rest[0]
        if len(arg) < 2 or arg[0] != "-":
            break
        if arg == "--":
            rest.pop(0)
            break
        name = arg[2:] if arg[1] == "-" else arg[1:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        rest.pop(0)
        name, has_value, value = name.partition("=")
        flag = by_name.get(name)
        if flag is None:
            if name in ("help", "h"):
                raise HelpRequestedError
            raise FlagError(f"flag provided but not defined: -{name}")
        if flag.kind is FlagKind.BOOL:
            parsed.values[name] = _bool_value(name, value) if has_value else True
            continue
        if not has_value:
            if not rest:
                raise FlagError(f"flag needs an argument: -{name}")
            value = rest.pop(0)
        parsed.values[name] = _int_value(name, value) if flag.kind is FlagKind.INT else value
    parsed.args = rest
    return parsed


def _bool_value(name: str, value: str) -> bool:
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise FlagError(f"invalid boolean value {go_quote(value)} for -{name}: parse error")


def _int_value(name: str, value: str) -> int:
    try:
        return parse_int(value)
    except GoNumberError as exc:
        raise FlagError(f"invalid value {go_quote(value)} for flag -{name}: {exc}") from None


class GoNumberError(ValueError):
    """`strconv.ParseInt` failed; the text is what `flag` prints ("parse error",
    "value out of range")."""


_INT64_LIMIT = 1 << 63
_UINT64_MAX = (1 << 64) - 1


def parse_int(text: str) -> int:
    """Return `text` as `strconv.ParseInt(text, 0, 64)` reads it: a sign, a `0x`,
    `0o`, `0b` or `0` prefix, `_` between digits. Raises `GoNumberError`."""
    raw = go_bytes(text).decode("latin-1")  # Go looks at bytes; non-ASCII is a syntax error
    negative = raw[:1] == "-"
    digits = raw[1:] if raw[:1] in ("+", "-") else raw
    magnitude = _parse_uint(digits)
    if magnitude is None or magnitude >= _INT64_LIMIT + (1 if negative else 0):
        raise GoNumberError("value out of range")
    return -magnitude if negative else magnitude


def _parse_uint(text: str) -> int | None:
    """`strconv.ParseUint(text, 0, 64)`; None for a value out of range."""
    if not text:
        raise GoNumberError("parse error")
    base, body = 10, text
    if text[0] == "0":
        prefix = text[1:2].lower()
        if len(text) >= 3 and prefix in ("b", "o", "x"):
            base, body = {"b": 2, "o": 8, "x": 16}[prefix], text[2:]
        else:
            base, body = 8, text[1:]
    value = 0
    underscores = False
    for char in body:
        if char == "_":
            underscores = True
            continue
        digit = _digit(char)
        if digit is None or digit >= base:
            raise GoNumberError("parse error")
        value = value * base + digit
        if value > _UINT64_MAX:
            return None  # Go stops at the first overflow: later bad digits go unseen
    if underscores and not _underscores_ok(text):
        raise GoNumberError("parse error")
    return value


def _digit(char: str) -> int | None:
    if "0" <= char <= "9":
        return ord(char) - ord("0")
    lower = char.lower()
    if len(lower) == 1 and "a" <= lower <= "z":
        return ord(lower) - ord("a") + 10
    return None


def _underscores_ok(text: str) -> bool:
    """strconv's underscoreOK: `_` only between digits (or after a base prefix)."""
    saw, index, hexadecimal = "^", 0, False
    if len(text) >= 2 and text[0] == "0" and text[1].lower() in ("b", "o", "x"):
        saw, index, hexadecimal = "0", 2, text[1].lower() == "x"
    for char in text[index:]:
        if char.isascii() and (char.isdigit() or (hexadecimal and char.lower() in "abcdef")):
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def print_defaults(flags: list[Flag]) -> str:
    """Return what `flag.PrintDefaults` prints for `flags` (all at their zero value)."""
    lines = []
    for flag in sorted(flags, key=lambda f: go_bytes(f.name)):
        head = f"  -{flag.name}" + (f" {flag.kind.value}" if flag.kind.value else "")
        usage = flag.usage.replace("\n", "\n    \t")
        # Go puts the usage of a one-letter boolean on the same line.
        lines.append(f"{head}\t{usage}" if len(head) <= 4 else f"{head}\n    \t{usage}")
    return "".join(f"{line}\n" for line in lines)


_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def go_quote(text: str) -> str:
    """Return `text` quoted as Go's `%q` (`strconv.Quote`) quotes a string: invalid
    UTF-8 bytes as `\\xNN`, unprintable runes escaped, the rest as is."""
    data = go_bytes(text)
    out = ['"']
    index = 0
    while index < len(data):
        rune, size = _decode_rune(data, index)
        index += size
        if rune is None:
            out.append(f"\\x{data[index - 1]:02x}")
        elif rune in ('"', "\\"):
            out.append("\\" + rune)
        elif rune.isprintable():
            out.append(rune)
        elif ord(rune) in _ESCAPES:
            out.append(_ESCAPES[ord(rune)])
        elif ord(rune) < 0x20 or ord(rune) == 0x7F:
            out.append(f"\\x{ord(rune):02x}")
        elif ord(rune) < 0x10000:
            out.append(f"\\u{ord(rune):04x}")
        else:
            out.append(f"\\U{ord(rune):08x}")
    out.append('"')
    return "".join(out)


def _decode_rune(data: bytes, index: int) -> tuple[str | None, int]:
    """Return the UTF-8 rune at `data[index]` and its length; (None, 1) for a bad byte."""
    lead = data[index]
    size = 1 if lead < 0x80 else 2 if lead >> 5 == 6 else 3 if lead >> 4 == 14 else 4
    try:
        return data[index : index + size].decode("utf-8"), size
    except UnicodeDecodeError:
        return None, 1
