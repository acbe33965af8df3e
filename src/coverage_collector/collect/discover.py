"""Finding coverage servers on this machine the way the producer does (reference-tool §4.4):
LISTEN sockets in `/proc/net/tcp` and `/proc/net/tcp6` whose port is in the range, each
then confirmed by `HEAD /health` answering `X-Art-Coverage-Server: 1` (`client.probe`).

Only this network namespace is read: with `hostNetwork` (the DaemonSet in `deploy/`) that
is the node's, which holds the host processes and the hostNetwork pods. A socket bound to
the wildcard address is reached on loopback; one bound to an address, on that address.
"""

from __future__ import annotations

import ipaddress
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
    found: set[Endpoint] = set()
    for path in tables:
        try:
            with open(path, encoding="ascii", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        for address, port in listening(text):
            if port in ports:
                found.add(Endpoint(reachable(address), port))
    return sorted(found, key=lambda e: (e.port, e.host))
