"""The coverage server's protocol (reference-tool §4.2), read as untrusted input.

A server is unauthenticated and answers with whatever the process (or whatever holds its
port) says, so every value is checked here, where it enters, into typed values:

- identity headers (`X-Art-Coverage-*`): the server marker must be `1`, the pid a plain
  decimal, the binary a valid key component; the other `X-Art-Coverage-*` headers become
  `info.json` fields only when they are valid text (`trust.text`);
- `GET /coverage` bodies: a JSON object within the size cap, base64 that decodes
  strictly, file names that are Go's (`covmeta.<32 hex>`, `covcounters.<32 hex>.<pid>.<ns>`),
  a meta file whose header carries the hash of its name, counters that belong to it and
  to the server's pid. `?nometa=1` answers name their hash `unknown` until the server has
  served its meta-data once: the hash the collector cached stands in for it, as the
  producer does.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from coverage_collector import trust
from coverage_collector.collection import json_bytes
from coverage_collector.entrydirs import COUNTER_NAME, META_NAME, component

HEADER_PREFIX = "x-art-coverage-"
SERVER_HEADER = "x-art-coverage-server"
PID_HEADER = "x-art-coverage-pid"
BINARY_HEADER = "x-art-coverage-binary"
META_HASH_OFFSET = 24
"""Where a meta file's header holds the hash its name carries (16 bytes)."""
COUNTER_HASH_OFFSET = 8
"""Where a counter file's header holds the hash of its meta file (16 bytes)."""
_PID = re.compile(r"(0|[1-9][0-9]{0,17})\Z")
_UNKNOWN_COUNTERS = re.compile(r"covcounters\.unknown\.")


class ProtocolError(ValueError):
    """A server's answer was refused; the message says what was wrong with it."""


@dataclass(frozen=True)
class ServerIdentity:
    """Who a coverage server says it is."""

    pid: int
    binary: str
    info: tuple[tuple[str, str], ...] = ()
    """The other `X-Art-Coverage-*` headers as `info.json` fields (`source_url`, ...)."""

    def info_json(self, host: str, port: int) -> bytes:
        """The producer's `info.json`: binary, host, port, pid, then the header fields."""
        data: dict[str, Any] = {"binary": self.binary, "host": host, "port": port, "pid": self.pid}
        for key, value in self.info:
            data.setdefault(key, trust.clean_url(value) if key.endswith("_url") else value)
        return json_bytes(data)


def parse_identity(headers: dict[str, str]) -> ServerIdentity:
    """The identity in `headers` (names lower-cased); ProtocolError when it is not a
    coverage server (no `X-Art-Coverage-Server: 1`) or says something invalid."""
    if headers.get(SERVER_HEADER) != "1":
        raise ProtocolError("not a coverage server (no X-Art-Coverage-Server: 1)")
    pid_text = headers.get(PID_HEADER, "")
    if not _PID.match(pid_text):
        raise ProtocolError(f"X-Art-Coverage-Pid is not a process id: {_shown(pid_text)}")
    try:
        binary = component(headers.get(BINARY_HEADER, ""), "X-Art-Coverage-Binary")
    except trust.UntrustedValueError as exc:
        raise ProtocolError(str(exc)) from None
    if not binary or "/" in binary:
        raise ProtocolError(f"X-Art-Coverage-Binary is not a file name: {_shown(binary)}")
    info = []
    for name in sorted(headers):
        if not name.startswith(HEADER_PREFIX) or name in (SERVER_HEADER, PID_HEADER, BINARY_HEADER):
            continue
        key = name[len(HEADER_PREFIX) :].replace("-", "_")
        try:
            info.append((key, trust.text(headers[name].strip(), name)))
        except trust.UntrustedValueError:
            continue  # an odd optional header is dropped, the coverage still counts
    return ServerIdentity(int(pid_text), binary, tuple(info))


@dataclass(frozen=True)
class Snapshot:
    """One decoded `GET /coverage` answer."""

    meta_hash: str
    meta: bytes
    """Empty for a `?nometa=1` answer."""
    pid: int
    counters: bytes
    timestamp_ns: int


def parse_snapshot(body: bytes, identity: ServerIdentity, cached_hash: str, cap: int) -> Snapshot:
    """Decode a `GET /coverage` body of the server `identity`; `cached_hash` is the hash of
    the meta-data this server served before ('' when none). ProtocolError says why not."""
    try:
        data = trust.load_json_object(body, max_bytes=cap)
    except trust.UntrustedValueError as exc:
        raise ProtocolError(f"body: {exc.defect}") from None
    meta_name = _string(data, "meta_filename")
    counters_name = _string(data, "counters_filename")
    meta = _base64(data, "meta_data")
    counters = _base64(data, "counters_data")
    timestamp = data.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        raise ProtocolError("timestamp: expected a non-negative integer")
    if meta_name or meta:
        match = META_NAME.match(meta_name)
        if not match:
            raise ProtocolError(f"meta_filename is not Go's: {_shown(meta_name)}")
        meta_hash = match.group(1)
        if meta[META_HASH_OFFSET : META_HASH_OFFSET + 16].hex() != meta_hash:
            raise ProtocolError(f"meta_data is not the meta-data of {meta_name}")
    elif cached_hash:
        meta_hash = cached_hash
    else:
        raise ProtocolError("no meta-data served yet and none in this answer")
    counters_name = _UNKNOWN_COUNTERS.sub(f"covcounters.{meta_hash}.", counters_name, count=1)
    counter = COUNTER_NAME.match(counters_name)
    if not counter:
        raise ProtocolError(f"counters_filename is not Go's: {_shown(counters_name)}")
    if counter.group(1) != meta_hash:
        raise ProtocolError(f"{counters_name} does not belong to covmeta.{meta_hash}")
    if int(counter.group(2)) != identity.pid:
        raise ProtocolError(f"{counters_name} is not of the server's pid {identity.pid}")
    header_hash = counters[COUNTER_HASH_OFFSET : COUNTER_HASH_OFFSET + 16].hex()
    if header_hash != meta_hash:
        raise ProtocolError(f"counters_data does not belong to covmeta.{meta_hash}")
    return Snapshot(meta_hash, meta, identity.pid, counters, timestamp)


def _string(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise ProtocolError(f"{key}: expected a string")
    return value


def _base64(data: dict[str, Any], key: str) -> bytes:
    text = _string(data, key)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(f"{key}: not valid base64") from None


def _shown(value: str) -> str:
    """An untrusted value for a message: escaped, at most 80 characters."""
    return repr(trust.terminal(value[:80]))
