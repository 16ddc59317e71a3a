"""The HTTP API handler, called with API Gateway (payload v2) events, on moto.

Each event carries the claims API Gateway's JWT authorizer passes for a verified caller:
user A, user B, or an admin.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from platescan import api, aws, dynamo, records
from platescan.local.gaps import LambdaContext
from platescan.local.runtime import LocalConfig, LocalStack
from platescan.settings import get_settings
from tests.support import FakeRekognition, detections, line, plate_photo

A = "0b6d2f0e-6d4c-4a0f-9a51-7f3e2b1c9d11"
B = "7c1e4a52-3b2d-4e8f-9a10-2f6b8c9d0e12"
ADMIN = "5d2c1b0a-9e8f-4d7c-8b6a-1f2e3d4c5b6a"


def claims_of(sub: str) -> dict[str, str]:
    """As API Gateway passes them: strings, a list claim as `[a b]`."""
    found = {"sub": sub, "scope": "aws.cognito.signin.user.admin", "token_use": "access"}
    if sub == ADMIN:
        found["cognito:groups"] = "[admins]"
    return found


def call(
    stack: LocalStack,
    method: str,
    path: str,
    body: Any = None,
    query: str = "",
    as_user: str = A,
) -> tuple[int, Any, dict[str, str]]:
    raw = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": "application/json", "origin": "http://127.0.0.1:8000"},
        "queryStringParameters": dict(p.split("=", 1) for p in query.split("&")) if query else None,
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "pytest"},
                           "requestId": "r1", "stage": "$default",
                           "authorizer": {"jwt": {"claims": claims_of(as_user), "scopes": None}}},
        "body": base64.b64encode(raw).decode() if raw else None,
        "isBase64Encoded": bool(raw),
    }  # fmt: skip
    response = stack.handlers["api"](event, LambdaContext(function_name="api"))
    headers = response.get("headers", {})
    text = response["body"] or "{}"
    body = json.loads(text) if headers.get("Content-Type") == "application/json" else text
    return response["statusCode"], body, headers


# What the fake DetectText reads next (uploads here are processed one at a time).
READING = {"text": "7ABC123"}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """One stack for the module: these tests only read what each creates."""

    def answer() -> dict[str, Any]:
        return detections(line(READING["text"], 98.0, 0.4, 0.6, 0.2, 0.08))

    with (
        FakeRekognition(answer).installed(),
        LocalStack(LocalConfig(engine="rekognition", retry_time_scale=0.001)) as started,
    ):
        yield started


def test_create_upload_returns_a_presigned_post_limited_to_the_photo(stack: LocalStack) -> None:
    request = {"file_name": "my car.jpg", "content_type": "image/jpeg", "size": 52_000}
    status, body, headers = call(stack, "POST", "/uploads", request)
    assert status == 201
    assert len(body["upload_id"]) == 22  # 128 random bits, URL-safe base64
    assert body["key"] == f"uploads/{A}/{body['upload_id']}"  # ids only: no file name
    assert records.get_record(stack.config.table, body["upload_id"])["file_name"] == "my car.jpg"
    assert body["expires_in"] <= 300 and body["max_bytes"] == 10 * 1024 * 1024
    policy = json.loads(base64.b64decode(body["fields"]["policy"]))
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 52_000, 52_000] in policy["conditions"]
    assert {"key": body["key"]} in policy["conditions"]
    assert headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"


def test_upload_ids_are_random(stack: LocalStack) -> None:
    ids = {api.new_upload_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 22 for i in ids)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"file_name": "a.gif", "content_type": "image/gif", "size": 10}, 415, "only JPEG"),
        (
            {"file_name": "a.jpg", "content_type": "image/jpeg", "size": 11 * 1024 * 1024},
            413,
            "limit is 10 MB",
        ),
        ({"file_name": "a.jpg", "content_type": "image/jpeg", "size": 0}, 400, "size"),
        ({"file_name": "", "content_type": "image/jpeg", "size": 10}, 400, "file_name"),
        (
            {"file_name": "a.jpg", "content_type": "image/jpeg", "size": 10, "region": "<x>"},
            400,
            "region",
        ),
        ([1, 2, 3], 400, "JSON object"),
    ],
    ids=["gif", "too-big", "empty", "no-name", "bad-region", "not-object"],
)
def test_bad_upload_requests_get_a_4xx_with_a_message(
    stack: LocalStack, body: Any, status: int, message: str
) -> None:
    got, payload, _ = call(stack, "POST", "/uploads", body)
    assert got == status
    assert message in payload["message"]


def test_malformed_json_is_a_400(stack: LocalStack) -> None:
    got, payload, _ = call(stack, "POST", "/uploads", b"{not json")
    assert got == 400 and "JSON object" in payload["message"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "_._etc_passwd"),
        ("a/b\\c.jpg", "a_b_c.jpg"),
        ("Straße café.jpg", "Straße café.jpg"),
        ("tab\there.jpg", "tabhere.jpg"),
        ("...", "photo"),
    ],
)
def test_file_names_cannot_climb_out_of_their_folder(name: str, expected: str) -> None:
    assert api.safe_file_name(name) == expected


def test_very_long_names_are_cut_but_keep_their_extension() -> None:
    name = api.safe_file_name("ü" * 400 + ".jpeg")
    assert name.endswith(".jpeg") and len(name.encode()) <= api.MAX_NAME_BYTES


def test_results_are_fetched_only_by_a_well_formed_id(stack: LocalStack) -> None:
    assert call(stack, "GET", "/results/no.such.id")[0] == 400
    status, body, _ = call(stack, "GET", "/results/" + api.new_upload_id())
    assert status == 404 and "no result yet" in body["message"]


def test_there_is_no_route_that_lists_things(stack: LocalStack) -> None:
    for path in ("/", "/uploads", "/results/", "/bucket"):
        assert call(stack, "GET", path)[0] in (400, 404, 405)
    status, body, _ = call(stack, "GET", "/results")
    assert status == 400 and "plate" in body["message"]
    assert call(stack, "GET", "/results", query="plate=*")[0] == 400
    status, body, _ = call(stack, "GET", "/results", query="plate=A*")
    assert status == 400 and "at least 2 characters" in body["message"]


def test_a_processed_upload_is_returned_with_a_link_to_its_photo(stack: LocalStack) -> None:
    upload_id = stack.put_photo(
        plate_photo("7ABC123"), "car.jpg", content_type="image/jpeg", owner=A
    )
    stack.wait_for(upload_id, timeout=60)
    status, body, _ = call(stack, "GET", f"/results/{upload_id}")
    assert status == 200 and body["status"] == "DONE"
    assert body["plates"][0]["text"] == "7ABC123"
    assert "X-Amz-Signature=" in body["image_url"]
    assert "X-Amz-Signature=" in found_image_url(stack, upload_id)
    assert "expires_at" not in body and "plate_search" not in body
    assert not {"execution_arn", "bucket", "key", "owner"} & set(body)
    assert body["file_name"] == "car.jpg"
    status, found, _ = call(stack, "GET", "/results", query="plate=7ABC*")
    assert status == 200 and [r["upload_id"] for r in found["items"]] == [upload_id]


def found_image_url(stack: LocalStack, upload_id: str) -> str:
    """The photo link a search hit carries (the site shows thumbnails from it)."""
    _, found, _ = call(stack, "GET", "/results", query="plate=7ABC123")
    (hit,) = [item for item in found["items"] if item["upload_id"] == upload_id]
    return str(hit["image_url"])


def done_upload(stack: LocalStack, owner: str, plate: str = "7ABC123") -> str:
    READING["text"] = plate
    upload_id = stack.put_photo(
        plate_photo(plate), "car.jpg", content_type="image/jpeg", owner=owner
    )
    stack.wait_for(upload_id, timeout=60)
    return upload_id


def put_alert(owner: str, upload_id: str) -> None:
    """An alert item as Write Result leaves it, for tests of what deletion takes with it."""
    item = {
        "owner": owner,
        "alert_id": f"{upload_id}#entry-1",
        "upload_id": upload_id,
        "alerted_at": records.now_iso(),
        "plate": "EXP1111",
    }
    aws.client("dynamodb").put_item(
        TableName=get_settings().alerts_table, Item=dynamo.to_item(item)
    )


def alert_ids(owner: str) -> set[str]:
    found = aws.client("dynamodb").query(
        TableName=get_settings().alerts_table,
        KeyConditionExpression="#o = :o",
        ExpressionAttributeNames={"#o": "owner"},
        ExpressionAttributeValues=dynamo.to_item({":o": owner}),
    )
    return {item["alert_id"]["S"] for item in found["Items"]}


def test_another_users_upload_answers_exactly_as_an_unknown_one(stack: LocalStack) -> None:
    upload_id = done_upload(stack, A)
    unknown = call(stack, "GET", "/results/" + api.new_upload_id(), as_user=B)
    theirs = call(stack, "GET", f"/results/{upload_id}", as_user=B)
    assert theirs[:2] == unknown[:2] and theirs[0] == 404
    assert call(stack, "DELETE", f"/results/{upload_id}", as_user=B)[:2] == unknown[:2]
    assert call(stack, "GET", f"/results/{upload_id}", as_user=A)[0] == 200  # still there
    status, found, _ = call(stack, "GET", "/results", query="plate=7ABC123", as_user=B)
    assert status == 200 and upload_id not in [r["upload_id"] for r in found["items"]]


def test_an_admin_sees_every_record_with_its_internal_fields(stack: LocalStack) -> None:
    upload_id = done_upload(stack, A)
    unowned = stack.put_photo(plate_photo("7ABC123"), "old.jpg", content_type="image/jpeg")
    stack.wait_for(unowned, timeout=60)
    status, body, _ = call(stack, "GET", f"/results/{upload_id}", as_user=ADMIN)
    assert status == 200 and body["owner"] == A and body["execution_arn"]
    # a record from before uploads had owners: admins only
    assert call(stack, "GET", f"/results/{unowned}", as_user=ADMIN)[0] == 200
    assert call(stack, "GET", f"/results/{unowned}", as_user=A)[0] == 404
    _, found, _ = call(stack, "GET", "/results", query="plate=7ABC123", as_user=ADMIN)
    assert {upload_id, unowned} <= {r["upload_id"] for r in found["items"]}


class CountingReads:
    """Wraps the DynamoDB client: items read by Query and Scan, and which calls were made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.scanned = 0
        self.calls: list[str] = []
        client = aws.client("dynamodb")
        for name in ("query", "scan"):
            real = getattr(client, name)
            monkeypatch.setattr(client, name, self._counting(name, real))

    def _counting(self, name: str, real: Any) -> Any:
        def counted(**kwargs: Any) -> Any:
            answer = real(**kwargs)
            self.calls.append(name)
            self.scanned += int(answer.get("ScannedCount", 0))
            return answer

        return counted


