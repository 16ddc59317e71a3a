"""Review and corrections on moto: who, when, the original; search; the benchmark export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from platescan import aws, contract, records, review
from platescan.tools import benchmark, export_labels

TABLE = "results"
BUCKET = "uploads"
BOX = {"left": 0.25, "top": 0.5, "width": 0.2, "height": 0.1}


def found_ids(table: str, query: str) -> list[str]:
    """The upload ids an admin's plate search finds."""
    return [r["upload_id"] for r in records.search_by_plate(table, query).items]


@pytest.fixture
def table() -> Iterator[str]:
    with mock_aws():
        aws.reset()
        aws.client("dynamodb").create_table(**contract.create_table_request(TABLE))
        aws.client("s3").create_bucket(Bucket=BUCKET)
        yield TABLE
        aws.reset()


def stored(
    upload_id: str = "upload-0001",
    text: str | None = "ABO123",
    confidence: float = 0.55,
    status: str = contract.DONE,
) -> dict[str, Any]:
    plates = (
        [{"text": text, "confidence": confidence, "box": BOX, "candidates": []}] if text else []
    )
    obj = {
        "upload_id": upload_id,
        "bucket": BUCKET,
        "key": f"uploads/{upload_id}/car.jpg",
        "object_version": "v1",
        "uploaded_at": "2026-11-30T10:00:00Z",
        "content_type": "image/jpeg",
        "width": 800,
        "height": 600,
    }
    record = records.build_result(
        obj, status=status, plates=plates, engine="onnx", timings_ms={}, execution_arn="arn:x"
    )
    record["review"] = review.review_state(status, plates, 0.8)
    written = records.write_result(TABLE, record, retention_days=1)
    return records.get_record(TABLE, written["upload_id"]) or written


@pytest.mark.parametrize(
    ("status", "confidence", "expected"),
    [
        (contract.DONE, 0.79, review.NEEDED),
        (contract.DONE, 0.8, None),
        (contract.DONE, 0.95, None),
        (contract.NO_PLATE, 0.0, None),
    ],
)
def test_unsure_readings_need_review(status: str, confidence: float, expected: str | None) -> None:
    plates = [{"text": "AB123", "confidence": confidence}] if status == contract.DONE else []
    assert review.review_state(status, plates, 0.8) == expected


def test_a_correction_keeps_who_when_and_the_original(table: str) -> None:
    record = stored()
    assert record["review"] == review.NEEDED

    first = review.correct(table, record, "ab-0123", by="user-a")
    assert first["plate_text"] == "AB0123"
    assert first["plates"][0]["text"] == "ABO123"  # the reading itself stays as read
    correction = first["correction"]
    assert (correction["text"], correction["by"], correction["original"]) == (
        "AB0123",
        "user-a",
        "ABO123",
    )
    assert correction["at"].endswith("Z")
    assert first["review"] == review.CORRECTED

    # a second correction still names the reader's text as the original; both are kept
    second = review.correct(table, first, "AB0124", by="user-b")
    assert second["correction"]["original"] == "ABO123"
    assert [c["text"] for c in second["corrections"]] == ["AB0123", "AB0124"]
    assert [c["by"] for c in second["corrections"]] == ["user-a", "user-b"]


def test_search_finds_the_corrected_text_not_the_misread_one(table: str) -> None:
    record = stored()
    review.correct(table, record, "AB0123", by="user-a")
    assert found_ids(table, "AB0123") == ["upload-0001"]
    assert found_ids(table, "AB01*") == ["upload-0001"]
    assert records.search_by_plate(table, "ABO123").items == []


def test_a_redriven_write_keeps_the_correction_searchable(table: str) -> None:
    # Given a corrected record whose execution is redriven: Write Result writes it again
    record = stored()
    review.correct(table, record, "AB0123", by="user-a")
    rewritten = records.write_result(table, {**record, "review": review.NEEDED}, retention_days=1)
    assert rewritten["plate_text"] == "ABO123" and rewritten["correction"]["text"] == "AB0123"
    # When Write Result puts the correction back
    kept = review.keep_correction_searchable(table, rewritten)
    # Then search still finds the corrected text, and the record stays corrected
    assert kept["plate_text"] == "AB0123" and kept["review"] == review.CORRECTED
    assert found_ids(table, "AB0123") == ["upload-0001"]
    stored_now = records.get_record(table, "upload-0001") or {}
    assert stored_now["review"] == review.CORRECTED and stored_now["plate_text"] == "AB0123"
    # and a record without a correction is left as it is
    plain = stored("upload-0009")
    assert review.keep_correction_searchable(table, plain) == plain


def test_a_photo_with_no_plate_found_can_be_given_one(table: str) -> None:
    record = stored(text=None, status=contract.NO_PLATE)
    fixed = review.correct(table, record, "XY999", by="user-a")
    assert fixed["plate_text"] == "XY999"
    assert "original" not in fixed["correction"]  # the reader had read nothing


def test_concurrent_corrections_do_not_lose_one_silently(table: str) -> None:
    record = stored()
    review.correct(table, record, "AB0123", by="user-a")
    with pytest.raises(review.CorrectionRefused) as refused:
        review.correct(table, record, "AB0999", by="user-b")  # read before the first
    assert refused.value.status == 409


@pytest.mark.parametrize(
    ("text", "index", "status", "message"),
    [
        ("A", 0, 400, "2 to 10"),
        (12345, 0, 400, "as text"),
        ("AB0123", 2, 400, "plate_index must be 0 to 0"),
        ("AB0123", "0", 400, "must be a number"),
    ],
)
def test_bad_corrections_say_why(
    table: str, text: Any, index: Any, status: int, message: str
) -> None:
    with pytest.raises(review.CorrectionRefused, match=message) as refused:
        review.correct(table, stored(), text, by="u", plate_index=index)
    assert refused.value.status == status


def test_unfinished_or_rejected_records_cannot_be_corrected(table: str) -> None:
    record = stored(text=None, status=contract.REJECTED)
    with pytest.raises(review.CorrectionRefused) as refused:
        review.correct(table, record, "AB0123", by="u")
    assert refused.value.status == 409


def test_export_labels_writes_the_benchmark_layout(table: str, tmp_path: Path) -> None:
    # Given two corrected photos, one with a plate box and one where nothing was read
    aws.client("s3").put_object(Bucket=BUCKET, Key="uploads/upload-0001/car.jpg", Body=b"jpeg1")
    aws.client("s3").put_object(Bucket=BUCKET, Key="uploads/upload-0002/car.jpg", Body=b"jpeg2")
    review.correct(table, stored("upload-0001"), "AB0123", by="u")
    review.correct(table, stored("upload-0002", None, status=contract.NO_PLATE), "XY1", by="u")
    stored("upload-0003")  # not corrected: not exported

    done = export_labels.export(tmp_path / "set", table)

    assert (done.written, done.without_box, done.missing_photo) == (1, 1, 0)
    assert (tmp_path / "set" / "upload-0001.jpg").read_bytes() == b"jpeg1"
    label = (tmp_path / "set" / "upload-0001.txt").read_text()
    assert label == "upload-0001.jpg\t200\t300\t160\t60\tAB0123\n"
    # and the benchmark reads it back
    (photo,) = benchmark.iter_dataset(tmp_path / "set")
    assert (photo.plate, photo.box, photo.path.name) == (
        "AB0123",
        (200, 300, 160, 60),
        "upload-0001.jpg",
    )
