"""The botocore clients in platescan.aws behave as the boto3 clients they replaced.

Same region and credentials from the environment, same retry settings, and the presigner
signs the same SigV4, path-style URLs and POST policies as a boto3 client configured the
same way.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from platescan import aws

ENDPOINT = "http://s3.localhost:8000"  # the local server's S3 domain
# What differs between two signatures made a moment apart.
TIME_BOUND = {"policy", "x-amz-signature", "x-amz-date", "X-Amz-Signature", "X-Amz-Date"}


@pytest.fixture(autouse=True)
def mocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        aws.reset()
        yield
        aws.reset()


def boto3_presigner(endpoint_url: str | None) -> Any:
    """The client aws.presigner made before, with boto3."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )


def test_clients_are_botocore_clients_cached_per_process() -> None:
    s3 = aws.client("s3")
    assert aws.client("s3") is s3
    assert type(s3).__module__ == "botocore.client"
    assert s3.meta.region_name == "eu-west-1"
    aws.reset()
    assert aws.client("s3") is not s3


def test_rekognition_is_not_retried_inside_the_function() -> None:
    retries = aws.client("rekognition").meta.config.retries
    assert retries == {"mode": "standard", "total_max_attempts": 1}
    assert aws.client("s3").meta.config.retries == boto3.client("s3").meta.config.retries


@pytest.mark.parametrize("endpoint", [None, ENDPOINT])
def test_presigned_posts_are_those_boto3_made(endpoint: str | None) -> None:
    args: dict[str, Any] = {
        "Bucket": "platescan-uploads",
        "Key": "uploads/Abcdefghijklmnop123456/my car.jpg",
        "Fields": {"Content-Type": "image/jpeg", "x-amz-meta-region": "DE"},
        "Conditions": [
            {"Content-Type": "image/jpeg"},
            ["content-length-range", 52_000, 52_000],
            {"x-amz-meta-region": "DE"},
        ],
        "ExpiresIn": 300,
    }
    ours = aws.presigner(endpoint).generate_presigned_post(**args)
    theirs = boto3_presigner(endpoint).generate_presigned_post(**args)
    assert ours["url"] == theirs["url"]
    assert ours["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # SigV4
    assert {k: v for k, v in ours["fields"].items() if k not in TIME_BOUND} == {
        k: v for k, v in theirs["fields"].items() if k not in TIME_BOUND
    }

    def conditions(post: dict[str, Any]) -> list[Any]:
        policy = json.loads(base64.b64decode(post["fields"]["policy"]))
        return [c for c in policy["conditions"] if not (isinstance(c, dict) and "x-amz-date" in c)]

    assert conditions(ours) == conditions(theirs)
    # Virtual-hosted: the bucket is the host, as the site's CSP lists it.
    if endpoint:
        assert ours["url"] == "http://platescan-uploads.s3.localhost:8000/"
    else:
        assert ours["url"] == "https://platescan-uploads.s3.eu-west-1.amazonaws.com/"


@pytest.mark.parametrize("endpoint", [None, ENDPOINT])
def test_presigned_photo_links_are_those_boto3_made(endpoint: str | None) -> None:
    params = {"Bucket": "platescan-uploads", "Key": "uploads/Abcdefghijklmnop123456/car ü.jpg"}
    ours = aws.presigner(endpoint).generate_presigned_url(
        "get_object", Params=params, ExpiresIn=300
    )
    theirs = boto3_presigner(endpoint).generate_presigned_url(
        "get_object", Params=params, ExpiresIn=300
    )

    def parts(url: str) -> tuple[str, dict[str, list[str]]]:
        split = urlsplit(url)
        query = {k: v for k, v in parse_qs(split.query).items() if k not in TIME_BOUND}
        return split._replace(query="").geturl(), query

    assert parts(ours) == parts(theirs)
    assert parts(ours)[1]["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    host = urlsplit(ours).netloc
    assert host == ("platescan-uploads.s3.localhost:8000" if endpoint else
                    "platescan-uploads.s3.eu-west-1.amazonaws.com")  # fmt: skip
