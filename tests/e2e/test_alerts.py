"""Alerts end to end: a rendered plate one look-alike away from an entry, real ONNX OCR.

The photo goes through the whole local pipeline. Write Result is made to fail after it has
done its work, on every attempt, so the execution fails there; then the upload event
arrives again, and the failed Task is redriven. Through all of it the owner gets exactly
one alert: one item, one e-mail on the topic, one webhook call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from platescan import alerts, aws, records
from platescan.local import gaps
from platescan.local.runtime import LocalStack
from platescan.local.webhook import WebhookRecorder
from platescan.watchlists import make_entry
from tests.support import plate_photo

pytestmark = pytest.mark.e2e

OWNER = "5d1e7a3c-2b4f-4c8d-9e0f-1a2b3c4d5e6f"  # a Cognito sub
OTHER = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
READ = "KX5823"  # what the photo shows
ENTRY = "KX5B23"  # on the watchlist: the 8 taken for a B


@pytest.fixture
def hook() -> Iterator[WebhookRecorder]:
    with WebhookRecorder() as recorder:
        yield recorder


def executions(stack: LocalStack, upload_id: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    found = []
    for execution in stack.executions():
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if upload_id in json.loads(described["input"])["detail"]["object"]["key"]:
            found.append(described)
    return sorted(found, key=lambda e: e["startDate"])


def settle(stack: LocalStack, upload_id: str, count: int) -> list[dict[str, Any]]:
    """Wait until `count` executions of the upload exist and none runs."""
    import time

    deadline = time.monotonic() + 180
    while True:
        found = executions(stack, upload_id)
        if len(found) >= count and all(e["status"] != "RUNNING" for e in found):
            return found
        assert time.monotonic() < deadline, [e["status"] for e in found]
        stack.registry.wait_change(stack.registry.generation, timeout=0.2)


def task_input(execution_arn: str, state: str) -> dict[str, Any]:
    """The input a Task was last scheduled with: what a redrive of that Task runs again."""
    events = aws.client("stepfunctions").get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )["events"]
    entered = [
        e for e in events if e["type"] == "TaskStateEntered"
    ]  # the scheduled parameters follow their state's entry
    assert entered[-1]["stateEnteredEventDetails"]["name"] == state
    scheduled = [e for e in events if e["type"] == "LambdaFunctionScheduled"]
    return dict(json.loads(scheduled[-1]["lambdaFunctionScheduledEventDetails"]["input"]))


def attempts_failed(execution_arn: str) -> list[str]:
    events = aws.client("stepfunctions").get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )["events"]
    return [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in events
        if e["type"] == "LambdaFunctionFailed"
    ]


def alert_count(stack: LocalStack, owner: str) -> int:
    return len(alerts.list_alerts(stack.config.alerts_table, owner))


def test_a_lookalike_raises_one_alert_through_retries_a_duplicate_event_and_a_redrive(
    stack_factory: Callable[..., LocalStack], hook: WebhookRecorder
) -> None:
    stack = stack_factory(engine="onnx", webhook_url=hook.url)
    gaps.REGISTRY.deliveries.clear()
    entry = make_entry(ENTRY, label="banned", note="seen at gate 2")
    alerts.put_entry(stack.config.watchlists_table, OWNER, entry)
    alerts.put_entry(stack.config.watchlists_table, OTHER, make_entry(ENTRY))

    # Given Write Result fails after its work is done, on every attempt (a lost response)
    name = "platescan-write-result"
    real = stack.registry.handlers[name]

    def crash_after(event: dict[str, Any], context: Any) -> Any:
        real(event, context)
        raise RuntimeError("connection reset after the write")

    stack.registry.handlers[name] = crash_after
    upload_id = stack.put_photo(
        plate_photo(READ), "gate.jpg", content_type="image/jpeg", owner=OWNER
    )
    (first,) = settle(stack, upload_id, 1)
    stack.registry.handlers[name] = real

    # Then the execution failed at Write Result after four attempts, and the record is read
    assert first["status"] == "FAILED"
    assert attempts_failed(first["executionArn"]) == ["RuntimeError"] * 4
    record = stack.record(upload_id)
    assert record is not None and record["status"] == records.DONE
    assert record["plates"][0]["text"] == READ
    # ...and the owner has one alert, not four; the other user's same entry has none
    (alert,) = alerts.list_alerts(stack.config.alerts_table, OWNER)
    assert (alert["plate_read"], alert["how"], alert["entry"]["plate"]) == (
        READ,
        "lookalike",
        ENTRY,
    )
    assert alert["entry"]["label"] == "banned"
    assert alert_count(stack, OTHER) == 0

    # When the upload's event is delivered again
    original = json.loads(first["input"])
    aws.client("events").put_events(
        Entries=[
            {
                "Source": original["source"],
                "DetailType": original["detail-type"],
                "Detail": json.dumps(original["detail"]),
                "Resources": original.get("resources", []),
            }
        ]
    )
    (_, duplicate) = settle(stack, upload_id, 2)
    assert duplicate["status"] == "SUCCEEDED"  # it found the upload used, and wrote nothing

    # And the failed Task is redriven as Step Functions does: same input, same execution
    redriven = stack.handlers["write_result"](
        task_input(first["executionArn"], "Write Result"), gaps.LambdaContext(function_name=name)
    )
    assert (redriven["status"], redriven["alerts_raised"]) == ("DONE", 0)

    # Then still exactly one alert: one item, one e-mail line, one webhook call
    assert alert_count(stack, OWNER) == 1
    emails = [d for d in gaps.REGISTRY.deliveries if d["kind"] == "sns"]
    assert len(emails) == 1
    assert (
        f"read {READ}" in emails[0]["message"] and f"entry {ENTRY} (banned)" in emails[0]["message"]
    )
    (call,) = hook.snapshot()
    detail = call["body"]["detail"]
    assert call["body"]["detail-type"] == "Plate Matched"
    assert (detail["upload_id"], detail["plate_read"], detail["how"]) == (
        upload_id,
        READ,
        "lookalike",
    )
    assert detail["entry"]["entry_id"] == entry.entry_id
    assert 0 < detail["confidence"] <= 1
