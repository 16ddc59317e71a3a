"""Write Result: the final record, once per object version (rejections too)."""

from __future__ import annotations

from platescan import records
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
    stored = records.write_result(settings.results_table, record, settings.retention_days)
    return {
        "upload_id": stored["upload_id"],
        "status": stored["status"],
        # the execution's output: a count, not the plates (personal data)
        "plate_count": len(stored.get("plates") or []),
    }
