"""Finding coverage servers on this machine the way the producer does (reference-tool §4.4):
LISTEN sockets in `/proc/net/tcp` and `/proc/net/tcp6` whose port is in the range, each
then confirmed by `HEAD /health` answering `X-Art-Coverage-Server: 1` (`client.probe`).

This network namespace is read first: with `hostNetwork` (the DaemonSet in `deploy/`) that
is the node's, which holds the host processes and the hostNetwork pods. A socket bound to
the wildcard address is reached on loopback; one bound to an address, on that address.
Then every other network namespace a process of `/proc` is in (pods, with `hostPID`), once
each: its sockets are reached on the namespace's own addresses (its `fib_trie`'s local
ones, the pod IP), a wildcard socket on each of them; loopback-only ones cannot be reached
from here and are left out.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from coverage_collector.collect.client import Endpoint

LISTEN = "0A"
PROC_TCP = ("/proc/net/tcp", "/proc/net/tcp6")


@dataclass(frozen=True)
class PortRange:
    """Ports `first` to `last`, both included."""

    first: int = 53700
    last: int = 53799

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """`FIRST-LAST` or a single port; ValueError when it is not a valid range."""
        first, _, last = text.partition("-")
        found = cls(int(first), int(last or first))
        if not 0 < found.first <= found.last < 65536:
            raise ValueError(f"not a port range: {text}")
        return found

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last


def listening(table: str) -> list[tuple[str, int]]:
    """The (address, port) of every LISTEN socket in a `/proc/net/tcp{,6}` table's text."""
    found = []
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != LISTEN:
            continue
        address, _, port = fields[1].partition(":")
        try:
            found.append((_address(address), int(port, 16)))
        except ValueError:
            continue
    return found


def _address(hex_address: str) -> str:
    """A kernel's hex address (32-bit words in host byte order, little-endian here) as text."""
    raw = bytes.fromhex(hex_address)
    if len(raw) not in (4, 16):
        raise ValueError(hex_address)
    ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    parsed = ipaddress.ip_address(ordered)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    return str(parsed)


def reachable(address: str) -> str:
    """Where to connect to a socket bound to `address`: loopback for a wildcard."""
    if address == "0.0.0.0":
        return "127.0.0.1"
    if address == "::":
        return "::1"
    return address


def host_endpoints(ports: PortRange, tables: tuple[str, ...] = PROC_TCP) -> list[Endpoint]:
    """The endpoints of LISTEN sockets in `ports`, from this namespace's tables (sorted)."""
    found = {
        Endpoint(reachable(address), port)
        for path in tables
        for address, port in listening(_read(path))
        if port in ports
    }
    return sorted(found, key=lambda e: (e.port, e.host))


def namespace_endpoints(ports: PortRange, proc: str = "/proc") -> list[Endpoint]:
    """The endpoints of LISTEN sockets in `ports` in every network namespace of the
    processes under `proc` other than this one's, reached on their own addresses (sorted)."""
    seen = {_namespace(f"{proc}/self")}
    found: set[Endpoint] = set()
    for name in _pids(proc):
        namespace = _namespace(f"{proc}/{name}")
        if namespace is None or namespace in seen:
            continue  # unknown (not ours to read) or already read
        seen.add(namespace)
        addresses = local_addresses(_read(f"{proc}/{name}/net/fib_trie"))
        for table in ("tcp", "tcp6"):
            for address, port in listening(_read(f"{proc}/{name}/net/{table}")):
                if port not in ports or ipaddress.ip_address(address).is_loopback:
                    continue
                wildcard = address in ("0.0.0.0", "::")
                found.update(Endpoint(a, port) for a in (addresses if wildcard else [address]))
    return sorted(found, key=lambda e: (e.port, e.host))


def local_addresses(fib_trie: str) -> list[str]:
    """The local, not loopback IPv4 addresses of a `/proc/<pid>/net/fib_trie` (sorted)."""
    found: set[str] = set()
    previous = ""
    for line in fib_trie.splitlines():
        text = line.strip()
        if text.startswith("|--"):
            previous = text[3:].strip()
        elif text == "/32 host LOCAL" and previous:
            try:
                if not ipaddress.ip_address(previous).is_loopback:
                    found.add(previous)
            except ValueError:
                continue
    return sorted(found)


def _pids(proc: str) -> list[str]:
    try:
        return sorted((n for n in os.listdir(proc) if n.isdigit()), key=int)
    except OSError:
        return []


def _namespace(process: str) -> str | None:
    """The network namespace of a `/proc/<pid>` directory (`net:[inode]`), None if unknown."""
    try:
        return os.readlink(f"{process}/ns/net")
    except OSError:
        return None


def _read(path: str) -> str:
    """A `/proc` table's text ('' when it cannot be read: the process is gone)."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""
