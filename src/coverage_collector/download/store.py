"""The bucket: listing and fetching objects through boto3, with retries and a size cap.

The only module that imports boto3. Failures are named here once: a listing that fails
raises `FetchError` with a hint (credentials, endpoint); a fetch is retried with backoff
on transient errors (5xx, throttling, resets, short bodies) and then reported by key,
while an object over the size cap is refused at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from coverage_collector.download.layout import RemoteObject
from coverage_collector.exceptions import CollectorError, DataError

if TYPE_CHECKING:
    from coverage_collector.download.run import Options

FETCH_ATTEMPTS = 5
CHUNK_BYTES = 1 << 20
"""Bytes held in memory per concurrent download."""


class FetchError(CollectorError):
    """S3 could not be listed or an object could not be fetched."""


class ObjectTooLargeError(FetchError):
    """An object is over the size cap: refused, not retried."""


class IncompleteBodyError(Exception):
    """The connection ended before the object's declared length: retried."""


class ObjectStore:
    """A bucket, through boto3's standard credential chain (profile, env, SSO, roles...)."""

    def __init__(self, options: Options, credentials: tuple[str, str] | None = None) -> None:
        import boto3
        from botocore.config import Config

        key_id, secret = credentials or (None, None)
        session = boto3.Session(
            profile_name=options.profile,
            region_name=options.region,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )
        config = Config(
            retries={"max_attempts": 8, "mode": "standard"},
            max_pool_connections=max(options.max_concurrency * 2, 10),
            connect_timeout=10,
            read_timeout=60,
        )
        self.bucket = options.bucket
        self.client = session.client("s3", endpoint_url=options.endpoint_url, config=config)

    def list(self, prefix: str) -> list[RemoteObject]:
        """Return every object under `prefix`."""
        objects = []
        try:
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    objects.append(
                        RemoteObject(
                            item["Key"],
                            int(item["Size"]),
                            item.get("ETag", "").strip('"'),
                            item["LastModified"],
                        )
                    )
        except Exception as exc:  # noqa: BLE001 - botocore's many errors, named here once
            raise FetchError(
                f"Couldn't list s3://{self.bucket}/{prefix}: {_reason(exc)}", hint=_hint(exc)
            ) from None
        return objects

    def children(self, prefix: str) -> list[str]:
        """Return the prefixes one level below `prefix` (its "directories"), all of them."""
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2")
            for page in pages.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                found.extend(item["Prefix"] for item in page.get("CommonPrefixes", []))
        except Exception as exc:  # noqa: BLE001 - botocore's many errors, named here once
            raise FetchError(f"Couldn't list s3://{self.bucket}/{prefix}: {_reason(exc)}") from None
        return found

    def fetch(
        self, obj: RemoteObject, sink: Callable[[Iterator[bytes]], int], max_bytes: int
    ) -> int:
        """Stream the body of `obj` into `sink` (which writes it); return its size.

        At most `max_bytes` are read (ObjectTooLargeError, not retried); transient failures are
        retried with backoff, each time from the start into a fresh `sink` call. A
        DataError from `sink` (a local write failed) goes up at once.
        """
        if obj.size > max_bytes:
            raise ObjectTooLargeError(_too_large(obj.size, max_bytes))
        for attempt in range(1, FETCH_ATTEMPTS + 1):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=obj.key)
                body = response["Body"]
                try:
                    length = int(response.get("ContentLength", obj.size))
                    if length > max_bytes:
                        raise ObjectTooLargeError(_too_large(length, max_bytes))
                    return sink(_chunks(body, length, max_bytes))
                finally:
                    body.close()
            except (DataError, ObjectTooLargeError):
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then reported by key
                if attempt == FETCH_ATTEMPTS or not _transient(exc):
                    tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
                    raise FetchError(f"{_reason(exc)} (after {tries})") from None
                time.sleep(min(0.2 * 2**attempt, 5.0) * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")


def _chunks(body: Any, length: int, max_bytes: int) -> Iterator[bytes]:
    """The body in chunks of at most CHUNK_BYTES; exactly `length` bytes or an error."""
    total = 0
    while chunk := body.read(CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise ObjectTooLargeError(_too_large(total, max_bytes))
        yield chunk
    if total != length:
        raise IncompleteBodyError(f"short body: {total} of {length} bytes")


def _too_large(size: int, max_bytes: int) -> str:
    return f"larger than the {_mib(max_bytes)} limit ({size} bytes)"


def _mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB" if size >= 1 << 20 else f"{size} bytes"


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', '?')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _hint(exc: Exception) -> str | None:
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "set AWS credentials (AWS_ACCESS_KEY_ID/..., --profile, or an instance role)"
    if name == "EndpointConnectionError":
        return "check --endpoint-url / AWS_ENDPOINT_URL and the network"
    return None


def _transient(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or status in (408, 429)
    return True  # connection resets, timeouts, short bodies
