"""Repository URLs from the cluster: option-shaped parts refused, credentials never kept,
checkout directories always valid file names."""

from __future__ import annotations

import logging
import os

import pytest

from coverage_collector.exceptions import UsageError
from coverage_collector.sources.git import _reason
from coverage_collector.sources.urls import (
    MAX_COMPONENT,
    RefusedURLError,
    clean,
    parse_mirrors,
    parse_repo_url,
)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("ssh://-oProxyCommand=touch%20x@host/org/repo", "user '-oProxyCommand=touch x'"),
        ("ssh://%2DoProxyCommand=x@host/org/repo", "user '-oProxyCommand=x'"),
        ("ssh://user@-oProxyCommand=x/org/repo", "host '-oproxycommand=x'"),
        ("ssh://user@%2doProxyCommand=x/org/repo", "host '-oProxyCommand=x'"),
        ("https://-oProxyCommand=x/org/repo", "host '-oproxycommand=x'"),
        ("git://-host/org/repo", "host '-host'"),
        ("git@-host:org/repo", "host '-host'"),
        ("-oProxyCommand=x@host:org/repo", "the URL '-oProxyCommand=x@host:org/repo'"),
        ("-uhelp", "the URL '-uhelp'"),
        ("https://github.com/-org/repo", "path segment '-org'"),
        ("https://github.com/org/%2Drepo", "path segment '-repo'"),
        ("git@github.com:-org/repo.git", "path segment '-org'"),
        ("ssh://git@github.com/org/--upload-pack=x", "path segment '--upload-pack=x'"),
    ],
)
def test_option_shaped_parts_are_refused(url: str, named: str) -> None:
    with pytest.raises(RefusedURLError) as refused:
        parse_repo_url(url, allow_local=True)
    message = str(refused.value)
    assert message == f"{named} starts with '-' (an option to git or ssh)"
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://x-access-token:ghp_s3cr3t@github.com/org/repo", "https://github.com/org/repo"),
        ("https://ghp_s3cr3t@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("ssh://git:s3cr3t@github.com/org/repo", "ssh://git@github.com/org/repo"),  # the account
        ("ssh://git@github.com:2222/org/repo", "ssh://git@github.com:2222/org/repo"),
        ("git://s3cr3t@example.org/org/repo", "git://example.org/org/repo"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
    ],
)
def test_credentials_are_never_kept(url: str, kept: str) -> None:
    repo = parse_repo_url(url)
    assert repo.url == kept
    assert "s3cr3t" not in repo.url and "s3cr3t" not in repo.checkout_dir("/r", "c")


@pytest.mark.parametrize(
    ("url", "cleaned"),
    [
        ("https://u:s3cr3t@h.example/o/r?token=s3cr3t#x", "https://h.example/o/r"),
        ("u:s3cr3t@h.example:o/r", "h.example:o/r"),
        ("git@h.example:o/r?token=s3cr3t", "git@h.example:o/r"),
        ("/srv/git/o/r", "/srv/git/o/r"),
    ],
)
def test_clean(url: str, cleaned: str) -> None:
    assert clean(url) == cleaned


def test_refusals_never_show_credentials() -> None:
    for url in ("bot:s3cr3t@github.com:org/repo", "https://u:s3cr3t@github.com/org"):
        with pytest.raises(RefusedURLError) as refused:
            parse_repo_url(url)
        assert "s3cr3t" not in str(refused.value)


def test_mirrors_drop_credentials_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        mirrors = parse_mirrors(
            ["https://github.com/org/=https://bot:s3cr3t@mirror.example/org?t=s3cr3t"],
            "--git-mirror",
        )
    assert mirrors == {"https://github.com/org": "https://mirror.example/org"}
    assert "credentials removed from https://mirror.example/org" in caplog.text
    assert "s3cr3t" not in caplog.text
    with pytest.raises(UsageError) as usage:
        parse_mirrors(["https://bot:s3cr3t@github.com/org"], "--git-mirror")
    assert "s3cr3t" not in str(usage.value) and "expected SRC=DEST" in str(usage.value)
    plain = parse_mirrors(["quay.io/ocp=oci:/srv/layout:"], "--image-mirror")
    assert plain == {"quay.io/ocp": "oci:/srv/layout:"}


def test_long_components_become_short_names_with_a_hash() -> None:
    name = "r" * 256
    repo = parse_repo_url(f"https://github.com/org/{name}")
    assert repo.path == ("org", name)  # what the URL says is kept
    checkout = repo.checkout_dir("/repos", "c" * 40)
    components = checkout.split(os.sep)[1:]
    assert all(len(c) <= MAX_COMPONENT + 13 for c in components)
    assert components[:3] == ["repos", "github.com", "org"] and components[-1] == "c" * 40
    assert components[3].startswith("r" * MAX_COMPONENT + "-")
    # names that differ only after the part kept never share a directory
    other = parse_repo_url(f"https://github.com/org/{name[:-1]}s").checkout_dir("/repos", "c" * 40)
    assert other != checkout
    # a name of exactly MAX_COMPONENT characters is kept as it is
    exact = "e" * MAX_COMPONENT
    assert (
        parse_repo_url(f"https://github.com/org/{exact}")
        .checkout_dir("/r", "c")
        .endswith(f"/org/{exact}/c")
    )


def test_over_long_urls_are_refused() -> None:
    with pytest.raises(RefusedURLError, match="longer than"):
        parse_repo_url("https://github.com/org/" + "r" * 2000)


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        (
            "Cloning...\nfatal: unable to access 'https://bot:s3cr3t@github.com/o/r/': 403\n",
            "fatal: unable to access 'https://github.com/o/r/': 403",
        ),
        ("remote: " + "x" * 5000, "remote: " + "x" * 489 + "..."),
        ("", "exit status 128"),
    ],
)
def test_git_reasons_are_scrubbed_and_bounded(stderr: str, reason: str) -> None:
    assert _reason(stderr, 128) == reason
