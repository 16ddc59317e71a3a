"""botocore clients behind cached getters, so a warm Lambda container reuses its connections.

The Lambda functions reach AWS through botocore's low-level clients, not boto3: importing
boto3 also imports s3transfer (and with it `multiprocessing.managers`) and its resource
layer, about 80 ms of every cold start that nothing here uses. DynamoDB values
are written and read through `platescan.dynamo`. `table()` (boto3's Table resource) is for
the tools that run outside Lambda (`platescan.tools.load`, tests) and imports boto3 when called.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

# Rekognition throttling is retried by the state machine, with backoff and jitter it can
# see and an operator can tune; SDK retries inside the function would sleep on billed time.
_CLIENT_CONFIG = {"rekognition": Config(retries={"mode": "standard", "total_max_attempts": 1})}

# A botocore session is not safe to create clients from in several threads at once (the
# local stack runs handlers in threads); clients themselves are.
_LOCK = threading.Lock()


@cache
def session() -> Any:
    """The process's botocore session: credentials and region from the environment."""
    return botocore.session.get_session()


@cache
def client(service: str) -> Any:
    """A botocore client for `service`, created once per process."""
    with _LOCK:
        return session().create_client(service, config=_CLIENT_CONFIG.get(service))


@cache
def table(name: str) -> Any:
    """A boto3 DynamoDB Table resource, created once per process; not for Lambda code."""
    import boto3

    return boto3.resource("dynamodb").Table(name)


@cache
def presigner(endpoint_url: str | None) -> Any:
    """An S3 client for presigning URLs that browsers will use.

    Always SigV4 (regional buckets refuse older signatures) and virtual-hosted
    (`https://<bucket>.s3.<region>.amazonaws.com/`): the site's Content-Security-Policy lists
    the bucket's own host, so a path-style URL (`https://s3.<region>.amazonaws.com/<bucket>`)
    would be blocked by the browser. Locally `endpoint_url` is the local server's S3 domain
    (`http://s3.localhost:<port>`), and the URLs are `http://<bucket>.s3.localhost:<port>/`,
    which Chromium resolves to the loopback address: the same CSP rule applies.
    """
    with _LOCK:
        return session().create_client(
            "s3",
            endpoint_url=endpoint_url,
            config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
        )


def reset() -> None:
    """Forget cached clients and the session (tests switch between mocked accounts)."""
    client.cache_clear()
    table.cache_clear()
    presigner.cache_clear()
    session.cache_clear()


# Error codes S3 answers for a key or version that is not there.
_MISSING = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})


def object_is_gone(error: Any, bucket: str, key: str) -> bool:
    """Whether a failed GetObject/HeadObject means the object no longer exists.

    S3 answers 404 for a missing key only to callers allowed `s3:ListBucket`; anyone else
    gets 403 AccessDenied, the same answer as for a real permission problem. The roles that
    read uploads may list the `uploads/` prefix, so on a 403 one listing of the exact key
    tells the two apart: a photo deleted before processing is a result (REJECTED), while a
    missing permission stays an error the state machine retries and an operator sees.
    """
    code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
    if code in _MISSING:
        return True
    if code not in ("403", "AccessDenied"):
        return False
    try:
        listed = client("s3").list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    except Exception:  # cannot tell: treat as the permission problem it may be
        return False
    return not any(item.get("Key") == key for item in listed.get("Contents", []))
