"""At-least-once delivery and re-run steps leave one record with one set of plates.

EventBridge may deliver an event twice; a client may put the same bytes twice; a step
whose response was lost is retried after its write landed; a redrive runs steps again.
Every case must end with the single record a single delivery would have written.
"""

from __future__ import annotations

import json
from typing import Any

from moto.events import models as events_models

from platescan import aws, records
from platescan.local.runtime import ACCOUNT_ID, LocalStack
from tests.reliability.conftest import PLATE, describe, executions_of, wait_executions
from tests.support import plate_photo

# Fields a rewrite of the same result may refresh; everything else must not change.
REWRITTEN = {"processed_at", "updated_at", "expires_at", "execution_arn", "timings_ms"}


def stable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in REWRITTEN}


def records_of(stack: LocalStack, upload_id: str) -> list[dict[str, Any]]:
    """Every item in the table for the upload, by a full scan (not just the key lookup)."""
    items = aws.table(stack.config.table).scan()["Items"]
    return [records.from_dynamo(i) for i in items if i["upload_id"] == upload_id]


def deliver_again(stack: LocalStack, event: dict[str, Any]) -> None:
    """Hand the very same event (same id, same time) to the default bus's rules again."""
    backend = events_models.events_backends[ACCOUNT_ID][stack.config.region]
    for rule in backend.event_buses["default"].rules.values():
        rule.send_to_targets(event, transform_input=False)


def assert_one_result(stack: LocalStack, upload_id: str) -> dict[str, Any]:
    (item,) = records_of(stack, upload_id)
    assert item["status"] == records.DONE
    assert [p["text"] for p in item["plates"]] == [PLATE]
    assert item["plate_texts"] == [PLATE]
    by_plate = [r["upload_id"] for r in records.search_by_plate(stack.config.table, PLATE).items]
    assert by_plate.count(upload_id) == 1
    return item


def test_the_same_event_delivered_twice_leaves_one_record(stack: LocalStack) -> None:
    # Given an upload processed once
    upload_id = stack.put_photo(plate_photo(PLATE), "car.jpg", content_type="image/jpeg")
    first = stack.wait_for(upload_id, timeout=60)
    (execution,) = wait_executions(stack, upload_id, 1)
    event = json.loads(describe(execution["executionArn"])["input"])

    # When EventBridge delivers the same event again
    deliver_again(stack, event)
    second, third = wait_executions(stack, upload_id, 2)

    # Then a second execution ran and succeeded, and the record is the one it was
    assert {second["status"], third["status"]} == {"SUCCEEDED"}
    item = assert_one_result(stack, upload_id)
    assert stable(item) == stable(first)


def test_the_same_object_put_twice_at_once_leaves_one_record(stack: LocalStack) -> None:
    # Given the same bytes put to the same key twice in a row (a retried upload)
    photo = plate_photo(PLATE)
    upload_id = "dup" + "x" * 19
    key = f"uploads/{upload_id}/car.jpg"
    s3 = aws.client("s3")
    for _ in range(2):
        s3.put_object(Bucket=stack.config.bucket, Key=key, Body=photo, ContentType="image/jpeg")

    # When both executions have run, side by side
    runs = wait_executions(stack, upload_id, 2)

    # Then both succeeded and there is one record with one plate
    assert [r["status"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
    item = assert_one_result(stack, upload_id)
    # The bucket is versioned, as deployed: each put is a version, and the record names the
    # one it was read from (the first to reach Read Metadata; the other was refused).
    versions = s3.list_object_versions(Bucket=stack.config.bucket, Prefix=key)["Versions"]
    assert item["object_version"] == item["version_id"]
    assert item["version_id"] in {v["VersionId"] for v in versions} and len(versions) == 2


def test_a_step_retried_after_its_write_landed_leaves_one_record(stack: LocalStack) -> None:
    # Given Write Result's first response is lost after the write (a Lambda timeout on return)
    name = "platescan-write-result"
    handler = stack.registry.handlers[name]
    calls = {"n": 0}

    def loses_first_response(event: dict[str, Any], context: Any) -> Any:
        result = handler(event, context)
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("the response was lost after the write")
        return result

    stack.registry.handlers[name] = loses_first_response
    try:
        upload_id = stack.put_photo(plate_photo(PLATE), "car.jpg", content_type="image/jpeg")
        (execution,) = wait_executions(stack, upload_id, 1)
    finally:
        stack.registry.handlers[name] = handler

    # Then the step ran twice, the execution succeeded, and one record holds one plate set
    assert calls["n"] == 2
    assert execution["status"] == "SUCCEEDED"
    assert_one_result(stack, upload_id)


def test_re_running_a_finished_execution_changes_nothing(stack: LocalStack) -> None:
    # Given a finished upload
    upload_id = stack.put_photo(plate_photo(PLATE), "car.jpg", content_type="image/jpeg")
    first = stack.wait_for(upload_id, timeout=60)
    (execution,) = wait_executions(stack, upload_id, 1)

    # When its execution is run again with the same input (what a local redrive does)
    aws.client("stepfunctions").start_execution(
        stateMachineArn=stack.state_machine_arn,
        name=execution["name"] + "-again",
        input=describe(execution["executionArn"])["input"],
    )
    runs = wait_executions(stack, upload_id, 2)

    # Then it succeeds and the record is unchanged
    assert [r["status"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
    assert stable(assert_one_result(stack, upload_id)) == stable(first)
    assert executions_of(stack, upload_id)[-1]["name"].endswith("-again")
