"""Mark Failed: the record of an execution that did not succeed, marked FAILED."""

from __future__ import annotations

import json
from typing import Any

from platescan import records
from platescan.settings import get_settings
from platescan.stages.events import error_from_states, object_from_event


def mark_failed(event: dict[str, Any]) -> dict[str, Any]:
    """Listener on execution status changes: mark the upload's record FAILED.

    The execution itself stays failed at its Task, so an operator can redrive it.
    """
    detail = event["detail"]
    try:
        execution_input = json.loads(detail.get("input") or "{}")
        obj = object_from_event(execution_input["detail"], execution_input.get("time"))
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
