"""Records: keys, conditional (idempotent) writes and search, on moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from platescan import aws, contract, records

TABLE = "results"


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        aws.reset()
        ddb = boto3.resource("dynamodb")
        # The deployed table (the contract's schema), so the index queries are the real ones.
        created = ddb.create_table(**contract.create_table_request(TABLE))
        yield created
        aws.reset()


def obj(
    upload_id: str = "Abcdefghijklmnop123456",
    version: str = "v1",
    uploaded_at: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "upload_id": upload_id, "bucket": "b", "key": f"uploads/{upload_id}/car.jpg",
        "file_name": "car.jpg", "object_version": version, "etag": version,
        "uploaded_at": uploaded_at, "width": 1280, "height": 720, "size": 1000,
    }  # fmt: skip


def plate(text: str, confidence: float = 0.93) -> dict[str, Any]:
    box = {"left": 0.4, "top": 0.6, "width": 0.2, "height": 0.08}
    return {
        "text": text,
        "confidence": confidence,
        "region": "US",
        "format": "US",
        "box": box,
        "candidates": [],
    }


def result(o: dict[str, Any], *plates: dict[str, Any], arn: str = "arn:exec:1") -> dict[str, Any]:
    return records.build_result(
        o,
        status=records.DONE if plates else records.NO_PLATE,
        plates=list(plates),
        engine="onnx",
        timings_ms={"detect_text": 250.5},
        execution_arn=arn,
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("uploads/Abcdefghijklmnop123456/car.jpg", "Abcdefghijklmnop123456"),
        ("uploads/Abcdefghijklmnop123456/dir/with spaces ü.jpg", "Abcdefghijklmnop123456"),
    ],
)
def test_upload_id_comes_from_the_key(key: str, expected: str) -> None:
    assert records.upload_id_from_key(key) == expected


def test_a_stray_key_still_gets_a_stable_id() -> None:
    stray = records.upload_id_from_key("uploads/car.jpg")
    assert stray.startswith("k-") and stray == records.upload_id_from_key("uploads/car.jpg")
    assert records.upload_id_from_key("uploads/../x/y.jpg").startswith("k-")


def test_the_same_version_written_twice_leaves_one_record(table: Any) -> None:
    o = obj()
    records.mark_processing(TABLE, o, "arn:exec:1", 30)
    first = records.write_result(TABLE, result(o, plate("7ABC123")), retention_days=30)
    again = records.write_result(TABLE, result(o, plate("7ABC123"), arn="arn:exec:2"), 30)
    items = table.scan()["Items"]
    assert len(items) == 1
    assert items[0]["status"] == "DONE" and items[0]["plate_text"] == "7ABC123"
    assert first["upload_id"] == again["upload_id"]
    assert float(items[0]["plates"][0]["confidence"]) == pytest.approx(0.93)


def test_a_finished_record_is_not_turned_back_to_processing_or_failed(table: Any) -> None:
    o = obj()
    records.write_result(TABLE, result(o, plate("7ABC123")), retention_days=30)
    assert records.mark_processing(TABLE, o, "arn:exec:dup", 30) is False
    assert (
        records.mark_failed(TABLE, o, {"type": "X", "message": "late"}, "arn:exec:dup", 30) is False
    )
    assert records.get_record(TABLE, o["upload_id"])["status"] == "DONE"


def test_an_older_version_never_overwrites_a_newer_result(table: Any) -> None:
    new = obj(version="v2", uploaded_at="2026-01-02T00:00:00Z")
    records.write_result(TABLE, result(new, plate("NEW123")), retention_days=30)
    old = obj(version="v1", uploaded_at="2026-01-01T00:00:00Z")
    stored = records.write_result(TABLE, result(old, plate("OLD123")), retention_days=30)
    assert stored["plate_text"] == "NEW123"
    assert records.get_record(TABLE, new["upload_id"])["plate_text"] == "NEW123"


def test_failed_then_redriven_ends_done(table: Any) -> None:
    o = obj()
    records.mark_processing(TABLE, o, "arn:exec:1", 30)
    assert records.mark_failed(
        TABLE, o, {"type": "DetectorTimeout", "message": "slow"}, "arn:exec:1", 30
    )
    assert records.get_record(TABLE, o["upload_id"])["status"] == "FAILED"
    records.write_result(TABLE, result(o, plate("7ABC123")), retention_days=30)
    assert records.get_record(TABLE, o["upload_id"])["status"] == "DONE"


def test_failure_of_an_upload_without_a_record_creates_one(table: Any) -> None:
    o = obj()
    assert records.mark_failed(TABLE, o, {"type": "RuntimeError", "message": "x"}, "arn:exec:9", 30)
    stored = records.get_record(TABLE, o["upload_id"])
    assert stored["status"] == "FAILED" and stored["key"] == o["key"]
    assert stored["execution_arn"] == "arn:exec:9"


def test_records_expire_after_the_retention_period(table: Any) -> None:
    stored = records.write_result(TABLE, result(obj()), retention_days=7)
    import time

    assert abs(stored["expires_at"] - (time.time() + 7 * 86400)) < 60


def test_processing_and_failed_records_expire_too(table: Any) -> None:
    # Given an upload whose execution never ends, and one that failed
    import time

    processing, failed = (
        obj(upload_id="Processing0hijklmnopqr"),
        obj(upload_id="Failed0ghijklmnopqrstu"),
    )
    # When their records are written
    records.mark_processing(TABLE, processing, "arn:exec:1", 14)
    records.mark_failed(TABLE, failed, {"type": "X", "message": "y"}, "arn:exec:2", 14)
    # Then DynamoDB's TTL will remove both, like a finished record
    for item in table.scan()["Items"]:
        assert abs(int(item["expires_at"]) - (time.time() + 14 * 86400)) < 60, item["status"]


def test_search_exact_and_wildcards(table: Any) -> None:
    for i, text in enumerate(["7ABC123", "7ABD999", "XYZ1234"]):
        o = obj(upload_id=f"Upload{i}bcdefghijklmnopq")
        records.write_result(TABLE, result(o, plate(text)), retention_days=30)
    assert [r["plate_text"] for r in records.search_by_plate(TABLE, "7abc-123")] == ["7ABC123"]
    assert sorted(r["plate_text"] for r in records.search_by_plate(TABLE, "7AB*")) == [
        "7ABC123",
        "7ABD999",
    ]
    assert [r["plate_text"] for r in records.search_by_plate(TABLE, "*1234")] == ["XYZ1234"]
    assert [r["plate_text"] for r in records.search_by_plate(TABLE, "7AB?123")] == ["7ABC123"]
    assert records.search_by_plate(TABLE, "NOPE") == []
    assert records.search_by_plate(TABLE, "***") == []


def test_what_the_client_writes_is_what_boto3s_table_reads(table: Any) -> None:
    # The records are written with botocore's client and platescan.dynamo (boto3 costs
    # cold-start time); boto3's Table resource, which wrote them before, reads back the same.
    o = obj()
    records.mark_processing(TABLE, o, "arn:exec:1", 30)
    records.write_result(TABLE, result(o, plate("7ABC123", 0.9312345678)), retention_days=30)
    ours = records.get_record(TABLE, o["upload_id"])
    theirs = table.get_item(Key={"upload_id": o["upload_id"]}, ConsistentRead=True)["Item"]
    assert ours == records.from_dynamo(theirs)
    assert ours["plates"][0]["confidence"] == 0.931235
    assert ours["plates"][0]["box"] == {"left": 0.4, "top": 0.6, "width": 0.2, "height": 0.08}
    assert ours["plates"][0]["candidates"] == []
    assert ours["width"] == 1280 and ours["timings_ms"] == {"detect_text": 250.5}


def test_a_failure_is_written_with_its_error_map(table: Any) -> None:
    o = obj()
    error = {"type": "DetectorTimeout", "message": "longer than 30 s"}
    assert records.mark_failed(TABLE, o, error, "arn:exec:1", 30)
    item = table.get_item(Key={"upload_id": o["upload_id"]})["Item"]
    assert item["error"] == error and item["status"] == "FAILED"
    assert (item["bucket"], item["key"], item["file_name"]) == ("b", o["key"], "car.jpg")


def test_a_wildcard_search_reads_every_page_of_the_scan(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i, text in enumerate(["7ABC123", "7ABD999", "XYZ1234", "7ABE000"]):
        o = obj(upload_id=f"Upload{i}bcdefghijklmnopq")
        records.write_result(TABLE, result(o, plate(text)), retention_days=30)
    client = aws.client("dynamodb")
    real_scan = client.scan
    calls: list[dict[str, Any]] = []

    def one_item_pages(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return dict(real_scan(**kwargs, Limit=1))

    monkeypatch.setattr(client, "scan", one_item_pages)
    found = sorted(r["plate_text"] for r in records.search_by_plate(TABLE, "7AB*"))
    assert found == ["7ABC123", "7ABD999", "7ABE000"]
    assert len(calls) >= 4 and all("ExclusiveStartKey" in c for c in calls[1:])
    assert calls[0]["FilterExpression"] == "contains(#plate_search, :contains)"
