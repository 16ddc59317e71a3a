"""The state machine executed locally by moto's interpreter, on each of its paths.

Uploads go into the local bucket; EventBridge starts the execution; the real handlers run.
Rekognition is moto's, told by each test what to answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.exceptions import JsonRESTError

from platescan import aws
from platescan.local.runtime import LocalStack
from tests.support import detections, line, plate_photo

Answer = Callable[[Any], None]


def history(stack: LocalStack, execution_arn: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    return list(sfn.get_execution_history(executionArn=execution_arn)["events"])


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"
    ]


def test_plate_found_is_done_with_the_plate_and_its_box(
    rekognition_stack: LocalStack, rekognition_returns: Answer
) -> None:
    # Given Rekognition reads a plate and some other text on the photo
    rekognition_returns(detections(
        line("CALIFORNIA", 97.0, 0.42, 0.60, 0.16, 0.03),
        line("7ABC123", 98.5, 0.40, 0.64, 0.20, 0.08),
        line("dmv.ca.gov", 90.0, 0.43, 0.73, 0.14, 0.02),
    ))  # fmt: skip
    # When a photo is uploaded
    upload_id = rekognition_stack.put_photo(plate_photo("7ABC123"), "my car.jpg")
    record = rekognition_stack.wait_for(upload_id, timeout=60)

    # Then the record holds the plate, where it is, and how sure we are
    assert record["status"] == "DONE"
    plate = record["plates"][0]
    assert plate["text"] == "7ABC123"
    assert plate["region"] == "US"
    assert 0.0 < plate["confidence"] <= 1.0
    assert abs(plate["box"]["left"] - 0.40) < 0.01 and abs(plate["box"]["width"] - 0.20) < 0.01
    assert record["plate_text"] == "7ABC123"
    assert record["engine"] == "rekognition"
    assert record["file_name"] == "my car.jpg"
    assert (record["width"], record["height"]) == (1280, 720)
    assert set(record["timings_ms"]) == {"read_metadata", "detect_text", "validate_plate"}
    (execution,) = rekognition_stack.executions()
    assert execution["status"] == "SUCCEEDED"
    events = history(rekognition_stack, execution["executionArn"])
    assert entered_states(events) == [
        "Read Metadata",
        "Detect Text",
        "Validate Plate",
        "Write Result",
    ]


def test_no_plate_text_is_no_plate(
    rekognition_stack: LocalStack, rekognition_returns: Answer
) -> None:
    rekognition_returns(detections(
        line("TOYOTA", 99.0, 0.45, 0.5, 0.1, 0.04),
        line("FOR SALE", 95.0, 0.1, 0.1, 0.1, 0.04),
    ))  # fmt: skip
    upload_id = rekognition_stack.put_photo(plate_photo(""), "street.png")
    record = rekognition_stack.wait_for(upload_id, timeout=60)
    assert record["status"] == "NO_PLATE"
    assert record["plates"] == []
    assert "plate_text" not in record


def test_rejected_input_is_recorded_with_its_reason_and_the_execution_succeeds(
    rekognition_stack: LocalStack,
) -> None:
    upload_id = rekognition_stack.put_photo(b"this is not a photo\n", "notes.jpg")
    record = rekognition_stack.wait_for(upload_id, timeout=60)
    assert record["status"] == "REJECTED"
    assert record["error"]["type"] == "UnsupportedImage"
    assert "only JPEG and PNG" in record["error"]["message"]
    (execution,) = rekognition_stack.executions()
    assert execution["status"] == "SUCCEEDED"
    events = history(rekognition_stack, execution["executionArn"])
    assert entered_states(events) == ["Read Metadata", "Write Rejection"]
    # a permanent error is not retried
    assert rekognition_stack.registry.invocations["platescan-read-metadata"] == 1


def test_throttling_is_retried_with_backoff_then_succeeds(
    rekognition_stack: LocalStack, rekognition_returns: Answer
) -> None:
    # Given Rekognition throttles the first two calls
    calls = {"n": 0}

    def flaky() -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        return detections(line("8XYZ789", 97.0, 0.4, 0.6, 0.2, 0.08))

    rekognition_returns(flaky)
    upload_id = rekognition_stack.put_photo(plate_photo("8XYZ789"), "car.jpg")
    record = rekognition_stack.wait_for(upload_id, timeout=60)

    # Then the execution retried Detect Text and the plate was read
    assert record["status"] == "DONE" and record["plates"][0]["text"] == "8XYZ789"
    assert calls["n"] == 3
    (execution,) = rekognition_stack.executions()
    failures = [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in history(rekognition_stack, execution["executionArn"])
        if e["type"] == "LambdaFunctionFailed"
    ]
    assert failures == ["DetectorThrottled", "DetectorThrottled"]


def test_retries_exhausted_fail_at_the_task_and_the_record_is_failed(
    rekognition_stack: LocalStack, rekognition_returns: Answer
) -> None:
    rekognition_returns(JsonRESTError("InternalServerError", "boom"))
    upload_id = rekognition_stack.put_photo(plate_photo("8XYZ789"), "car.jpg")
    record = rekognition_stack.wait_for(upload_id, timeout=60)
    assert record["status"] == "FAILED"
    assert record["error"]["type"] == "DetectorUnavailable"
    (execution,) = rekognition_stack.executions()
    assert execution["status"] == "FAILED"
    events = history(rekognition_stack, execution["executionArn"])
    assert entered_states(events)[-1] == "Detect Text"
    assert record["execution_arn"] == execution["executionArn"]
