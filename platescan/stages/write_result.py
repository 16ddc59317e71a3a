"""Write Result: the final record, once per object version (rejections too)."""

from __future__ import annotations

from platescan import alerts, records, review
from platescan.contract import WriteRejectionInput, WriteResultInput, WriteResultOutput
from platescan.settings import get_settings
from platescan.stages.events import error_from_states, object_from_event


def write_result(event: WriteResultInput | WriteRejectionInput) -> WriteResultOutput:
    """Write the final record, once per object version. Also writes rejections."""
    settings = get_settings()
    if "error" in event:
        obj = object_from_event(event["detail"], event.get("event_time"))
        record = records.build_result(
            obj,
            status=records.REJECTED,
            plates=[],
            engine=None,
            timings_ms={},
            execution_arn=event.get("execution_arn", ""),
            error=error_from_states(event["error"]),
        )
    else:
        obj, reading = event["object"], event["reading"]
        record = records.build_result(
            obj,
            status=reading["status"],
            plates=reading["plates"],
            engine=event["detection"]["engine"],
            timings_ms={
                "read_metadata": obj.get("elapsed_ms", 0.0),
                "detect_text": event["detection"].get("elapsed_ms", 0.0),
                "validate_plate": reading.get("elapsed_ms", 0.0),
            },
            execution_arn=event.get("execution_arn", ""),
        )
        # Readings the reader was unsure of wait for a person (see platescan.review).
        record["review"] = review.review_state(
            reading["status"], reading["plates"], settings.review_threshold
        )
    stored = records.write_result(settings.results_table, record, settings.retention_days)
    stored = review.keep_correction_searchable(settings.results_table, stored)
    # Then the owner's watchlist, in this same Task: a separate one would add a state
    # transition to every photo (docs/contracts.md). The execution ARN names the claimer:
    # a retry or a redrive of this execution may finish an alert it claimed; another
    # execution for the same photo may not (platescan.alerts).
    matches = alerts.check_record(
        alerts.tables_from_settings(),
        stored,
        claimer=event.get("execution_arn") or stored["upload_id"],
    )
    return {
        "upload_id": stored["upload_id"],
        "status": stored["status"],
        # the execution's output: a count, not the plates (personal data)
        "plate_count": len(stored.get("plates") or []),
        "alerts_raised": sum(1 for match in matches if match["new"]),
    }
