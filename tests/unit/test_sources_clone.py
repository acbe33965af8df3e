"""sources/clone.py's pure rules: mirror prefixes, and which fetches need a host name resolved
(after a few names in a row did not resolve, only those are given up on)."""

from __future__ import annotations

import pytest

from coverage_collector.sources.clone import mirrored, needs_name_lookup


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/org/repo", True),
        ("ssh://git@gitlab.example.com:2222/org/repo", True),
        ("git@github.com:org/repo.git", True),
        ("https://127.0.0.1:8443/private/inventory", False),
        ("https://[::1]:8443/org/repo", False),
        ("http://localhost:3000/org/repo", False),
        ("git@10.0.0.7:org/repo.git", False),
        ("/srv/mirrors/org/repo.bundle", False),
        ("file:///srv/mirrors/org/repo", False),
    ],
)
def test_needs_name_lookup(url: str, expected: bool) -> None:
    assert needs_name_lookup(url) is expected


def test_mirrored_replaces_the_longest_whole_prefix() -> None:
    mirrors = {
        "https://github.com/org": "https://127.0.0.1:1/all",
        "https://github.com/org/special": "/srv/special",
    }
    assert mirrored("https://github.com/org/repo", mirrors) == "https://127.0.0.1:1/all/repo"
    assert mirrored("https://github.com/org/special", mirrors) == "/srv/special"
    assert mirrored("https://github.com/organisation/repo", mirrors) == (
        "https://github.com/organisation/repo"
    )
