"""The bucket `collect --upload s3://BUCKET/PREFIX` puts snapshots into (boto3).

Credentials come from boto3's standard chain (profile, environment, instance roles):
they go to S3 only, never to a coverage server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from coverage_collector.collect.sinks import S3Sink
from coverage_collector.exceptions import UsageError

MAX_POOL = 32


def parse_upload(url: str) -> tuple[str, str]:
    """`s3://BUCKET/PREFIX` as (bucket, prefix with one trailing slash, or '')."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"--upload: expected s3://BUCKET/PREFIX, got {url}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def s3_sink(url: str, endpoint_url: str | None, profile: str | None, region: str | None) -> S3Sink:
    """A sink uploading to `url` through boto3."""
    import boto3
    from botocore.config import Config

    bucket, prefix = parse_upload(url)
    session = boto3.Session(profile_name=profile, region_name=region)
    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=MAX_POOL,
        connect_timeout=10,
        read_timeout=60,
    )
    client = session.client("s3", endpoint_url=endpoint_url, config=config)
    return S3Sink(client, bucket, prefix)
