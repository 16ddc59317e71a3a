"""The watchlist, alert, review and correction routes, through the API handler on moto.

Photos go through the local pipeline (Rekognition answering as each test says), so the
records, the review mark and the alerts are the pipeline's own; each request carries the
claims of a verified caller, as API Gateway's JWT authorizer passes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from platescan.local.runtime import LocalConfig, LocalStack
from tests.support import FakeRekognition, detections, line, plate_photo
from tests.unit.test_api import A, B, call

C = "3f9a8b7c-6d5e-4f3a-8b2c-1d0e9f8a7b6c"  # a user with no other photo in this module
READING: dict[str, Any] = {"text": "7ABC123", "confidence": 98.0}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    def answer() -> dict[str, Any]:
        return detections(line(READING["text"], READING["confidence"], 0.4, 0.6, 0.2, 0.08))

    with (
        FakeRekognition(answer).installed(),
        LocalStack(LocalConfig(engine="rekognition", retry_time_scale=0.001)) as started,
    ):
        yield started


def upload(stack: LocalStack, text: str, confidence: float = 98.0, owner: str = A) -> str:
    READING.update(text=text, confidence=confidence)
    upload_id = stack.put_photo(
        plate_photo(text), "car.jpg", content_type="image/jpeg", owner=owner
    )
    record = stack.wait_for(upload_id)
    assert record["status"] == "DONE", record
    return upload_id


def test_a_watchlist_is_kept_per_user(stack: LocalStack) -> None:
    status, added, _ = call(stack, "POST", "/watchlist", {"plate": "kl 0456", "label": "visitor"})
    assert status == 201
    assert (added["plate"], added["mode"], added["label"]) == ("KL0456", "tolerant", "visitor")
    status, listed, _ = call(stack, "GET", "/watchlist")
    assert status == 200 and [e["plate"] for e in listed["items"]] == ["KL0456"]
    assert call(stack, "GET", "/watchlist", as_user=B)[1] == {"items": []}
    # B cannot remove A's entry: it answers as an unknown one would
    path = f"/watchlist/{added['entry_id']}"
    assert call(stack, "DELETE", path, as_user=B)[:2] == (
        404,
        {"message": "no such watchlist entry"},
    )
    assert call(stack, "DELETE", path)[0] == 204
    assert call(stack, "DELETE", path)[0] == 404


def test_bad_entries_and_bodies_get_a_reason(stack: LocalStack) -> None:
    assert call(stack, "POST", "/watchlist", {"plate": "A"})[:2] == (
        400,
        {"message": "a plate needs at least 2 letters or digits"},
    )
    status, body, _ = call(stack, "POST", "/watchlist", b"not json")
    assert status == 400 and "JSON object" in body["message"]


def test_csv_import_and_export(stack: LocalStack) -> None:
    text = b"plate,label,note,mode\nXY123Z,staff,blue van,exact\nQR*,fleet,,\n"
    status, body, _ = call(stack, "POST", "/watchlist/import", text, as_user=B)
    assert (status, body) == (200, {"imported": 2, "new": 2})
    status, exported, headers = call(stack, "GET", "/watchlist/export", as_user=B)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert exported.splitlines() == [
        "plate,label,note,mode",
        "QR*,fleet,,wildcard",
        "XY123Z,staff,blue van,exact",
    ]
    status, body, _ = call(stack, "POST", "/watchlist/import", b"plate\nA\n", as_user=B)
    assert status == 400 and body["message"].startswith("line 2:")


def test_an_upload_matching_an_entry_is_an_alert_of_its_owner_only(stack: LocalStack) -> None:
    call(stack, "POST", "/watchlist", {"plate": "8KD0451", "label": "banned"})
    call(stack, "POST", "/watchlist", {"plate": "8KD0451"}, as_user=B)
    first = upload(stack, "BKD0451")  # the reader took the 8 for a B
    second = upload(stack, "8KDO451")  # and here the 0 for an O
    status, body, _ = call(stack, "GET", "/alerts")
    assert status == 200
    assert [a["upload_id"] for a in body["items"]] == [second, first]  # newest first
    latest = body["items"][0]
    # the reader's best guess is reported, and how far it is from the entry
    assert (latest["plate_read"], latest["how"], latest["candidate_rank"]) == (
        "8KDO451",
        "lookalike",
        0,
    )
    assert latest["entry"]["label"] == "banned"
    assert "X-Amz-Signature" in latest["image_url"]
    assert "owner" not in latest and "claimed_by" not in latest
    # B has the same entry, but the photos are A's
    assert call(stack, "GET", "/alerts", as_user=B)[1] == {"items": []}


def test_unsure_readings_are_listed_for_review_and_a_correction_is_found_and_matched(
    stack: LocalStack,
) -> None:
    # Given an unsure reading (60%: under the 0.8 threshold) and an entry it does not match
    unsure = upload(stack, "QW9871", confidence=60.0, owner=C)
    upload(stack, "7ABC123", confidence=99.0, owner=C)
    call(
        stack,
        "POST",
        "/watchlist",
        {"plate": "QW9877", "mode": "exact", "label": "stolen"},
        as_user=C,
    )
    status, body, _ = call(stack, "GET", "/review", as_user=C)
    assert status == 200 and [r["upload_id"] for r in body["items"]] == [unsure]
    assert body["items"][0]["review"] == "NEEDED" and "image_url" in body["items"][0]
    assert call(stack, "GET", "/review", as_user=B)[1] == {"items": []}

    # When A corrects it
    status, body, _ = call(
        stack, "POST", f"/results/{unsure}/correction", {"text": "QW 9877"}, as_user=C
    )

    # Then the correction is kept, search finds the corrected text, and the entry alerts
    assert status == 200 and body["alerts_raised"] == 1
    correction = body["record"]["correction"]
    assert (correction["text"], correction["original"], correction["by"]) == ("QW9877", "QW9871", C)
    assert call(stack, "GET", "/review", as_user=C)[1] == {"items": []}
    found = call(stack, "GET", "/results", query="plate=QW9877", as_user=C)[1]["items"]
    assert [r["upload_id"] for r in found] == [unsure]
    alert = call(stack, "GET", "/alerts", as_user=C)[1]["items"][0]
    assert (alert["upload_id"], alert["source"], alert["how"]) == (unsure, "correction", "exact")


def test_only_the_owner_may_correct(stack: LocalStack) -> None:
    mine = upload(stack, "MN4455")
    for who, path in (
        (B, f"/results/{mine}/correction"),
        (A, "/results/AAAAAAAAAAAAAAAAAAAAAA/correction"),
    ):
        assert call(stack, "POST", path, {"text": "MN4456"}, as_user=who)[:2] == (
            404,
            {"message": "no such upload"},
        )
    status, body, _ = call(stack, "POST", f"/results/{mine}/correction", {"text": "?"})
    assert status == 400 and "letters or digits" in body["message"]
