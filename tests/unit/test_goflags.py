"""`goflags` parses, quotes and prints as Go's `flag` and `strconv` do.

Every expected value below was printed by Go 1.27.3 (`strconv.ParseInt(s, 0, 64)`,
`strconv.Quote`, `flag.FlagSet.Parse` and `PrintDefaults` on the same inputs).
"""

from __future__ import annotations

import pytest

from coverage_collector import goflags
from coverage_collector.goflags import Flag, FlagKind

FLAGS = [
    Flag("live", "", FlagKind.BOOL),
    Flag("v", "", FlagKind.INT),
    Flag("o", ""),
]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("10", 10),
        ("-7", -7),
        ("+7", 7),
        ("0x1F", 31),
        ("0X1f", 31),
        ("0o17", 15),
        ("017", 15),
        ("0b101", 5),
        ("1_000", 1000),
        ("0x_1F", 31),
        ("0_7", 7),
        ("00", 0),
        ("9223372036854775807", 9223372036854775807),
        ("-9223372036854775808", -9223372036854775808),
    ],
)
def test_integers_parse_as_go(text: str, value: int) -> None:
    assert goflags.parse_int(text) == value


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("_1", "parse error"),
        ("1_", "parse error"),
        ("1__0", "parse error"),
        ("0x", "parse error"),
        ("0b", "parse error"),
        ("08", "parse error"),
        ("", "parse error"),
        ("-", "parse error"),
        ("1e3", "parse error"),
        ("\u0663", "parse error"),
        ("9223372036854775808", "value out of range"),
        ("-9223372036854775809", "value out of range"),
        ("99999999999999999999", "value out of range"),
        ("99999999999999999999x", "value out of range"),  # Go stops at the overflow
    ],
)
def test_integer_errors_are_gos(text: str, error: str) -> None:
    with pytest.raises(goflags.GoNumberError, match=f"^{error}$"):
        goflags.parse_int(text)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("abc", '"abc"'),
        ("caf\u00e9\t\x01", '"caf\u00e9\\t\\x01"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("\udcff\udcfe", '"\\xff\\xfe"'),  # invalid UTF-8 bytes, as argv carries them
        ("\u2028x\u00ad", '"\\u2028x\\u00ad"'),
        ("\U0001f600", '"\U0001f600"'),
        ("\x7f", '"\\x7f"'),
        ("\ufeff", '"\\ufeff"'),
        ("\U000e0001", '"\\U000e0001"'),
        ("\udced\udca0\udc80", '"\\xed\\xa0\\x80"'),  # an encoded surrogate is invalid
    ],
)
def test_quoting_is_gos(text: str, quoted: str) -> None:
    assert goflags.go_quote(text) == quoted


def test_defaults_print_as_gos() -> None:
    flags = [
        Flag("h", "one-letter bool", FlagKind.BOOL),
        Flag("live", "long bool", FlagKind.BOOL),
        Flag("v", "an int\nsecond line", FlagKind.INT),
        Flag("o", "a string"),
        Flag("Z", "capital"),
    ]
    assert goflags.print_defaults(flags) == (
        "  -Z string\n    \tcapital\n"
        "  -h\tone-letter bool\n"
        "  -live\n    \tlong bool\n"
        "  -o string\n    \ta string\n"
        "  -v int\n    \tan int\n    \tsecond line\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-live=maybe"], 'invalid boolean value "maybe" for -live: parse error'),
        (["-v"], "flag needs an argument: -v"),
        (["-v=x"], 'invalid value "x" for flag -v: parse error'),
        (["-=x"], "bad flag syntax: -=x"),
        (["---x"], "bad flag syntax: ---x"),
        (["-x"], "flag provided but not defined: -x"),
    ],
)
def test_flag_errors_are_gos(args: list[str], message: str) -> None:
    with pytest.raises(goflags.FlagError) as error:
        goflags.parse(args, FLAGS)
    assert error.value.message == message


@pytest.mark.parametrize("args", [["-help"], ["--h"], ["-h"], ["--help=1"]])
def test_help_is_asked_for_when_not_defined(args: list[str]) -> None:
    with pytest.raises(goflags.HelpRequestedError):
        goflags.parse(args, FLAGS)


@pytest.mark.parametrize(
    ("args", "live", "v", "o", "rest"),
    [
        (["--"], False, 0, "", []),
        (["-v", "1", "rest", "-o=x"], False, 1, "", ["rest", "-o=x"]),
        (["-", "-o=x"], False, 0, "", ["-", "-o=x"]),
        (["-live", "x"], True, 0, "", ["x"]),
        (["-o", "-v"], False, 0, "-v", []),
        (["--live=false", "--v=0x10", "-o=a=b", "--", "-x"], False, 16, "a=b", ["-x"]),
    ],
)
def test_values_and_rest_are_gos(
    args: list[str], live: bool, v: int, o: str, rest: list[str]
) -> None:
    parsed = goflags.parse(args, FLAGS)
    assert (parsed.boolean("live"), parsed.integer("v"), parsed.string("o")) == (live, v, o)
    assert parsed.args == rest


def test_every_command_has_go_flags_and_an_implementation() -> None:
    # The usage tables and the dispatch table name the same subcommands.
    from coverage_collector.covdata import commands, usage

    assert set(usage.COMMANDS) == set(commands.COMMANDS)
