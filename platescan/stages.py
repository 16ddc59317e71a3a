"""The pipeline's stages as plain functions: what each Lambda handler does, minus Lambda.

Each takes the Task's input as the state machine passes it (see the ASL's `Parameters`) and
returns a small JSON-able result. They know nothing of Powertools or of the runtime they
run in, so unit tests call them directly and the handlers stay a few lines long.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from platescan import aws, records
from platescan.engines import get_detector
from platescan.errors import UnsupportedImage
from platescan.images import MAX_BYTES, inspect_image
from platescan.plates import read_plates
from platescan.settings import get_settings


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _event_time(value: Any) -> str:
    """EventBridge's `time` is ISO-8601; moto sends epoch seconds. Either becomes ISO-8601."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    return str(value or records.now_iso())


def object_from_event(detail: dict[str, Any], event_time: Any = None) -> dict[str, Any]:
    """The facts an S3 `Object Created` event gives about the object, before we look at it."""
    bucket = detail["bucket"]["name"]
    obj = detail["object"]
    key = obj["key"]
    # Unversioned buckets report no version, or the literal "null" as some emitters do.
    version_id = obj.get("version-id") or None
    if version_id == "null":
        version_id = None
    etag = obj.get("etag") or obj.get("eTag") or ""
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


def read_metadata(event: dict[str, Any]) -> dict[str, Any]:
    """The object's metadata plus the image checks; marks the record PROCESSING.

    Raises UnsupportedImage (permanent) for anything that is not a readable JPEG/PNG photo.
    """
    started = time.perf_counter()
    obj = object_from_event(event["detail"], event.get("event_time"))
    s3 = aws.client("s3")
    version = {"VersionId": obj["version_id"]} if obj["version_id"] else {}
    try:
        # GetObject answers with the same metadata as HeadObject; the body is a stream not
        # yet read, so an oversized object is refused without downloading it.
        got = s3.get_object(Bucket=obj["bucket"], Key=obj["key"], **version)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise UnsupportedImage("the uploaded object no longer exists") from exc
        raise
    size = int(got["ContentLength"])
    if size > MAX_BYTES:
        got["Body"].close()
        raise UnsupportedImage(
            f"the file is {size / 1_048_576:.1f} MB; the limit is {MAX_BYTES // 1_048_576} MB"
        )
    body = got["Body"].read()
    facts = inspect_image(body)

    obj.update(
        size=size,
        etag=got.get("ETag", obj["etag"]).strip('"'),
        declared_content_type=got.get("ContentType"),
        content_type=facts.content_type,
        width=facts.width,
        height=facts.height,
        orientation=facts.orientation,
        region_hint=(got.get("Metadata") or {}).get("region"),
    )
    obj["object_version"] = obj["version_id"] or obj["etag"]
    records.mark_processing(get_settings().results_table, obj, event.get("execution_arn", ""))
    obj["elapsed_ms"] = _elapsed_ms(started)
    return {"object": obj}


def detect_text(event: dict[str, Any]) -> dict[str, Any]:
    """Run the configured text detector on the object; DetectText's response shape back."""
    started = time.perf_counter()
    obj = event["object"]
    detector = get_detector(get_settings().detector_engine)
    response = detector.detect(bucket=obj["bucket"], key=obj["key"], version_id=obj["version_id"])
    response.pop("ResponseMetadata", None)
    return {"engine": detector.name, "response": response, "elapsed_ms": _elapsed_ms(started)}


def validate_plate(event: dict[str, Any]) -> dict[str, Any]:
    """Match the detected text against plate formats; DONE with plates, or NO_PLATE."""
    started = time.perf_counter()
    hint = event["object"].get("region_hint") or get_settings().region_hint
    plates = read_plates(event["detection"]["response"], region_hint=hint)
    status = records.DONE if plates else records.NO_PLATE
    return {"status": status, "plates": plates, "elapsed_ms": _elapsed_ms(started)}


def write_result(event: dict[str, Any]) -> dict[str, Any]:
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
        "plates": [p["text"] for p in stored.get("plates", [])],
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
    marked = records.mark_failed(
        get_settings().results_table, obj, error, str(detail.get("executionArn", ""))
    )
    return {"upload_id": obj["upload_id"], "marked": marked}
