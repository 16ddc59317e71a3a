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


# "Plate Matched" events, as the Check Watchlists step puts them on the stack's bus.
PLATE_MATCHED_SOURCE = "platescan"
PLATE_MATCHED_DETAIL_TYPE = "Plate Matched"


def plate_matched() -> dict[str, Any]:
    """Alerts: every "Plate Matched" event this stack publishes on its own bus."""
    return {"source": [PLATE_MATCHED_SOURCE], "detail-type": [PLATE_MATCHED_DETAIL_TYPE]}


# The e-mail an alert becomes on the SNS topic: one readable line and the ids to look it up,
# instead of the raw event JSON. The same InputTransformer deployed and local.
ALERT_EMAIL_TRANSFORMER: dict[str, Any] = {
    "InputPathsMap": {
        "plate": "$.detail.plate_read",
        "entry": "$.detail.entry.plate",
        "label": "$.detail.entry.label",
        "how": "$.detail.how",
        "confidence": "$.detail.confidence",
        "upload": "$.detail.upload_id",
        "at": "$.detail.alerted_at",
    },
    "InputTemplate": (
        '"platescan read <plate> at <at>: it matches watchlist entry <entry> (<label>), '
        '<how> match, confidence <confidence>. Upload <upload>."'
    ),
}
