"""boto3 clients behind cached getters, so a warm Lambda container reuses its connections."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Rekognition throttling is retried by the state machine, with backoff and jitter it can
# see and an operator can tune; SDK retries inside the function would sleep on billed time.
_CLIENT_CONFIG = {"rekognition": Config(retries={"mode": "standard", "total_max_attempts": 1})}


@cache
def client(service: str) -> Any:
    """A boto3 client for `service`, created once per process."""
    return boto3.client(service, config=_CLIENT_CONFIG.get(service))  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    """A DynamoDB Table resource, created once per process."""
    return boto3.resource("dynamodb").Table(name)


@cache
def presigner(endpoint_url: str | None) -> Any:
    """An S3 client for presigning URLs that browsers will use.

    Always SigV4 (regional buckets refuse older signatures). Locally `endpoint_url` points
    the URLs at the local server's S3 stand-in, path-style: no DNS for bucket subdomains.
    """
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def reset() -> None:
    """Forget cached clients (tests switch between mocked accounts)."""
    client.cache_clear()
    table.cache_clear()
    presigner.cache_clear()
