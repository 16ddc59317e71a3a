"""What the S3 and Step Functions events say, shaped for the stages that write records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from platescan import records
from platescan.contract import ObjectCreatedDetail, ObjectFacts


def _event_time(value: Any) -> str:
    """EventBridge's `time` is ISO-8601; moto sends epoch seconds. Either becomes ISO-8601."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    return str(value or records.now_iso())


def object_from_event(detail: ObjectCreatedDetail, event_time: Any = None) -> ObjectFacts:
    """The facts an S3 `Object Created` event gives about the object, before we look at it."""
    bucket = detail["bucket"]["name"]
    obj = detail["object"]
    key = obj["key"]
    # Unversioned buckets report no version, or the literal "null" as some emitters do.
    version_id = obj.get("version-id") or None
    if version_id == "null":
        version_id = None
    # Some emitters spell it eTag.
    etag = str(obj.get("etag") or obj.get("eTag") or "")
    return {
        "upload_id": records.upload_id_from_key(key),
        "bucket": bucket,
        "key": key,
        "file_name": records.file_name_from_key(key),
        "version_id": version_id,
        "etag": etag,
        "object_version": version_id or etag,
        "size": obj.get("size"),
        "uploaded_at": _event_time(event_time),
    }


def error_from_states(error: dict[str, Any]) -> dict[str, str]:
    """Step Functions' `{"Error", "Cause"}` -> `{"type", "message"}` for the record.

    A Lambda error's Cause is the JSON the runtime wrote (`errorType`, `errorMessage`, ...).
    """
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause") or ""
    message = cause
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict):
        message = parsed.get("errorMessage") or parsed.get("message") or cause
    return {"type": name, "message": str(message)[:1000] or name}
