"""Each Lambda handler called directly with a realistic event, on moto.

The state machine tests run the same handlers through moto's interpreter; these pin down
each handler's own contract: what it takes, what it returns, what it raises.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from moto import mock_aws

from platescan import aws, contract
from platescan.errors import UnsupportedImage
from platescan.local.gaps import LambdaContext
from platescan.settings import get_settings
from tests.support import FakeRekognition, detections, line, plate_photo

EVENTS = Path(__file__).parent / "events"
BUCKET, TABLE = "platescan-uploads", "platescan-results"
KEY = "uploads/q0xW3ZbKp5mVgTfR2sYd1A/front of car.jpg"


def event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text()))


@pytest.fixture
def cloud() -> Iterator[Any]:
    env = {
        "RESULTS_TABLE": TABLE,
        "UPLOADS_BUCKET": BUCKET,
        "DETECTOR_ENGINE": "rekognition",
        "RETENTION_DAYS": "30",
        "WATCHLISTS_TABLE": "platescan-watchlists",
        "ALERTS_TABLE": "platescan-alerts",
        "EVENT_BUS_NAME": "platescan-events",
        "REVIEW_THRESHOLD": "0.8",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    with mock.patch.dict(os.environ, env), mock_aws():
        get_settings.cache_clear()
        aws.reset()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**contract.create_table_request(TABLE))
        for name, schema in (
            ("platescan-watchlists", contract.WATCHLISTS_SCHEMA),
            ("platescan-alerts", contract.ALERTS_SCHEMA),
        ):
            dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **schema)
        boto3.client("events").create_event_bus(Name="platescan-events")
        yield s3
        aws.reset()
    get_settings.cache_clear()


def handler(name: str) -> Any:
    from importlib import import_module

    return import_module(f"functions.{name}.app").lambda_handler


def context(name: str) -> LambdaContext:
    return LambdaContext(function_name=f"platescan-{name}")


def read_metadata_input(s3_event: dict[str, Any]) -> dict[str, Any]:
    """What the ASL's Parameters hand Read Metadata."""
    return {"detail": s3_event["detail"], "event_time": s3_event["time"], "execution_arn": "arn:x"}


def test_read_metadata_returns_the_object_facts_and_marks_processing(cloud: Any) -> None:
    cloud.put_object(Bucket=BUCKET, Key=KEY, Body=plate_photo("7ABC123"), ContentType="image/jpeg")
    result = handler("read_metadata")(read_metadata_input(event("object_created")), context("rm"))
    obj = result["object"]
    assert obj["upload_id"] == "q0xW3ZbKp5mVgTfR2sYd1A"
    assert obj["file_name"] == "front of car.jpg"
    assert (obj["width"], obj["height"], obj["content_type"]) == (1280, 720, "image/jpeg")
    assert obj["uploaded_at"] == "2026-11-24T10:15:30Z"
    item = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"upload_id": obj["upload_id"]})
    assert item["Item"]["status"] == "PROCESSING"


def test_read_metadata_raises_unsupported_image_for_a_pdf(cloud: Any) -> None:
    cloud.put_object(Bucket=BUCKET, Key=KEY, Body=b"%PDF-1.4 ...", ContentType="image/jpeg")
    with pytest.raises(UnsupportedImage, match="not an image"):
        handler("read_metadata")(read_metadata_input(event("object_created")), context("rm"))


def test_read_metadata_on_a_deleted_object_is_a_rejection(cloud: Any) -> None:
    with pytest.raises(UnsupportedImage, match="no longer exists"):
        handler("read_metadata")(read_metadata_input(event("object_created")), context("rm"))


def _s3_answers_403_on_get(monkeypatch: pytest.MonkeyPatch) -> None:
    """GetObject answers as S3 does to a caller without s3:ListBucket: 403, never 404."""
    from botocore.exceptions import ClientError

    def forbidden(**params: Any) -> Any:
        error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
        raise ClientError(error, "GetObject")

    monkeypatch.setattr(aws.client("s3"), "get_object", forbidden)