def put_others_records(stack: LocalStack, count: int, *, owners: int, prefix: str) -> None:
    """`count` finished records spread over `owners` other users, plates `{prefix}0000` on."""
    client = aws.client("dynamodb")
    for i in range(count):
        owner = f"00000000-0000-4000-8000-{i % owners:012d}"
        item = records.build_result(
            {"upload_id": f"others{i:06d}xxxxxxxx", "key": records.owned_key(owner, "x" * 22)},
            status=records.DONE, plates=[{"text": f"{prefix}{i:04d}"}], engine="onnx",
            timings_ms={}, execution_arn="arn",
        )  # fmt: skip
        client.put_item(
            TableName=stack.config.table,
            Item=records.dynamo.to_item(records.to_dynamo({**item, "owner": owner})),
        )


def test_search_reads_the_callers_records_only_however_big_the_table(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 600 records of 30 other users, all with plates like B's
    put_others_records(stack, 600, owners=30, prefix="7AB")
    # and B's own three
    own = {done_upload(stack, B, plate) for plate in ("7AB1000", "7AB2000", "XYZ9999")}
    reads = CountingReads(monkeypatch)

    # When B searches with a wildcard that matches 600 others' plates
    status, found, _ = call(stack, "GET", "/results", query="plate=7AB*", as_user=B)

    # Then B gets their own two, through a Query that read at most B's records
    assert status == 200
    assert sorted(r["plates"][0]["text"] for r in found["items"]) == ["7AB1000", "7AB2000"]
    assert {r["upload_id"] for r in found["items"]} < own
    assert reads.calls and set(reads.calls) == {"query"}
    assert reads.scanned <= len(own)


def test_an_admins_wildcard_search_reads_a_bounded_share_of_the_table(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 60 records of other users, none matching
    put_others_records(stack, 60, owners=6, prefix="QQQ")
    monkeypatch.setattr(records, "ADMIN_SCAN_BUDGET", 25)
    monkeypatch.setattr(records, "SCAN_PAGE", 10)
    reads = CountingReads(monkeypatch)

    # When an admin searches with a wildcard that no index can answer (and nothing matches)
    status, found, _ = call(stack, "GET", "/results", query="plate=ZZZ9*", as_user=ADMIN)

    # Then the scan stopped at its budget, and the answer says the table was not all read
    assert status == 200
    assert found == {"items": [], "complete": False}
    assert set(reads.calls) == {"scan"} and reads.scanned == 25

    # while an owner's search of their own records is complete
    status, found, _ = call(stack, "GET", "/results", query="plate=7AB*", as_user=B)
    assert status == 200 and found["complete"] is True


def test_deleting_a_result_removes_every_photo_version_and_the_record(stack: LocalStack) -> None:
    upload_id = done_upload(stack, A)
    record = records.get_record(stack.config.table, upload_id)
    assert record is not None
    kept = done_upload(stack, A, "7ABC124")
    put_alert(A, upload_id)
    put_alert(A, kept)
    status, _, _ = call(stack, "DELETE", f"/results/{upload_id}")
    assert status == 204
    assert alert_ids(A) == {f"{kept}#entry-1"}  # the deleted upload's alert went with it
    assert call(stack, "GET", f"/results/{upload_id}")[0] == 404
    versions = aws.client("s3").list_object_versions(
        Bucket=stack.config.bucket, Prefix=record["key"]
    )
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    left = records.get_record(stack.config.table, upload_id)
    assert left is not None and set(left) == {"upload_id", "status", "deleted_at", "expires_at"}


def test_export_and_delete_me_cover_the_callers_records_only(stack: LocalStack) -> None:
    mine = {
        done_upload(stack, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", p)
        for p in ("EXP1111", "EXP2222")
    }
    theirs = done_upload(stack, B, "EXP3333")
    me = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

    status, exported, _ = call(stack, "GET", "/me/export", as_user=me)
    assert status == 200 and {r["upload_id"] for r in exported["items"]} == mine
    assert all(r["plates"] and "key" not in r for r in exported["items"])
    status, text, headers = call(stack, "GET", "/me/export", query="format=csv", as_user=me)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["plate"] for row in rows} == {"EXP1111", "EXP2222"}
    assert call(stack, "GET", "/me/export", query="format=xml", as_user=me)[0] == 400
    assert api._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and api._cell("car.jpg") == "car.jpg"

    status, body, _ = call(stack, "POST", "/watchlist", {"plate": "EXP1111"}, as_user=me)
    assert status == 201
    # an alert on each of my uploads, and one of theirs on their upload
    for owner, upload_id in [*((me, u) for u in mine), (B, theirs)]:
        put_alert(owner, upload_id)
    status, body, _ = call(stack, "DELETE", "/me", as_user=me)
    assert status == 200 and body == {
        "deleted": 2,
        "watchlist_entries_deleted": 1,
        "alerts_deleted": 2,
    }
    assert call(stack, "GET", "/alerts", as_user=me)[1]["items"] == []
    assert len(call(stack, "GET", "/alerts", as_user=B)[1]["items"]) == 1
    assert call(stack, "GET", "/watchlist", as_user=me)[1] == {"items": []}
    assert call(stack, "GET", "/me/export", as_user=me)[1] == {"items": []}
    assert all(call(stack, "GET", f"/results/{u}", as_user=me)[0] == 404 for u in mine)
    assert call(stack, "GET", f"/results/{theirs}", as_user=B)[0] == 200


def test_the_daily_quota_refuses_uploads_past_the_limit(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAILY_UPLOAD_QUOTA", "2")
    get_settings.cache_clear()
    try:
        user = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"
        request = {"file_name": "a.jpg", "content_type": "image/jpeg", "size": 1000}
        answers = [call(stack, "POST", "/uploads", request, as_user=user) for _ in range(3)]
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert [a[0] for a in answers] == [201, 201, 429]
    assert "limit of 2 photos" in answers[2][1]["message"]
    assert call(stack, "POST", "/uploads", request, as_user=B)[0] == 201  # per user


def test_a_form_posted_again_does_not_change_the_photo_a_result_shows(stack: LocalStack) -> None:
    # Given an upload processed from its first photo
    READING["text"] = "7ABC123"
    first, second = plate_photo("7ABC123"), plate_photo("8XYZ999")
    upload_id = stack.put_photo(first, "car.jpg", content_type="image/jpeg", owner=A)
    record = stack.wait_for(upload_id, timeout=60)
    assert record["plate_text"] == "7ABC123" and record.get("version_id")
    # When the same form is posted again: a second photo under the same key, which the
    # pipeline refuses to read
    READING["text"] = "8XYZ999"
    try:
        stack.put_photo(second, "car.jpg", content_type="image/jpeg", owner=A, upload_id=upload_id)
        runs = wait_runs_of(stack, record["key"], 2)
    finally:
        READING["text"] = "7ABC123"
    assert [run["status"] for run in runs] == ["SUCCEEDED", "SUCCEEDED"]
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=record["bucket"], Key=record["key"])["Body"].read() == second
    # Then the result still reads the first photo's plate, and its link shows that photo
    status, body, _ = call(stack, "GET", f"/results/{upload_id}")
    assert status == 200 and body["plates"][0]["text"] == "7ABC123"
    assert photo_behind(body["image_url"]) == first
    assert photo_behind(found_image_url(stack, upload_id)) == first


def wait_runs_of(stack: LocalStack, key: str, count: int) -> list[dict[str, Any]]:
    """The executions started for one object key once `count` exist and none runs."""
    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + 60
    while True:
        runs = [
            run
            for run in stack.executions()
            if json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])[
                "detail"
            ]["object"]["key"]
            == key
        ]
        if len(runs) >= count and all(run["status"] != "RUNNING" for run in runs):
            return sorted(runs, key=lambda run: run["startDate"])
        assert time.monotonic() < deadline, f"{len(runs)} executions of {key}"
        time.sleep(0.1)


def photo_behind(url: str) -> bytes:
    """The bytes a presigned GET link answers with (moto answers it in-process)."""
    import requests

    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    return bytes(answer.content)
