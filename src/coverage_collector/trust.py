"""The trust boundary: values from a cluster are checked here, where they enter the tool.

Everything a cluster hands us is untrusted: S3 keys, `metadata.json`, `info.json`, image
labels, the names inside `covmeta` files, repository URLs. Each value is turned into a
typed, normalised value by one of these functions, or refused with an `UntrustedValueError`
error that names the field and the defect, so the caller can record it against the item
and go on with the rest:

- `text`: valid UTF-8 (no lone surrogates), no control characters, a length cap;
- `load_json_object`: a size cap, a nesting cap, no 5,000-digit integers or NaN;
- `clean_url`: credentials (user info, query, fragment) removed before anything stores,
  logs, renders, exports or ingests the URL;
- `file_component`: a file or directory name derived from a cluster string: safe
  characters, bounded length, and always a hash of the full string so that two strings
  never share one name.

And on the way out, `terminal` and `markdown` keep names inert in plain-text output.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MAX_TEXT = 1024
"""Characters in one cluster string (names, images, URLs); real values are far shorter."""
MAX_JSON_BYTES = 1 << 20
"""Bytes in one `metadata.json` / `info.json`; the producer writes a few hundred."""
MAX_JSON_DEPTH = 32
MAX_INTEGER_DIGITS = 20
"""Digits in a JSON integer: int64 and uint64 fit, a 5,000-digit number does not."""
COMPONENT_LENGTH = 80
"""Characters of the readable part of a derived file name (the hash comes on top)."""

_UNSAFE_COMPONENT = re.compile(r"[^A-Za-z0-9._-]+")
_URL_IN_TEXT = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
_MARKDOWN_SPECIAL = re.compile(r"([\\`|<>*_\[\]])")


class UntrustedValueError(ValueError):
    """A value from the cluster was refused; the message names the field and the defect."""

    def __init__(self, field: str, defect: str) -> None:
        super().__init__(f"{field}: {defect}")
        self.field = field
        self.defect = defect


def text(value: object, field: str, *, max_length: int = MAX_TEXT) -> str:
    """`value` as a checked string, or UntrustedValueError naming `field`.

    Refused: non-strings, lone surrogates (they cannot be stored or printed as UTF-8),
    control characters (C0, DEL, C1, and the bidirectional controls that reorder what a
    terminal or a browser shows), and strings over `max_length` characters.
    """
    if not isinstance(value, str):
        raise UntrustedValueError(field, f"expected a string, found {_json_type(value)}")
    if len(value) > max_length:
        raise UntrustedValueError(field, f"longer than {max_length} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UntrustedValueError(field, "invalid Unicode (a lone surrogate)") from None
    for char in value:
        if _is_control(char):
            raise UntrustedValueError(field, f"control character U+{ord(char):04X}")
    return value


def decode_text(raw: bytes, field: str, *, max_length: int = MAX_TEXT) -> str:
    """Bytes that must be UTF-8 text (a name inside a binary file) as checked text."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UntrustedValueError(field, f"not valid UTF-8 (byte {exc.start})") from None
    return text(decoded, field, max_length=max_length)


def _is_control(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return True
    # Format characters that change how text is displayed (bidi overrides and isolates).
    return category == "Cf" and unicodedata.bidirectional(char) in {
        "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"
    }  # fmt: skip


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def load_json_object(data: bytes, *, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """Decode a JSON object from cluster bytes; UntrustedValueError (field `json`) if refused.

    The nesting depth is checked before decoding (a 100k-deep document would otherwise
    exhaust the interpreter's stack), integers are limited to MAX_INTEGER_DIGITS digits,
    and NaN/Infinity, invalid UTF-8 and duplicate-free-but-not-an-object documents are
    refused. Strings inside are not checked here: fields are checked with `text` where
    they are used, so that a bad optional field does not refuse the whole document.
    """
    if len(data) > max_bytes:
        raise UntrustedValueError("json", f"larger than {max_bytes} bytes")
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UntrustedValueError("json", f"not valid UTF-8 (byte {exc.start})") from None
    depth = _nesting_depth(decoded)
    if depth > MAX_JSON_DEPTH:
        raise UntrustedValueError("json", f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(decoded, parse_int=_bounded_int, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise UntrustedValueError("json", f"malformed ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise UntrustedValueError("json", str(exc)) from None
    if not isinstance(value, dict):
        raise UntrustedValueError("json", f"expected an object, found {_json_type(value)}")
    return value


def _nesting_depth(document: str) -> int:
    """The deepest bracket nesting of `document`, ignoring brackets inside strings.

    Works on text that may not be valid JSON: the parser reports those defects.
    """
    depth = deepest = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', document):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(literal.lstrip('-'))} digits")
    return int(literal)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def clean_url(url: str) -> str:
    """`url` without credentials: user info, query string and fragment removed.

    Applied to every URL from the cluster or the command line before it is stored,
    logged, rendered, exported or ingested. An ssh URL keeps a plain user name (`git@`,
    which selects the account, not a secret) but never a password; `user@host:path`
    (scp-like) keeps its user. A value that is not a URL with a scheme is returned as is.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # an invalid port or a bracket mismatch: keep no user info at all
        scheme, _, rest = url.partition("://")
        rest = rest.split("?", 1)[0].split("#", 1)[0]
        return f"{scheme}://{rest.rpartition('@')[2]}"
    if ":" in host:
        host = f"[{host}]"
    user = ""
    if parts.scheme.lower() == "ssh" and parts.username:  # the account, with no password
        user = f"{parts.username}@"
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, "", ""))


def scrub(message: str) -> str:
    """Remove user info from every URL inside free text (a git or HTTP error message)."""
    return _URL_IN_TEXT.sub(r"\g<scheme>", message)


def file_component(value: str, *, length: int = COMPONENT_LENGTH) -> str:
    """A file or directory name for the cluster string `value`.

    Readable (unsafe characters become `_`, at most `length` of them) and unique: a
    short hash of the full string is always appended, so names that differ anywhere,
    even after `length` characters or only in unsafe characters, never collide.
    """
    readable = _UNSAFE_COMPONENT.sub("_", value)[:length].strip("._") or "_"
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"{readable}-{digest}"


def terminal(value: str) -> str:
    """`value` safe to print on a terminal: control characters shown as escapes."""
    if not any(_is_control(c) for c in value):
        return value
    return "".join(
        c.encode("unicode_escape").decode("ascii") if _is_control(c) else c for c in value
    )


def markdown(value: str) -> str:
    """`value` as inert markdown table-cell text: `|`, backticks, `<`, `>` and other
    markup escaped, line breaks and control characters shown as escapes."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", terminal(value.replace("\r\n", "\n")))
