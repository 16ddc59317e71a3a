"""Mark Failed: the record of an execution that did not succeed, marked FAILED."""

from __future__ import annotations

import json
from typing import Any

from platescan import aws, records
from platescan.settings import get_settings
from platescan.stages.events import error_from_states, object_from_event


def execution_input(detail: dict[str, Any]) -> str:
    """The failed execution's input: from the event, or from Step Functions when left out.

    EventBridge carries an execution's input only while it is small enough for the event,
    and `inputDetails.included` says whether it did (Step Functions API reference,
    CloudWatchEventsExecutionDataDetails). When it did not, DescribeExecution returns it.
    Under the stack's own KMS key that call also decrypts the history, which this
    function's role may do for this state machine only.
    """
    included = (detail.get("inputDetails") or {}).get("included", True)
    if included and detail.get("input") is not None:
        return str(detail["input"])
    described = aws.client("stepfunctions").describe_execution(
        executionArn=str(detail["executionArn"])
    )
    return str(described.get("input") or "{}")


def mark_failed(event: dict[str, Any]) -> dict[str, Any]:
    """Listener on execution status changes: mark the upload's record FAILED.

    The execution itself stays failed at its Task, so an operator can redrive it.
    """
    detail = event["detail"]
    try:
        execution = json.loads(execution_input(detail))
        obj = object_from_event(execution["detail"], execution.get("time"))
    except (ValueError, KeyError, TypeError):
        return {"marked": False, "reason": "the execution input is not an S3 event"}
    status = str(detail.get("status", "FAILED"))
    error = error_from_states(
        {"Error": detail.get("error") or f"Execution{status.title()}", "Cause": detail.get("cause")}
    )
    settings = get_settings()
    marked = records.mark_failed(
        settings.results_table,
        obj,
        error,
        str(detail.get("executionArn", "")),
        settings.retention_days,
    )
    return {"upload_id": obj["upload_id"], "marked": marked}
