"""EventBridge event patterns, shared by the Pulumi program and the local runtime."""

from __future__ import annotations

from typing import Any

UPLOAD_PREFIX = "uploads/"
UNSUCCESSFUL_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


def object_created(bucket: str) -> dict[str, Any]:
    """S3 `Object Created` events for photos uploaded to `bucket` under `uploads/`."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [bucket]},
            "object": {"key": [{"prefix": UPLOAD_PREFIX}]},
        },
    }


def execution_unsuccessful(state_machine_arn: str) -> dict[str, Any]:
    """Step Functions status changes that leave an upload without a result."""
    return {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": list(UNSUCCESSFUL_STATUSES),
            "stateMachineArn": [state_machine_arn],
        },
    }
