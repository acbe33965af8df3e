"""Links to a file upstream: the hosts we know, nothing for the others."""

from __future__ import annotations

import pytest

from coverage_collector.report.upstream import Upstream, upstream

COMMIT = "ce42f2ca712e04cc6abfa4ad1c9f0353fe9f1aa4"


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        (
            "https://github.com/example-org/inventory-api",
            Upstream(f"https://github.com/example-org/inventory-api/blob/{COMMIT}/a/b.go", "#L"),
        ),
        (
            "https://github.com/example-org/inventory-api.git",
            Upstream(f"https://github.com/example-org/inventory-api/blob/{COMMIT}/a/b.go", "#L"),
        ),
        (
            "https://gitlab.example.com/team/svc",
            Upstream(f"https://gitlab.example.com/team/svc/-/blob/{COMMIT}/a/b.go", "#L"),
        ),
        (
            "https://bitbucket.org/team/svc",
            Upstream(f"https://bitbucket.org/team/svc/src/{COMMIT}/a/b.go", "#lines-"),
        ),
        (
            "https://git.sr.ht/~user/svc",
            Upstream(f"https://git.sr.ht/~user/svc/tree/{COMMIT}/item/a/b.go", "#L"),
        ),
    ],
)
def test_known_hosts_link_the_file_at_the_commit(repo: str, expected: Upstream) -> None:
    assert upstream(repo, COMMIT, "a/b.go") == expected


@pytest.mark.parametrize(
    ("repo", "commit", "path"),
    [
        ("https://git.example.net/team/svc", COMMIT, "a.go"),  # a host we can't map
        ("http://github.com/o/r", COMMIT, "a.go"),  # not https
        ("ssh://git@github.com/o/r", COMMIT, "a.go"),
        ("https://github.com/o/r/tree/main", COMMIT, "a.go"),  # not a repository URL
        ("https://github.com/o/r", "main", "a.go"),  # not a commit
        ("https://github.com/o/r", COMMIT[:12], "a.go"),
        ("https://github.com/o/r", COMMIT, ""),
        ("https://github.com:8443/o/r", COMMIT, "a.go"),
        ("https://github.com/o/r", COMMIT, "../../other/repo/a.go"),  # traversal
        ("https://github.com/o/r", COMMIT, "a/./b.go"),
        ("https://github.com/o/r", COMMIT, "a//b.go"),
        ("https://github.com/o/r", COMMIT, "a/\udcff.go"),  # not UTF-8 (surrogate escape)
        ("https://github.com/o/r", COMMIT, "a/" + "x" * 3000 + ".go"),  # oversized
    ],
)
def test_anything_else_gets_no_link(repo: str, commit: str, path: str) -> None:
    assert upstream(repo, commit, path) is None


def test_every_part_is_percent_encoded() -> None:
    link = upstream("https://github.com/o/r", COMMIT, 'x/"><img src=x>.go')
    assert link is not None
    assert link.file_url == f"https://github.com/o/r/blob/{COMMIT}/x/%22%3E%3Cimg%20src%3Dx%3E.go"
