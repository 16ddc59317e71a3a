"""Faults injected into the locally executed state machine, and what each one leaves.

Rekognition throttling, an OCR timeout and DynamoDB throttling are retried with backoff
and end DONE; retries that run out stop the execution at the failing Task with a FAILED
record; a conditional-write conflict leaves the newer result in place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.exceptions import JsonRESTError
from moto.events import models as events_models
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from platescan import aws, records
from platescan.errors import DetectorTimeout
from platescan.local.runtime import ACCOUNT_ID, LocalStack
from tests.reliability.conftest import (
    PLATE,
    describe,
    entered_states,
    failed_attempts,
    once,
    plate_answer,
    wait_executions,
)
from tests.support import FakeRekognition, plate_photo


@pytest.fixture
def waits(shared_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The Retry waits the interpreter asks for, in seconds before the local scaling."""
    asked: list[float] = []
    scaled = retrier_decl.time.sleep

    def sleep(seconds: float) -> None:
        asked.append(seconds)
        scaled(seconds)

    monkeypatch.setattr(retrier_decl.time, "sleep", sleep)
    yield asked


def upload(stack: LocalStack) -> str:
    return stack.put_photo(plate_photo(PLATE), "car.jpg", content_type="image/jpeg")


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_rekognition_throttling_is_retried_with_backoff_then_done(
    stack: LocalStack, rekognition: FakeRekognition, waits: list[float], code: str
) -> None:
    # Given Rekognition refuses the first two calls with `code`
    def throttled_twice() -> dict[str, Any]:
        if rekognition.calls <= 2:
            raise JsonRESTError(code, "Rate exceeded")
        return plate_answer()

    rekognition.answer = throttled_twice

    # When a photo is uploaded
    upload_id = upload(stack)
    record = stack.wait_for(upload_id, timeout=60)

    # Then Detect Text was retried twice, with waits capped by the backoff (2 s, then 4 s,
    # full jitter), and the plate was read
    assert record["status"] == records.DONE and record["plates"][0]["text"] == PLATE
    assert rekognition.calls == 3
    (execution,) = wait_executions(stack, upload_id, 1)
    assert failed_attempts(execution["executionArn"]) == ["DetectorThrottled"] * 2
    assert len(waits) == 2
    assert 0 <= waits[0] <= 2.0 and 0 <= waits[1] <= 4.0


def test_an_ocr_timeout_is_retried_then_done(stack: LocalStack) -> None:
    stack.registry.faults["platescan-detect-text"] = once(DetectorTimeout("took longer than 30 s"))
    upload_id = upload(stack)
    record = stack.wait_for(upload_id, timeout=60)
    assert record["status"] == records.DONE
    (execution,) = wait_executions(stack, upload_id, 1)
    assert failed_attempts(execution["executionArn"]) == ["DetectorTimeout"]


def test_an_ocr_engine_that_keeps_timing_out_fails_at_detect_text(stack: LocalStack) -> None:
    def always(event: dict[str, Any]) -> None:
        raise DetectorTimeout("text detection took longer than 30 s")

    stack.registry.faults["platescan-detect-text"] = always
    upload_id = upload(stack)
    record = stack.wait_for(upload_id, timeout=60)

    # Two retries (MaxAttempts 2), then the execution stops at the Task, redrivable
    (execution,) = wait_executions(stack, upload_id, 1)
    assert execution["status"] == "FAILED"
    assert failed_attempts(execution["executionArn"]) == ["DetectorTimeout"] * 3
    assert entered_states(execution["executionArn"])[-1] == "Detect Text"
    assert record["status"] == records.FAILED
    assert record["error"]["type"] == "DetectorTimeout"
    assert "longer than 30 s" in record["error"]["message"]
    assert record["execution_arn"] == execution["executionArn"]


def test_dynamodb_throttling_on_the_write_is_retried_then_done(stack: LocalStack) -> None:
    # The modelled botocore exception: its class name is the error code the ASL matches
    throttled = aws.client("dynamodb").exceptions.ProvisionedThroughputExceededException(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "PutItem",
    )
    stack.registry.faults["platescan-write-result"] = once(throttled)
    upload_id = upload(stack)
    record = stack.wait_for(upload_id, timeout=60)
    assert record["status"] == records.DONE
    (execution,) = wait_executions(stack, upload_id, 1)
    assert failed_attempts(execution["executionArn"]) == ["ProvisionedThroughputExceededException"]


def test_a_result_already_written_for_the_upload_is_kept(stack: LocalStack) -> None:
    # Given the record already holds the result of another photo of the same upload
    upload_id = "conflict" + "n" * 14
    earlier = records.build_result(
        {"upload_id": upload_id, "object_version": "first-etag", "uploaded_at": "2026-01-01"},
        status=records.DONE,
        plates=[{"text": "FIRST1", "confidence": 0.99}],
        engine="rekognition",
        timings_ms={},
        execution_arn="arn:first",
    )
    records.write_result(stack.config.table, earlier, retention_days=1)

    # When another photo arrives under the same upload id
    stack.put_photo(plate_photo(PLATE), "car.jpg", content_type="image/jpeg", upload_id=upload_id)
    (execution,) = wait_executions(stack, upload_id, 1)

    # Then the execution ended without processing it, and the first result stays
    assert execution["status"] == "SUCCEEDED"
    record = stack.record(upload_id)
    assert record is not None and record["plate_text"] == "FIRST1"
    assert record["execution_arn"] == "arn:first"


def test_a_second_version_and_a_late_first_event_are_not_processed_again(
    stack: LocalStack, rekognition: FakeRekognition
) -> None:
    # Given a versioned bucket and the first version of an upload processed
    s3 = aws.client("s3")
    s3.put_bucket_versioning(
        Bucket=stack.config.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    upload_id = "versions" + "v" * 14
    rekognition.answer = plate_answer("OLD1234")
    stack.put_photo(plate_photo("OLD1234"), "car.jpg", upload_id=upload_id)
    (first,) = wait_executions(stack, upload_id, 1)
    old_event = json.loads(describe(first["executionArn"])["input"])
    processed = stack.record(upload_id)
    assert processed is not None and processed["plate_text"] == "OLD1234"

    # When a second version is put under the same key (the same form posted again)
    rekognition.answer = plate_answer("NEW5678")
    stack.put_photo(plate_photo("NEW5678"), "car.jpg", upload_id=upload_id)
    wait_executions(stack, upload_id, 2)
    # and the first version's event is delivered again, late
    backend = events_models.events_backends[ACCOUNT_ID][stack.config.region]
    for rule in backend.event_buses["default"].rules.values():
        rule.send_to_targets(old_event, transform_input=False)
    runs = wait_executions(stack, upload_id, 3)

    # Then every execution succeeded, and the record is the first one, untouched
    assert [r["status"] for r in runs] == ["SUCCEEDED"] * 3
    after = stack.record(upload_id)
    assert after is not None and after["plate_text"] == "OLD1234"
    assert after["version_id"] == processed["version_id"]
    assert after["execution_arn"] == first["executionArn"]
