"""The watchlist, alert and correction routes' logic, per owner, on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from platescan import alerts, aws, contract, records, watch_api
from platescan.settings import get_settings

A = "0b3c6f3e-0000-4000-8000-00000000000a"
B = "0b3c6f3e-0000-4000-8000-00000000000b"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Tables, bucket and bus on moto, with a queue that sees every Plate Matched event."""
    for name, value in {
        "RESULTS_TABLE": "results",
        "WATCHLISTS_TABLE": "watchlists",
        "ALERTS_TABLE": "alerts",
        "EVENT_BUS_NAME": "bus",
        "UPLOADS_BUCKET": "uploads",
        "RETENTION_DAYS": "30",
        "PRESIGN_EXPIRES_S": "300",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with mock_aws():
        aws.reset()
        ddb = aws.client("dynamodb")
        ddb.create_table(**contract.create_table_request("results"))
        ddb.create_table(
            TableName="watchlists", BillingMode="PAY_PER_REQUEST", **contract.WATCHLISTS_SCHEMA
        )
        ddb.create_table(
            TableName="alerts", BillingMode="PAY_PER_REQUEST", **contract.ALERTS_SCHEMA
        )
        aws.client("s3").create_bucket(Bucket="uploads")
        events, sqs = aws.client("events"), aws.client("sqs")
        events.create_event_bus(Name="bus")
        url = sqs.create_queue(QueueName="seen")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="m", EventBusName="bus", EventPattern=json.dumps(contract.plate_matched_pattern())
        )
        events.put_targets(Rule="m", EventBusName="bus", Targets=[{"Id": "q", "Arn": arn}])
        yield url
        aws.reset()
    get_settings.cache_clear()


def events_seen(url: str) -> list[dict[str, Any]]:
    got = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def record_of(owner: str, upload_id: str, text: str, confidence: float = 0.6) -> dict[str, Any]:
    obj = {
        "upload_id": upload_id,
        "bucket": "uploads",
        "key": f"uploads/{owner}/{upload_id}",
        "object_version": "v1",
        "uploaded_at": "2026-11-30T10:00:00Z",
        "width": 640,
        "height": 480,
    }
    plates = [{"text": text, "confidence": confidence, "candidates": []}]
    record = records.build_result(
        obj, status=contract.DONE, plates=plates, engine="onnx", timings_ms={}, execution_arn="a"
    )
    record["owner"] = owner
    return records.write_result("results", record, retention_days=1)


def test_entries_belong_to_their_owner(stack: str) -> None:
    added = watch_api.add_entry(A, {"plate": "7abc 123", "label": "staff"})
    assert (added["plate"], added["mode"], added["label"]) == ("7ABC123", "tolerant", "staff")
    assert [e["plate"] for e in watch_api.list_entries(A)["items"]] == ["7ABC123"]
    assert watch_api.list_entries(B)["items"] == []
    with pytest.raises(watch_api.WatchError) as missing:
        watch_api.delete_entry(B, added["entry_id"])  # not B's: as unknown
    assert missing.value.status == 404
    watch_api.delete_entry(A, added["entry_id"])
    assert watch_api.list_entries(A)["items"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "JSON object"),
        ({"plate": "A"}, "at least 2"),
        ({"plate": "ABC*", "mode": "exact"}, "wildcard"),
    ],
)
def test_bad_entries_are_400_with_the_reason(stack: str, body: Any, message: str) -> None:
    with pytest.raises(watch_api.WatchError, match=message) as refused:
        watch_api.add_entry(A, body)
    assert refused.value.status == 400


def test_csv_import_and_export(stack: str) -> None:
    watch_api.add_entry(A, {"plate": "7ABC123"})
    result = watch_api.import_csv(A, "plate,label,mode\n7ABC123,staff,tolerant\nKL*,visitor,\n")
    assert result == {"imported": 2, "new": 1}
    text = watch_api.export_csv(A)
    assert text.splitlines() == [
        "plate,label,note,mode",
        "7ABC123,staff,,tolerant",
        "KL*,visitor,,wildcard",
    ]
    with pytest.raises(watch_api.WatchError, match="line 2") as refused:
        watch_api.import_csv(A, "plate\nA\n")
    assert refused.value.status == 400
    with pytest.raises(watch_api.WatchError) as empty:
        watch_api.import_csv(A, "")
    assert empty.value.status == 400


def test_a_correction_is_checked_against_the_watchlist_and_alerts_list_newest_first(
    stack: str,
) -> None:
    # Given an entry, and a reading the reader got wrong beyond tolerance
    watch_api.add_entry(A, {"plate": "KLM456", "mode": "exact", "label": "banned"})
    record_of(A, "upload-0001", "XYZ999")
    assert (
        alerts.check_record(
            alerts.tables_from_settings(),
            records.get_record("results", "upload-0001") or {},
            claimer="e",
        )
        == []
    )

    # When the owner corrects it
    answer = watch_api.correct(A, "upload-0001", {"text": "KLM 456"})

    # Then the correction is on the record and one alert is raised, with the photo's link
    assert answer["record"]["correction"]["text"] == "KLM456"
    assert answer["record"]["correction"]["by"] == A
    assert answer["alerts_raised"] == 1
    (event,) = events_seen(stack)
    assert event["detail"]["source"] == "correction"
    (alert,) = watch_api.list_alerts(A)["items"]
    assert alert["entry"]["label"] == "banned" and alert["plate_read"] == "KLM456"
    assert "X-Amz-Signature" in alert["image_url"] and "upload-0001" in alert["image_url"]
    assert watch_api.list_alerts(B)["items"] == []
    # correcting to the same text again raises nothing more
    assert watch_api.correct(A, "upload-0001", {"text": "KLM456"})["alerts_raised"] == 0


def test_another_owners_record_cannot_be_corrected(stack: str) -> None:
    record_of(A, "upload-0002", "XYZ999")
    for owner, upload_id in ((B, "upload-0002"), (A, "upload-9999")):
        with pytest.raises(watch_api.WatchError) as refused:
            watch_api.correct(owner, upload_id, {"text": "KLM456"})
        assert refused.value.status == 404
    with pytest.raises(watch_api.WatchError) as bad:
        watch_api.correct(A, "../etc", {"text": "KLM456"})
    assert bad.value.status == 400
