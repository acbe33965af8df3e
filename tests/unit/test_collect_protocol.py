"""A coverage server's answers are untrusted: identity headers and snapshot bodies are
checked where they enter (`collect.protocol`)."""

from __future__ import annotations

import base64
import json

import pytest

from coverage_collector.collect.protocol import (
    ProtocolError,
    ServerIdentity,
    parse_identity,
    parse_snapshot,
)

H = "0123456789abcdef0123456789abcdef"
META = bytes(24) + bytes.fromhex(H) + bytes(16)
COUNTERS = bytes(8) + bytes.fromhex(H) + bytes(8)
SERVER = ServerIdentity(42, "api")
CAP = 1 << 20


def headers(**extra: str) -> dict[str, str]:
    found = {
        "x-art-coverage-server": "1",
        "x-art-coverage-pid": "42",
        "x-art-coverage-binary": "api",
    }
    found.update(extra)
    return found


def body(**fields: object) -> bytes:
    data = {
        "meta_filename": f"covmeta.{H}",
        "meta_data": base64.b64encode(META).decode(),
        "counters_filename": f"covcounters.{H}.42.1700000000000000000",
        "counters_data": base64.b64encode(COUNTERS).decode(),
        "timestamp": 1700000000000000000,
    }
    data.update(fields)
    return json.dumps(data).encode()


def test_identity_headers_become_info_fields() -> None:
    identity = parse_identity(
        headers(
            **{
                "x-art-coverage-source-url": "https://user:tok@github.com/o/r?x=1",
                "x-art-coverage-software-key": "api",
                "x-art-coverage-odd": "a\x1bb",  # dropped: control character
            }
        )
    )
    assert (identity.pid, identity.binary) == (42, "api")
    info = json.loads(identity.info_json("10.0.0.1", 53700))
    assert info == {
        "binary": "api",
        "host": "10.0.0.1",
        "port": 53700,
        "pid": 42,
        "software_key": "api",
        "source_url": "https://github.com/o/r",  # credentials never stored
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"x-art-coverage-server": "0"}, "not a coverage server"),
        ({"x-art-coverage-pid": "042"}, "not a process id"),
        ({"x-art-coverage-pid": "1e3"}, "not a process id"),
        ({"x-art-coverage-binary": ".."}, "X-Art-Coverage-Binary: is '..'"),
        ({"x-art-coverage-binary": ""}, "not a file name"),
        ({"x-art-coverage-binary": "a/b"}, "not a file name"),
        ({"x-art-coverage-binary": "a\u202eb"}, "control character"),
    ],
)
def test_bad_identities_are_refused(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_identity(headers(**extra))


def test_a_full_and_a_nometa_snapshot() -> None:
    full = parse_snapshot(body(), SERVER, "", CAP)
    assert (full.meta_hash, full.meta, full.counters, full.pid) == (H, META, COUNTERS, 42)
    later = body(meta_filename="", meta_data="", counters_filename="covcounters.unknown.42.9")
    snapshot = parse_snapshot(later, SERVER, H, CAP)  # the cached hash names it
    assert (snapshot.meta_hash, snapshot.meta) == (H, b"")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"meta_filename": "covmeta.../../x"}, "meta_filename is not Go's"),
        ({"meta_data": "not base64!"}, "meta_data: not valid base64"),
        ({"meta_data": base64.b64encode(bytes(64)).decode()}, "not the meta-data of"),
        ({"counters_filename": f"covcounters.{H}.42.1/../../x"}, "not Go's"),
        ({"counters_filename": f"covcounters.{H}.7.1"}, "not of the server's pid 42"),
        ({"counters_filename": f"covcounters.{'f' * 32}.42.1"}, "does not belong"),
        ({"counters_data": base64.b64encode(bytes(40)).decode()}, "does not belong"),
        ({"timestamp": -1}, "timestamp"),
        ({"counters_data": 5}, "expected a string"),
    ],
)
def test_bad_snapshots_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_snapshot(body(**fields), SERVER, "", CAP)


def test_bodies_that_are_not_json_objects_or_too_large_are_refused() -> None:
    for data in (b"[1]", b"{", b"\xff", b"{" * 100 + b"}" * 100):
        with pytest.raises(ProtocolError, match="body"):
            parse_snapshot(data, SERVER, "", CAP)
    with pytest.raises(ProtocolError, match="larger than"):
        parse_snapshot(body(), SERVER, "", 10)
    nometa = body(meta_filename="", meta_data="", counters_filename="covcounters.unknown.42.9")
    with pytest.raises(ProtocolError, match="no meta-data served yet"):
        parse_snapshot(nometa, SERVER, "", CAP)
