"""Finding servers: `/proc/net/tcp{,6}` LISTEN sockets, port ranges, the poll schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage_collector.collect.client import Endpoint
from coverage_collector.collect.discover import (
    PortRange,
    host_endpoints,
    listening,
    local_addresses,
    namespace_endpoints,
)
from coverage_collector.collect.run import interval
from coverage_collector.collect.sinks import sanitized

TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:D1F4 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1
   1: 00000000:D1F5 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 2
   2: 0100007F:D1F6 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 3
   3: 0A01A8C0:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4
"""
TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:D1F7 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000001000000:D1F8 00000000000000000000000000000000:0000 0A
   2: 0000000000000000FFFF00000100007F:D1F9 00000000000000000000000000000000:0000 0A
"""


def test_listening_sockets_are_read_from_the_kernels_tables() -> None:
    # 0xD1F4 = 53748; addresses are 32-bit words in little-endian order
    assert listening(TCP) == [("127.0.0.1", 53748), ("0.0.0.0", 53749), ("192.168.1.10", 80)]
    assert listening(TCP6) == [("::", 53751), ("::1", 53752), ("127.0.0.1", 53753)]


def test_host_endpoints_keep_the_port_range_and_reach_wildcards_on_loopback(
    tmp_path: Path,
) -> None:
    (tmp_path / "tcp").write_text(TCP)
    (tmp_path / "tcp6").write_text(TCP6)
    tables = (str(tmp_path / "tcp"), str(tmp_path / "tcp6"), str(tmp_path / "missing"))
    found = host_endpoints(PortRange(53700, 53752), tables)
    assert found == [
        Endpoint("127.0.0.1", 53748),
        Endpoint("127.0.0.1", 53749),
        Endpoint("::1", 53751),
        Endpoint("::1", 53752),
    ]


def test_the_real_tables_of_this_machine_parse() -> None:
    # whatever listens here, every entry is a port in range with an address
    everything = PortRange(1, 65535)
    for endpoint in host_endpoints(everything) + namespace_endpoints(everything):
        assert 1 <= endpoint.port <= 65535 and endpoint.host


@pytest.mark.parametrize("text", ["0-5", "10-9", "70000", "x-y"])
def test_bad_port_ranges(text: str) -> None:
    with pytest.raises(ValueError):
        PortRange.parse(text)


def test_endpoints_refuse_credentials_and_other_schemes() -> None:
    assert Endpoint.parse("127.0.0.1:53700") == Endpoint("127.0.0.1", 53700)
    assert Endpoint.parse("http://[::1]:53701/x").url == "http://[::1]:53701"
    for bad in ("https://h:1", "http://user:pw@h:1", "ftp://h"):
        with pytest.raises(ValueError):
            Endpoint.parse(bad)


def test_the_producers_schedule() -> None:
    assert [interval(a) for a in (0, 9.9, 10, 309, 310, 3600)] == [1, 1, 5, 5, 10, 10]


def test_keys_are_sanitised_as_the_producer_does() -> None:
    image = "quay.io/org/repo@sha256:abc"
    assert sanitized(image) == "quay.io-org-repo-sha256-abc"
    assert sanitized("/x") == "x" and sanitized("") == "unknown"


FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 10.244.0.0/24 2 0 2
        |-- 10.244.0.5
           /32 host LOCAL
        |-- 10.244.0.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
"""
POD_TCP = """\
  sl  local_address rem_address   st
   0: 00000000:D1B4 00000000:0000 0A
   1: 0100007F:D1B5 00000000:0000 0A
   2: 0900000A:D1B6 00000000:0000 0A
   3: 00000000:0050 00000000:0000 0A
"""


def fake_proc(root: Path) -> Path:
    """A /proc with this process (namespace 1), one more process in it, two processes of a
    pod (namespace 2) and one whose namespace cannot be read."""
    for pid, namespace in (("self", 1), ("10", 1), ("20", 2), ("21", 2), ("30", None)):
        (root / pid / "ns").mkdir(parents=True)
        (root / pid / "net").mkdir()
        if namespace is not None:
            (root / pid / "ns" / "net").symlink_to(f"net:[{namespace}]")
        (root / pid / "net" / "tcp").write_text(POD_TCP if namespace != 1 else TCP)
        (root / pid / "net" / "fib_trie").write_text(FIB_TRIE)
    return root


def test_other_network_namespaces_are_reached_on_their_own_addresses(tmp_path: Path) -> None:
    # 0xD1B4 = 53684: a wildcard socket (reached on the pod IP), a loopback-only one (not
    # reachable from here), one bound to 10.0.0.9; port 80 is out of range
    found = namespace_endpoints(PortRange(53600, 53699), str(fake_proc(tmp_path)))
    assert found == [Endpoint("10.244.0.5", 53684), Endpoint("10.0.0.9", 53686)]


def test_local_addresses_of_a_fib_trie() -> None:
    assert local_addresses(FIB_TRIE) == ["10.244.0.5"]