def test_a_deleted_photo_answered_with_403_is_still_a_rejection(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given S3 answers AccessDenied for the missing key (AWS's answer without ListBucket)
    _s3_answers_403_on_get(monkeypatch)
    # Then Read Metadata still sees that the photo is gone: a REJECTED result, not a retry
    with pytest.raises(UnsupportedImage, match="no longer exists"):
        handler("read_metadata")(read_metadata_input(event("object_created")), context("rm"))


def test_a_real_permission_problem_is_not_mistaken_for_a_deleted_photo(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    # Given the photo is there but GetObject is refused
    cloud.put_object(Bucket=BUCKET, Key=KEY, Body=plate_photo("7ABC123"))
    _s3_answers_403_on_get(monkeypatch)
    # Then the error stays an error: retried, then FAILED and redrivable once fixed
    with pytest.raises(ClientError, match="AccessDenied"):
        handler("read_metadata")(read_metadata_input(event("object_created")), context("rm"))


def test_detect_text_answers_in_detect_text_shape(cloud: Any) -> None:
    answer = detections(line("7ABC123", 98.0, 0.4, 0.6, 0.2, 0.08))
    word = {**answer["TextDetections"][0], "Type": "WORD", "Id": 1, "ParentId": 0}
    answer["TextDetections"].append(word)
    cloud.put_object(Bucket=BUCKET, Key=KEY, Body=plate_photo("7ABC123"))
    obj = {"bucket": BUCKET, "key": KEY, "version_id": None, "upload_id": "q0xW3ZbKp5mVgTfR2sYd1A"}
    with FakeRekognition(answer).installed():
        result = handler("detect_text")({"object": obj}, context("dt"))
    assert result["engine"] == "rekognition"
    # Lines only: plates are read from lines, and words would double the state data.
    assert [(d["Type"], d["DetectedText"]) for d in result["response"]["TextDetections"]] == [
        ("LINE", "7ABC123")
    ]
    assert "ResponseMetadata" not in result["response"]


def test_validate_plate_separates_the_plate_from_other_text(cloud: Any) -> None:
    response = detections(
        line("CALIFORNIA", 97.0, 0.42, 0.60, 0.16, 0.03),
        line("7ABC123", 98.5, 0.40, 0.64, 0.20, 0.08),
    )
    obj = {"upload_id": "q0xW3ZbKp5mVgTfR2sYd1A", "region_hint": None}
    result = handler("validate_plate")(
        {"object": obj, "detection": {"response": response}}, context("vp")
    )
    assert result["status"] == "DONE"
    assert [p["text"] for p in result["plates"]] == ["7ABC123"]


def test_write_result_writes_once_per_version(cloud: Any) -> None:
    obj = {
        "upload_id": "q0xW3ZbKp5mVgTfR2sYd1A",
        "bucket": BUCKET,
        "key": KEY,
        "object_version": "e1",
        "etag": "e1",
        "uploaded_at": "2026-11-24T10:15:30Z",
        "elapsed_ms": 20.0,
    }
    plate = {
        "text": "7ABC123",
        "confidence": 0.97,
        "region": "US",
        "format": "US",
        "box": {"left": 0.4, "top": 0.6, "width": 0.2, "height": 0.08},
        "candidates": [],
    }
    task_input = {
        "object": obj,
        "reading": {"status": "DONE", "plates": [plate], "elapsed_ms": 2.0},
        "detection": {"engine": "rekognition", "elapsed_ms": 310.0},
        "execution_arn": "arn:exec:1",
    }
    first = handler("write_result")(task_input, context("wr"))
    second = handler("write_result")(task_input, context("wr"))
    assert (
        first
        == second
        == {
            "upload_id": obj["upload_id"],
            "status": "DONE",
            "plate_count": 1,
            "alerts_raised": 0,
        }
    )
    items = boto3.resource("dynamodb").Table(TABLE).scan()["Items"]
    assert len(items) == 1 and items[0]["timings_ms"]["detect_text"] == 310


def test_write_result_records_a_rejection_with_its_reason(cloud: Any) -> None:
    s3_event = event("object_created")
    cause = {
        "errorType": "UnsupportedImage",
        "errorMessage": "only JPEG and PNG photos are supported",
    }
    task_input = {
        "detail": s3_event["detail"],
        "event_time": s3_event["time"],
        "execution_arn": "arn:exec:2",
        "error": {"Error": "UnsupportedImage", "Cause": json.dumps(cause)},
    }
    assert handler("write_result")(task_input, context("wr"))["status"] == "REJECTED"
    item = (
        boto3.resource("dynamodb")
        .Table(TABLE)
        .get_item(Key={"upload_id": "q0xW3ZbKp5mVgTfR2sYd1A"})
    )
    assert item["Item"]["error"] == {"type": "UnsupportedImage", "message": cause["errorMessage"]}


def _record(upload_id: str) -> dict[str, Any]:
    """The results table's record of one upload, as the handlers left it."""
    return dict(
        boto3.resource("dynamodb").Table(TABLE).get_item(Key={"upload_id": upload_id})["Item"]
    )


def test_mark_failed_marks_the_record_from_the_status_change_event(cloud: Any) -> None:
    result = handler("mark_failed")(event("execution_failed"), context("mf"))
    assert result == {"upload_id": "q0xW3ZbKp5mVgTfR2sYd1A", "marked": True}
    item = _record("q0xW3ZbKp5mVgTfR2sYd1A")
    assert item["status"] == "FAILED"
    assert item["error"] == {
        "type": "DetectorUnavailable",
        "message": "Rekognition failed (InternalServerError): boom",
    }
    assert item["execution_arn"].endswith(":5d73c85b")


def test_mark_failed_asks_step_functions_for_an_input_the_event_left_out(cloud: Any) -> None:
    # EventBridge leaves out an input too large for the event; Step Functions still has it.
    sent = event("execution_failed")
    states = boto3.client("stepfunctions")
    machine = states.create_state_machine(
        name="platescan-pipeline",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/platescan-states",
    )
    started = states.start_execution(
        stateMachineArn=machine["stateMachineArn"], input=sent["detail"]["input"]
    )
    sent["detail"].update(
        executionArn=started["executionArn"], input=None, inputDetails={"included": False}
    )
    result = handler("mark_failed")(sent, context("mf"))
    assert result == {"upload_id": "q0xW3ZbKp5mVgTfR2sYd1A", "marked": True}
    item = _record("q0xW3ZbKp5mVgTfR2sYd1A")
    assert item["status"] == "FAILED"
    assert item["execution_arn"] == started["executionArn"]


def test_mark_failed_ignores_events_that_are_not_ours(cloud: Any) -> None:
    foreign = event("execution_failed")
    foreign["detail"]["input"] = json.dumps({"hello": "world"})
    assert handler("mark_failed")(foreign, context("mf"))["marked"] is False
