"""The HTTP API handler, called with API Gateway (payload v2) events, on moto."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from platescan import api
from platescan.local.gaps import LambdaContext
from platescan.local.runtime import LocalConfig, LocalStack
from tests.support import FakeRekognition, detections, line, plate_photo


def call(
    stack: LocalStack, method: str, path: str, body: Any = None, query: str = ""
) -> tuple[int, dict[str, Any], dict[str, str]]:
    raw = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"content-type": "application/json", "origin": "http://127.0.0.1:8000"},
        "queryStringParameters": dict(p.split("=", 1) for p in query.split("&")) if query else None,
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "pytest"},
                           "requestId": "r1", "stage": "$default"},
        "body": base64.b64encode(raw).decode() if raw else None,
        "isBase64Encoded": bool(raw),
    }  # fmt: skip
    response = stack.handlers["api"](event, LambdaContext(function_name="api"))
    return response["statusCode"], json.loads(response["body"] or "{}"), response.get("headers", {})


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """One stack for the module: these tests only read what each creates."""
    plate = detections(line("7ABC123", 98.0, 0.4, 0.6, 0.2, 0.08))
    with (
        FakeRekognition(plate).installed(),
        LocalStack(LocalConfig(engine="rekognition", retry_time_scale=0.001)) as started,
    ):
        yield started


def test_create_upload_returns_a_presigned_post_limited_to_the_photo(stack: LocalStack) -> None:
    request = {"file_name": "my car.jpg", "content_type": "image/jpeg", "size": 52_000}
    status, body, headers = call(stack, "POST", "/uploads", request)
    assert status == 201
    assert len(body["upload_id"]) == 22  # 128 random bits, URL-safe base64
    assert body["key"] == f"uploads/{body['upload_id']}/my car.jpg"
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
    upload_id = stack.put_photo(plate_photo("7ABC123"), "car.jpg", content_type="image/jpeg")
    stack.wait_for(upload_id, timeout=60)
    status, body, _ = call(stack, "GET", f"/results/{upload_id}")
    assert status == 200 and body["status"] == "DONE"
    assert body["plates"][0]["text"] == "7ABC123"
    assert "X-Amz-Signature=" in body["image_url"]
    assert "X-Amz-Signature=" in found_image_url(stack, upload_id)
    assert "expires_at" not in body and "plate_search" not in body
    status, found, _ = call(stack, "GET", "/results", query="plate=7ABC*")
    assert status == 200 and [r["upload_id"] for r in found["items"]] == [upload_id]


def found_image_url(stack: LocalStack, upload_id: str) -> str:
    """The photo link a search hit carries (the site shows thumbnails from it)."""
    _, found, _ = call(stack, "GET", "/results", query="plate=7ABC123")
    (hit,) = [item for item in found["items"] if item["upload_id"] == upload_id]
    return str(hit["image_url"])
