"""replay-dlq on the local stack: each shape the dead-letter queue holds goes where it belongs."""

from __future__ import annotations

import argparse
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber

from platescan import aws, contract
from platescan.local.runtime import LocalStack
from platescan.tools import replay_dlq
from tests.support import detections, line, plate_photo

READING = detections(line("7ABC123", 99.0, 0.4, 0.6, 0.2, 0.08))


def _s3_event(stack: LocalStack, key: str) -> dict[str, Any]:
    """The event EventBridge would have delivered for `key`, as it sends it."""
    head = aws.client("s3").head_object(Bucket=stack.config.bucket, Key=key)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-30T12:00:00Z",
        "region": stack.config.region,
        "resources": [f"arn:aws:s3:::{stack.config.bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": stack.config.bucket},
            "object": {
                "key": key,
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
            },
            "reason": "PostObject",
        },
    }


def _status_change(stack: LocalStack, s3_event: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "executionArn": stack.state_machine_arn.replace(":stateMachine:", ":execution:")
            + ":x1",
            "stateMachineArn": stack.state_machine_arn,
            "status": "TIMED_OUT",
            "input": json.dumps(s3_event),
            "error": "States.Timeout",
            "cause": "the execution ran past its TimeoutSeconds",
        },
    }


def _destination_record(stack: LocalStack, event: dict[str, Any]) -> dict[str, Any]:
    """What Lambda's on-failure destination writes when mark_failed kept failing."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-30T12:00:05.000Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{stack.function_arns['mark_failed']}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "throttled", "errorType": "ClientError"},
    }


def _photo_without_event(stack: LocalStack, upload_id: str) -> str:
    """A photo in the bucket whose Object Created event never reached the pipeline."""
    s3 = aws.client("s3")
    s3.put_bucket_notification_configuration(
        Bucket=stack.config.bucket, NotificationConfiguration={}
    )
    key = f"uploads/{upload_id}/car.jpg"
    s3.put_object(
        Bucket=stack.config.bucket, Key=key, Body=plate_photo("7ABC123"), ContentType="image/jpeg"
    )
    s3.put_bucket_notification_configuration(
        Bucket=stack.config.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    return key


@pytest.fixture
def stack(
    stack_factory: Callable[..., LocalStack], rekognition_returns: Callable[[Any], None]
) -> LocalStack:
    rekognition_returns(READING)
    return stack_factory(engine="rekognition")


def _queue_with(*bodies: Any) -> str:
    sqs = aws.client("sqs")
    url = str(sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    for body in bodies:
        sqs.send_message(
            QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body)
        )
    return url


def _run(
    stack: LocalStack,
    url: str,
    *flags: str,
    alerts_url: str | None = None,
    bus: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    parser = argparse.ArgumentParser()
    replay_dlq.add_arguments(parser)
    args = parser.parse_args(
        [
            "--queue-url", url,
            "--state-machine-arn", stack.state_machine_arn,
            "--mark-failed-function", "platescan-mark-failed",
            "--alerts-queue-url", alerts_url or _queue_with(),
            "--event-bus", bus or stack.config.event_bus,
            *flags,
        ]
    )  # fmt: skip
    out = io.StringIO()
    status = replay_dlq.main(args, out=out)
    return status, [json.loads(text) for text in out.getvalue().splitlines()]


def _left(url: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_each_shape_is_replayed_where_it_belongs(stack: LocalStack) -> None:
    # Given an upload whose S3 event was dead-lettered, one whose failure notice was, and
    # one whose mark_failed invocation kept failing (a Lambda destination record)
    lost_key = _photo_without_event(stack, "LostEvent00000000000000")
    lost = _s3_event(stack, lost_key)
    timed_out = _status_change(
        stack, _s3_event(stack, _photo_without_event(stack, "TimedOut0000000000000000"))
    )
    gone = _status_change(
        stack, _s3_event(stack, _photo_without_event(stack, "Destination0000000000000"))
    )
    url = _queue_with(lost, timed_out, _destination_record(stack, gone), "not json at all")
    # When the queue is replayed
    status, lines = _run(stack, url)
    # Then each message was handled by its kind and said so
    *messages, summary = lines
    kinds = {m.get("upload_id", "?"): (m["kind"], m["result"]) for m in messages}
    assert kinds["LostEvent00000000000000"] == ("s3-object-created", "started")
    assert kinds["TimedOut0000000000000000"] == ("execution-status-change", "marked")
    assert kinds["Destination0000000000000"] == ("lambda-destination", "marked")
    assert kinds["?"] == ("unknown", "unknown")
    assert summary["found"] == 4 and summary["replayed"] == 3 and summary["left"] == 1
    assert status == 1  # something is left for a person to look at
    # the lost upload went through the pipeline; the other two are marked FAILED
    assert stack.wait_for("LostEvent00000000000000")["status"] == "DONE"
    assert stack.record("TimedOut0000000000000000")["status"] == "FAILED"
    assert stack.record("TimedOut0000000000000000")["error"]["type"] == "States.Timeout"
    assert stack.record("Destination0000000000000")["status"] == "FAILED"
    # and only the unknown message stays in the queue
    assert _left(url) == 1


def test_a_dry_run_changes_nothing(stack: LocalStack) -> None:
    key = _photo_without_event(stack, "DryRun000000000000000000")
    url = _queue_with(_s3_event(stack, key))
    status, lines = _run(stack, url, "--dry-run")
    assert lines[0]["action"] == "would-start-execution" and lines[0]["result"] == "dry-run"
    assert lines[-1]["dry_run"] is True and lines[-1]["replayed"] == 0
    assert stack.executions() == [] and stack.record("DryRun000000000000000000") is None
    assert _left(url) == 1  # still there, and visible again for the real run
    status, lines = _run(stack, url)
    assert status == 0 and lines[0]["result"] == "started"
    assert stack.wait_for("DryRun000000000000000000")["status"] == "DONE"


def test_replaying_the_same_event_twice_starts_one_execution(stack: LocalStack) -> None:
    key = _photo_without_event(stack, "Twice0000000000000000000")
    event = _s3_event(stack, key)
    url = _queue_with(event, event)  # delivered to the queue twice, as at-least-once allows
    status, lines = _run(stack, url)
    assert status == 0
    assert sorted(m["result"] for m in lines[:-1]) == ["already-started", "started"]
    stack.wait_for("Twice0000000000000000000")
    assert len(stack.executions()) == 1


def test_missing_targets_are_named() -> None:
    parser = argparse.ArgumentParser()
    replay_dlq.add_arguments(parser)
    args = parser.parse_args(["--queue-url", "https://sqs.example/q"])
    assert replay_dlq.main(args) == 2


def _plate_matched(upload_id: str) -> dict[str, Any]:
    """A "Plate Matched" event as the alert rule's dead-letter queue receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": contract.PLATE_MATCHED_DETAIL_TYPE,
        "source": contract.PLATE_MATCHED_SOURCE,
        "account": "123456789012",
        "time": "2026-11-30T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "alert_id": f"{upload_id}-entry1",
            "upload_id": upload_id,
            "owner": "owner-1",
            "plate_read": "7ABC123",
            "confidence": 0.99,
            "how": "exact",
            "entry": {"entry_id": "entry1", "plate": "7ABC123", "label": "van"},
            "source": "pipeline",
        },
    }


