"""Records: keys, conditional (idempotent) writes and search, on moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from platescan import aws, contract, records
from platescan.errors import UploadAlreadyUsed

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


OWNER = "0b6d2f0e-6d4c-4a0f-9a51-7f3e2b1c9d11"


def test_an_owned_key_names_its_owner_and_upload_and_no_file() -> None:
    key = records.owned_key(OWNER, "Abcdefghijklmnop123456")
    assert key == f"uploads/{OWNER}/Abcdefghijklmnop123456"
    assert records.owner_from_key(key) == OWNER
    assert records.upload_id_from_key(key) == "Abcdefghijklmnop123456"
    assert records.file_name_from_key(key) is None
    assert records.owner_from_key("uploads/Abcdefghijklmnop123456/car.jpg") is None


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
    with pytest.raises(UploadAlreadyUsed):
        records.mark_processing(TABLE, o, "arn:exec:dup", 30)
    assert (
        records.mark_failed(TABLE, o, {"type": "X", "message": "late"}, "arn:exec:dup", 30) is False
    )
    assert records.get_record(TABLE, o["upload_id"])["status"] == "DONE"


def test_a_second_photo_for_an_upload_is_never_processed_nor_written(table: Any) -> None:
    # Given the first photo of an upload processed
    first = obj(version="v1")
    records.mark_processing(TABLE, first, "arn:exec:1", 30)
    records.write_result(TABLE, result(first, plate("FIRST12")), retention_days=30)
    # When the same form is posted again: another object version under the same key
    second = obj(version="v2", uploaded_at="2026-01-02T00:00:00Z")
    with pytest.raises(UploadAlreadyUsed):
        records.mark_processing(TABLE, second, "arn:exec:2", 30)
    stored = records.write_result(TABLE, result(second, plate("SECOND1")), retention_days=30)
    # Then the record still holds the first photo's result
    assert stored["plate_text"] == "FIRST12"
    assert records.get_record(TABLE, first["upload_id"])["object_version"] == "v1"


def test_while_one_execution_processes_an_upload_another_is_refused(table: Any) -> None:
    o = obj()
    records.mark_processing(TABLE, o, "arn:exec:1", 30)
    records.mark_processing(TABLE, o, "arn:exec:1", 30)  # its own retry
    with pytest.raises(UploadAlreadyUsed):  # the same event delivered again
        records.mark_processing(TABLE, o, "arn:exec:2", 30)


def test_an_issued_upload_takes_its_owner_and_file_name_into_the_record(table: Any) -> None:
    upload_id = "Abcdefghijklmnop123456"
    records.issue_upload(TABLE, upload_id, OWNER, "my car.jpg", expires_in_s=600)
    o = {**obj(upload_id), "key": records.owned_key(OWNER, upload_id)}
    del o["file_name"]  # the pipeline never carries it
    records.mark_processing(TABLE, o, "arn:exec:1", 30)
    records.write_result(TABLE, result(o, plate("7ABC123")), retention_days=30)
    stored = records.get_record(TABLE, upload_id)
    assert (stored["owner"], stored["file_name"], stored["status"]) == (OWNER, "my car.jpg", "DONE")


def test_an_object_under_another_owners_key_cannot_take_an_issued_upload(table: Any) -> None:
    upload_id = "Abcdefghijklmnop123456"
    records.issue_upload(TABLE, upload_id, OWNER, "car.jpg", expires_in_s=600)
    other = "11111111-2222-4333-8444-555555555555"
    o = {**obj(upload_id), "key": records.owned_key(other, upload_id)}
    with pytest.raises(UploadAlreadyUsed):
        records.mark_processing(TABLE, o, "arn:exec:1", 30)
    assert records.get_record(TABLE, upload_id)["owner"] == OWNER


def test_a_deleted_upload_is_not_written_back_by_a_late_execution(table: Any) -> None:
    o = obj()
    records.mark_processing(TABLE, o, "arn:exec:1", 30)
    records.delete_record(TABLE, o["upload_id"])
    stored = records.write_result(TABLE, result(o, plate("7ABC123")), retention_days=30)
    assert stored["status"] == records.DELETED and "plates" not in stored
    assert (
        records.mark_failed(TABLE, o, {"type": "X", "message": "late"}, "arn:exec:1", 30) is False
    )


def test_the_daily_quota_is_counted_atomically_up_to_its_limit(table: Any) -> None:
    taken = [records.count_upload(TABLE, OWNER, "2026-01-01", limit=3) for _ in range(5)]
    assert taken == [True, True, True, False, False]
    assert records.count_upload(TABLE, OWNER, "2026-01-02", limit=3)  # a new day
    assert records.count_upload(TABLE, "11111111-2222-4333-8444-555555555555", "2026-01-01", 3)


def test_the_public_view_hides_internal_fields_unless_asked(table: Any) -> None:
    o = obj()
    failed = {**result(o), "status": "FAILED", "owner": OWNER,
              "error": {"type": "KeyError", "message": "'detail' at line 3"}}  # fmt: skip
    public = records.public_record(failed)
    assert not {"bucket", "key", "execution_arn", "owner"} & set(public)
    assert public["error"]["type"] == "ProcessingFailed" and "line 3" not in str(public)
    internal = records.public_record(failed, internal=True)
    assert internal["key"] == o["key"] and internal["error"]["type"] == "KeyError"
    rejected = {**failed, "error": {"type": "UnsupportedImage", "message": "not a JPEG"}}
    assert records.public_record(rejected)["error"]["message"] == "not a JPEG"


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
    found = records.search_by_plate(TABLE, "7abc-123")
    assert [r["plate_text"] for r in found.items] == ["7ABC123"] and found.complete
    assert sorted(r["plate_text"] for r in records.search_by_plate(TABLE, "7AB*").items) == [
        "7ABC123",
        "7ABD999",
    ]
    assert [r["plate_text"] for r in records.search_by_plate(TABLE, "*1234").items] == ["XYZ1234"]
    assert [r["plate_text"] for r in records.search_by_plate(TABLE, "7AB?123").items] == ["7ABC123"]
    assert records.search_by_plate(TABLE, "NOPE").items == []
    assert records.search_by_plate(TABLE, "***").items == []


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
        return dict(real_scan(**{**kwargs, "Limit": 1}))

    monkeypatch.setattr(client, "scan", one_item_pages)
    found = sorted(r["plate_text"] for r in records.search_by_plate(TABLE, "7AB*").items)
    assert found == ["7ABC123", "7ABD999", "7ABE000"]
    assert len(calls) >= 4 and all("ExclusiveStartKey" in c for c in calls[1:])
    assert calls[0]["FilterExpression"] == "contains(#plate_search, :contains)"


def write_plates(prefix: str, count: int) -> None:
    """`count` finished records, plates `{prefix}0000` on."""
    for i in range(count):
        o = obj(upload_id=f"Upload{i:02d}cdefghijklmnopq")
        records.write_result(TABLE, result(o, plate(f"{prefix}{i:04d}")), retention_days=30)


def _scanned(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """What each scan request read (ScannedCount), recorded as the search makes them."""
    client = aws.client("dynamodb")
    real_scan = client.scan
    counts: list[int] = []

    def counted(**kwargs: Any) -> dict[str, Any]:
        page = dict(real_scan(**kwargs))
        counts.append(int(page["ScannedCount"]))
        return page

    monkeypatch.setattr(client, "scan", counted)
    return counts


def test_a_wildcard_search_reads_no_more_than_its_budget_and_says_so(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 30 records, none of which match
    write_plates("QQQ", 30)
    monkeypatch.setattr(records, "SCAN_PAGE", 4)
    counts = _scanned(monkeypatch)

    # When an admin's wildcard search may read 10 of them
    found = records.search_by_plate(TABLE, "7AB*", budget=10)

    # Then it read 10, in pages of at most 4, and says it did not read the whole table
    assert found.items == [] and not found.complete
    assert sum(counts) == 10 and max(counts) <= 4

    # and with a budget bigger than the table it reads every record once and is complete
    counts.clear()
    found = records.search_by_plate(TABLE, "QQQ000*", budget=100)
    assert sorted(r["plate_text"] for r in found.items) == [f"QQQ{i:04d}" for i in range(10)]
    assert found.complete and sum(counts) == 30


def test_a_wildcard_search_stops_reading_once_it_has_more_than_its_limit(
    table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plates("7AB", 12)
    monkeypatch.setattr(records, "SCAN_PAGE", 2)
    counts = _scanned(monkeypatch)

    found = records.search_by_plate(TABLE, "7AB*", limit=3)

    assert len(found.items) == 3 and not found.complete
    assert sum(counts) == 4  # two pages: the fourth match shows there are more
