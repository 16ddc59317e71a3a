"""A photo deleted before it is processed ends REJECTED with a reason, never FAILED.

On AWS a role without `s3:ListBucket` gets 403 AccessDenied, not 404, for a missing key: the
execution would retry, fail and stay unredrivable. The roles may list `uploads/`, and the
functions tell a deleted photo from a refused read by listing the key; both answers S3 may
give are run through the whole pipeline here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from platescan import aws
from platescan.local.runtime import LocalStack
from tests.support import detections, line

READING = detections(line("7ABC123", 99.0, 0.4, 0.6, 0.2, 0.08))


def _event_for_missing_photo(stack: LocalStack, upload_id: str) -> dict[str, Any]:
    """The Object Created event of a photo deleted before its execution read it."""
    return {
        "version": "0",
        "id": f"event-{upload_id}",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": "2026-11-30T12:00:00Z",
        "region": stack.config.region,
        "detail": {
            "bucket": {"name": stack.config.bucket},
            "object": {"key": f"uploads/{upload_id}/car.jpg", "size": 1000, "etag": "abc"},
        },
    }


@pytest.mark.parametrize("s3_answers", ["404 NoSuchKey", "403 AccessDenied"])
def test_a_photo_deleted_before_processing_is_rejected(
    stack_factory: Callable[..., LocalStack],
    rekognition_returns: Callable[[Any], None],
    monkeypatch: pytest.MonkeyPatch,
    s3_answers: str,
) -> None:
    rekognition_returns(READING)
    stack = stack_factory(engine="rekognition")
    if s3_answers.startswith("403"):
        # As S3 answers a reader that may not list the bucket: 403 for a missing key.
        s3 = aws.client("s3")
        real_get = s3.get_object

        def get_object(**params: Any) -> Any:
            try:
                return real_get(**params)
            except ClientError as exc:
                denied = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
                raise ClientError(denied, "GetObject") from exc

        monkeypatch.setattr(s3, "get_object", get_object)
    upload_id = "Deleted0000000000000000"
    aws.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn,
        input=json.dumps(_event_for_missing_photo(stack, upload_id)),
    )
    record = stack.wait_for(upload_id)
    assert record["status"] == "REJECTED"
    assert record["error"]["type"] == "UnsupportedImage"
    assert "no longer exists" in record["error"]["message"]
    assert [e["status"] for e in stack.executions()] == ["SUCCEEDED"]