def _alerts_dead_letters(*events: dict[str, Any]) -> str:
    """The alerts' queue, each event with the attributes EventBridge adds to a dead letter."""
    sqs = aws.client("sqs")
    url = str(sqs.create_queue(QueueName=f"alerts-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    for event in events:
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value}
                for name, value in (
                    ("ERROR_CODE", "SDK_CLIENT_ERROR"),
                    ("TARGET_ARN", "arn:aws:sns:us-east-1:123456789012:platescan-alerts"),
                )
            },
        )
    return url


def _listen(stack: LocalStack) -> str:
    """A queue receiving every Plate Matched event on the stack's bus, as put there."""
    sqs = aws.client("sqs")
    url = str(sqs.create_queue(QueueName=f"listener-{uuid.uuid4().hex[:8]}")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = aws.client("events")
    events.put_rule(
        Name="test-listener",
        EventBusName=stack.config.event_bus,
        EventPattern=json.dumps(contract.plate_matched_pattern()),
    )
    events.put_targets(
        Rule="test-listener",
        EventBusName=stack.config.event_bus,
        Targets=[{"Id": "listener", "Arn": arn}],
    )
    return url


def _heard(url: str) -> list[dict[str, Any]]:
    messages = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_a_plate_matched_dead_letter_is_put_back_on_the_bus(stack: LocalStack) -> None:
    # Given an alert the rule could not deliver, in the alerts' dead-letter queue
    event = _plate_matched("Matched00000000000000000")
    alerts_url = _alerts_dead_letters(event)
    listener = _listen(stack)
    # When the queues are replayed
    status, lines = _run(stack, _queue_with(), alerts_url=alerts_url)
    # Then the event is back on the stack's bus, as it was first put there
    (line, summary) = lines
    assert line["queue"] == "alerts" and line["kind"] == "plate-matched"
    assert line["upload_id"] == "Matched00000000000000000"
    assert line["action"] == "put-event" and line["result"] == "put"
    assert line["target"].endswith(":platescan-alerts")
    assert line["delivery_error"] == "SDK_CLIENT_ERROR"
    (heard,) = _heard(listener)
    assert heard["source"] == event["source"]
    assert heard["detail-type"] == event["detail-type"]
    assert heard["detail"] == event["detail"]
    assert heard["id"] != event["id"]  # a new event: EventBridge gives each put its own id
    # and the dead letter is gone
    assert status == 0 and summary["replayed"] == 1 and summary["by_kind"] == {"plate-matched": 1}
    assert _left(alerts_url) == 0


def test_a_plate_matched_dead_letter_stays_when_the_bus_refuses_it(stack: LocalStack) -> None:
    alerts_url = _alerts_dead_letters(_plate_matched("Refused00000000000000000"))
    status, lines = _run(stack, _queue_with(), alerts_url=alerts_url, bus="no-such-bus")
    assert lines[0]["kind"] == "plate-matched" and lines[0]["result"] == "error"
    assert status == 1 and lines[-1]["left"] == 1
    assert _left(alerts_url) == 1  # kept for the next run, visible again at once
    # once the bus is right, the same message goes through and is deleted
    listener = _listen(stack)
    status, lines = _run(stack, _queue_with(), alerts_url=alerts_url)
    assert status == 0 and lines[0]["result"] == "put"
    assert [e["detail"]["upload_id"] for e in _heard(listener)] == ["Refused00000000000000000"]
    assert _left(alerts_url) == 0


def test_a_dry_run_puts_no_plate_matched_event(stack: LocalStack) -> None:
    alerts_url = _alerts_dead_letters(_plate_matched("DryMatch0000000000000000"))
    listener = _listen(stack)
    status, lines = _run(stack, _queue_with(), "--dry-run", alerts_url=alerts_url)
    assert lines[0]["action"] == "would-put-event" and lines[0]["result"] == "dry-run"
    assert lines[-1]["replayed"] == 0 and lines[-1]["left"] == 1 and status == 1
    assert _heard(listener) == []
    assert _left(alerts_url) == 1


def test_an_entry_putevents_refused_is_reported_and_kept(stack: LocalStack) -> None:
    # PutEvents answers 200 and says in the entry that it was refused (throttling, an
    # internal failure); the message must then stay, as for a refused call.
    alerts_url = _alerts_dead_letters(_plate_matched("EntryFail000000000000000"))
    with Stubber(aws.client("events")) as events:
        events.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}],
            },
        )
        status, lines = _run(stack, _queue_with(), alerts_url=alerts_url)
        events.assert_no_pending_responses()
    assert lines[0]["result"] == "error"
    assert lines[0]["message"] == "ThrottlingException: slow down"
    assert status == 1 and _left(alerts_url) == 1
