"""boto3 clients behind cached getters, so a warm Lambda container reuses its connections."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    """A boto3 client for `service`, created once per process."""
    return boto3.client(service)  # type: ignore[call-overload]


@cache
def table(name: str) -> Any:
    """A DynamoDB Table resource, created once per process."""
    return boto3.resource("dynamodb").Table(name)


def reset() -> None:
    """Forget cached clients (tests switch between mocked accounts)."""
    client.cache_clear()
    table.cache_clear()
