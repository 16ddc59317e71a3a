"""Alerts on moto: entries by owner, one alert per photo and entry, the Plate Matched event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from platescan import alerts, aws, contract, dynamo, records
from platescan.watchlists import make_entry

TABLES = alerts.AlertTables(watchlists="watchlists", alerts="alerts", event_bus="bus")
OWNER = "owner-a"


@pytest.fixture
def queue() -> Iterator[str]:
    """The tables and bus on moto, and a queue that receives every Plate Matched event."""
    with mock_aws():
        aws.reset()
        ddb = aws.client("dynamodb")
        for name, schema in (
            (TABLES.watchlists, alerts.WATCHLISTS_SCHEMA),
            (TABLES.alerts, alerts.ALERTS_SCHEMA),
        ):
            ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **schema)
        events, sqs = aws.client("events"), aws.client("sqs")
        events.create_event_bus(Name=TABLES.event_bus)
        url = sqs.create_queue(QueueName="seen")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="matched",
            EventBusName=TABLES.event_bus,
            EventPattern=json.dumps(contract.plate_matched_pattern()),
        )
        events.put_targets(
            Rule="matched", EventBusName=TABLES.event_bus, Targets=[{"Id": "q", "Arn": arn}]
        )
        yield url
        aws.reset()


def received(url: str) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    found = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        for message in got:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def record(text: str, *, owner: str | None = OWNER, upload_id: str = "upload-0001") -> dict:
    found: dict[str, Any] = {
        "upload_id": upload_id,
        "status": records.DONE,
        "plates": [{"text": text, "confidence": 0.91, "candidates": []}],
    }
    if owner:
        found["owner"] = owner
    return found


def test_entries_are_per_owner(queue: str) -> None:
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("7ABC123", label="staff"))
    alerts.put_entry(TABLES.watchlists, "owner-b", make_entry("KLM456"))
    # the same plate and mode again replaces the entry
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("7ABC123", label="visitor"))
    mine = alerts.list_entries(TABLES.watchlists, OWNER)
    assert [(e.plate, e.label) for e in mine] == [("7ABC123", "visitor")]
    assert alerts.delete_entry(TABLES.watchlists, OWNER, mine[0].entry_id) is True
    assert alerts.delete_entry(TABLES.watchlists, OWNER, mine[0].entry_id) is False
    # another owner's entry is not reachable by id
    (theirs,) = alerts.list_entries(TABLES.watchlists, "owner-b")
    assert alerts.delete_entry(TABLES.watchlists, OWNER, theirs.entry_id) is False


def test_a_match_raises_one_alert_and_its_event(queue: str) -> None:
    entry = make_entry("AB0123", label="banned", note="seen at gate 2")
    alerts.put_entry(TABLES.watchlists, OWNER, entry)

    found = alerts.check_record(TABLES, record("ABO123"), claimer="exec-1")

    assert [(m["how"], m["new"]) for m in found] == [("lookalike", True)]
    (event,) = received(queue)
    assert event["source"] == "platescan" and event["detail-type"] == "Plate Matched"
    detail = event["detail"]
    assert detail["alert_id"] == f"upload-0001#{entry.entry_id}"
    assert (detail["upload_id"], detail["plate_read"], detail["how"]) == (
        "upload-0001",
        "ABO123",
        "lookalike",
    )
    assert detail["confidence"] == 0.91
    assert detail["entry"] == {
        "entry_id": entry.entry_id,
        "plate": "AB0123",
        "label": "banned",
        "note": "seen at gate 2",
        "mode": "tolerant",
    }
    (alert,) = alerts.list_alerts(TABLES.alerts, OWNER)
    assert alert["published"] is True and "owner" not in alert and "claimed_by" not in alert


def test_a_second_execution_and_a_redrive_raise_nothing_more(queue: str) -> None:
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("AB0123"))
    alerts.check_record(TABLES, record("AB0123"), claimer="exec-1")
    # a duplicate event's own execution, then a redrive of the first one
    again = alerts.check_record(TABLES, record("AB0123"), claimer="exec-2")
    redriven = alerts.check_record(TABLES, record("AB0123"), claimer="exec-1")
    assert [m["new"] for m in again + redriven] == [False, False]
    assert len(received(queue)) == 1
    assert len(alerts.list_alerts(TABLES.alerts, OWNER)) == 1


def test_a_claim_that_died_before_publishing_is_published_by_its_own_retry(
    queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("AB0123"))

    def refused(bus: str, detail: dict[str, Any]) -> None:
        raise alerts.AlertNotPublished("ThrottlingException: slow down")

    with monkeypatch.context() as patched:
        patched.setattr(alerts, "publish", refused)
        with pytest.raises(alerts.AlertNotPublished):
            alerts.check_record(TABLES, record("AB0123"), claimer="exec-1")
    assert received(queue) == []
    # another execution must not take over a live claim...
    assert alerts.check_record(TABLES, record("AB0123"), claimer="exec-2")[0]["new"] is False
    assert received(queue) == []
    # ...the owner of the claim, retried or redriven, publishes it once
    assert alerts.check_record(TABLES, record("AB0123"), claimer="exec-1")[0]["new"] is True
    assert alerts.check_record(TABLES, record("AB0123"), claimer="exec-1")[0]["new"] is False
    assert len(received(queue)) == 1


def test_one_alert_per_entry_and_per_photo(queue: str) -> None:
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("AB0123"))
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("AB*"))
    alerts.check_record(TABLES, record("AB0123", upload_id="upload-0001"), claimer="e1")
    alerts.check_record(TABLES, record("AB0123", upload_id="upload-0002"), claimer="e2")
    assert len(received(queue)) == 4
    newest = alerts.list_alerts(TABLES.alerts, OWNER)
    assert len(newest) == 4
    stamps = [a["alerted_at"] for a in newest]
    assert stamps == sorted(stamps, reverse=True)


def test_no_owner_no_watchlist_and_unfinished_records_raise_nothing(queue: str) -> None:
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("AB0123"))
    assert alerts.check_record(TABLES, record("AB0123", owner=None), claimer="e") == []
    assert alerts.check_record(TABLES, record("AB0123", owner="owner-b"), claimer="e") == []
    rejected = {**record("AB0123"), "status": records.REJECTED}
    assert alerts.check_record(TABLES, rejected, claimer="e") == []
    assert received(queue) == []


def test_a_correction_is_matched_with_the_readers_guesses_behind_it(queue: str) -> None:
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("XYZ789", mode="exact"))
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("AB0123", mode="exact"))
    corrected = {**record("AB0123"), "correction": {"text": "XYZ789", "plate_index": 0}}
    found = alerts.check_record(TABLES, corrected, claimer="correction", source="correction")
    assert sorted(m["text"] for m in found) == ["AB0123", "XYZ789"]
    assert {e["detail"]["source"] for e in received(queue)} == {"correction"}


def test_alerts_are_kept_in_dynamodb_shape(queue: str) -> None:
    alerts.put_entry(TABLES.watchlists, OWNER, make_entry("AB0123"))
    alerts.check_record(TABLES, record("AB0123"), claimer="e")
    (item,) = aws.client("dynamodb").scan(TableName=TABLES.alerts)["Items"]
    kept = dynamo.from_item(item)
    assert kept["owner"] == OWNER and kept["claimed_by"] == "e"
    assert int(kept["expires_at"]) > 0
