"""The API function's HTTP contract, response by response: status, headers and body.

The site and API clients rely on these answers, recorded from the handler on Powertools'
`APIGatewayHttpResolver` with `CORSConfig(allow_origin=site_origin, max_age=600)`: CORS
headers only for the site's origin, the preflight answered for any path, API errors as
`{"message"}`, an unexpected error as a 500 the browser can read. The data layer
(`platescan.api`) is replaced by fakes, so only the routing and the HTTP shape count.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from platescan import api
from platescan.auth import Caller
from platescan.local.gaps import LambdaContext
from platescan.settings import get_settings

SITE = "https://plates.example"
OTHER = "https://elsewhere.example"
NO_ORIGIN = ""


def create_upload(body: Any, caller: Caller) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise api.ApiError(400, "send a JSON object with file_name, content_type and size")
    if body.get("content_type") != "image/jpeg":
        raise api.ApiError(415, "only JPEG")
    return {"upload_id": "U1", "key": f"uploads/U1/{body['file_name']}", "size": body["size"]}


def get_result(upload_id: str, caller: Caller) -> dict[str, Any]:
    if upload_id == "missing":
        raise api.ApiError(404, "no result yet")
    if upload_id == "boom":
        raise RuntimeError("secret internals")
    return {"upload_id": upload_id, "status": "DONE", "plates": [{"text": "7ABC123", "p": 0.97}]}


def search(plate: str | None, caller: Caller) -> dict[str, Any]:
    if not plate:
        raise api.ApiError(400, "give a plate")
    return {"items": [{"upload_id": "U1", "plate": plate}]}


@pytest.fixture(scope="module")
def app() -> Iterator[ModuleType]:
    """The API handler with the site at SITE, tracing off, over the fake data layer."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SITE_ORIGIN", SITE)
        patch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
        patch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        patch.setattr(api, "create_upload", create_upload)
        patch.setattr(api, "get_result", get_result)
        patch.setattr(api, "search", search)
        get_settings.cache_clear()
        # reloaded: the origin is read at import, and another test may have imported it
        yield importlib.reload(importlib.import_module("functions.api.app"))
    get_settings.cache_clear()


def event(
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    origin: str = SITE,
    headers: dict[str, str] | None = None,
    encoded: bool = True,
    stage: str = "$default",
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event, lower-case headers as it sends them,
    with the claims its JWT authorizer passes (none for a preflight, which it answers
    without a token)."""
    if claims is None and method != "OPTIONS":
        claims = CLAIMS
    sent = {"content-type": "application/json", **({"origin": origin} if origin else {})}
    raw = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    text = None if not raw else base64.b64encode(raw).decode() if encoded else raw.decode()
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {**sent, **(headers or {})}, "queryStringParameters": query or None,
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                    "sourceIp": "127.0.0.1", "userAgent": "pytest"},
                           "requestId": "r1", "stage": stage,
                           **({"authorizer": {"jwt": {"claims": claims, "scopes": None}}}
                              if claims else {})},
        "body": text, "isBase64Encoded": bool(raw) and encoded,
    }  # fmt: skip


SUB = "0b6d2f0e-6d4c-4a0f-9a51-7f3e2b1c9d11"
CLAIMS = {"sub": SUB, "scope": "aws.cognito.signin.user.admin", "token_use": "access"}
CORS = {
    "Access-Control-Allow-Headers": (
        "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"
    ),
    "Access-Control-Allow-Origin": SITE,
    "Access-Control-Max-Age": "600",
}
JSON = {"Content-Type": "application/json"}
PREFLIGHT = {"Access-Control-Allow-Methods": "DELETE,GET,OPTIONS,POST"}


def answer(status: int, body: Any, headers: dict[str, str]) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return {
        "statusCode": status,
        "body": text,
        "isBase64Encoded": False,
        "headers": headers,
        "cookies": [],
    }


UPLOAD = {"file_name": "a.jpg", "content_type": "image/jpeg", "size": 5}
CREATED = {"upload_id": "U1", "key": "uploads/U1/a.jpg", "size": 5}
RESULT = {"status": "DONE", "plates": [{"text": "7ABC123", "p": 0.97}]}
NOT_OBJECT = {"message": "send a JSON object with file_name, content_type and size"}
NO_ROUTE = {"message": "no such route"}

# name: (event, the response Powertools' resolver gave it)
RECORDED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "upload": (event("POST", "/uploads", UPLOAD), answer(201, CREATED, CORS | JSON)),
    "upload, body not base64": (
        event("POST", "/uploads", UPLOAD, encoded=False),
        answer(201, CREATED, CORS | JSON),
    ),
    "upload refused": (
        event("POST", "/uploads", {**UPLOAD, "content_type": "image/gif"}),
        answer(415, {"message": "only JPEG"}, CORS | JSON),
    ),
    "malformed JSON": (
        event("POST", "/uploads", b"{not json"),
        answer(400, NOT_OBJECT, CORS | JSON),
    ),
    "body not UTF-8": (
        event("POST", "/uploads", b"\xff\xfe"),
        answer(400, NOT_OBJECT, CORS | JSON),
    ),
    "no body": (event("POST", "/uploads"), answer(400, NOT_OBJECT, CORS | JSON)),
    "body a list": (event("POST", "/uploads", [1, 2]), answer(400, NOT_OBJECT, CORS | JSON)),
    "result": (
        event("GET", "/results/abc_DEF-1"),
        answer(200, {"upload_id": "abc_DEF-1", **RESULT}, CORS | JSON),
    ),
    "result not there": (
        event("GET", "/results/missing"),
        answer(404, {"message": "no result yet"}, CORS | JSON),
    ),
    "search": (
        event("GET", "/results", query={"plate": "7ABC*"}),
        answer(200, {"items": [{"upload_id": "U1", "plate": "7ABC*"}]}, CORS | JSON),
    ),
    "search, no plate": (
        event("GET", "/results"),
        answer(400, {"message": "give a plate"}, CORS | JSON),
    ),
    "root": (event("GET", "/"), answer(404, NO_ROUTE, CORS | JSON)),
    "results/": (event("GET", "/results/"), answer(404, NO_ROUTE, CORS | JSON)),
    "results/a/b": (event("GET", "/results/a/b"), answer(404, NO_ROUTE, CORS | JSON)),
    "preflight": (
        event(
            "OPTIONS",
            "/uploads",
            headers={
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        ),
        answer(204, "", CORS | PREFLIGHT),
    ),
    "preflight, path with no route": (
        event("OPTIONS", "/nowhere", headers={"access-control-request-method": "GET"}),
        answer(204, "", CORS | PREFLIGHT),
    ),
    "preflight from another origin": (
        event(
            "OPTIONS", "/uploads", origin=OTHER, headers={"access-control-request-method": "POST"}
        ),
        answer(204, "", PREFLIGHT),
    ),
    "preflight, no origin": (
        event("OPTIONS", "/uploads", origin=NO_ORIGIN),
        answer(204, "", PREFLIGHT),
    ),
    "result for another origin": (
        event("GET", "/results/abc", origin=OTHER),
        answer(200, {"upload_id": "abc", **RESULT}, JSON),
    ),
    "result, no origin": (
        event("GET", "/results/abc", origin=NO_ORIGIN),
        answer(200, {"upload_id": "abc", **RESULT}, JSON),
    ),
    "upload from another origin": (
        event("POST", "/uploads", UPLOAD, origin=OTHER),
        answer(201, CREATED, JSON),
    ),
    "no route, another origin": (
        event("GET", "/nowhere", origin=OTHER),
        answer(404, NO_ROUTE, JSON),
    ),
    "named stage": (
        event("GET", "/prod/results/abc", stage="prod"),
        answer(200, {"upload_id": "abc", **RESULT}, CORS | JSON),
    ),
    "percent-encoded path, as sent": (
        event("GET", "/results/a%20b"),
        answer(200, {"upload_id": "a%20b", **RESULT}, CORS | JSON),
    ),
}


@pytest.mark.parametrize("name", list(RECORDED))
def test_the_api_answers_as_it_did_with_powertools_resolver(app: ModuleType, name: str) -> None:
    request, expected = RECORDED[name]
    assert app.lambda_handler(request, LambdaContext(function_name="api")) == expected


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/uploads"), ("POST", "/results/abc"), ("PUT", "/results"), ("HEAD", "/")],
)
def test_a_method_the_path_does_not_take_is_no_such_route(
    app: ModuleType, method: str, path: str
) -> None:
    # API Gateway itself answers these 404 (no route matches); the function says the same.
    response = app.lambda_handler(event(method, path), LambdaContext(function_name="api"))
    assert response == answer(404, NO_ROUTE, CORS | JSON)


@pytest.mark.parametrize(
    "claims",
    [{}, {"scope": "aws.cognito.signin.user.admin"}, {"sub": ""}],
    ids=["no authorizer", "no sub", "empty sub"],
)
def test_a_request_without_a_verified_caller_is_a_401(
    app: ModuleType, claims: dict[str, str]
) -> None:
    # API Gateway refuses these before the function runs; a route left without its
    # authorizer must not open the data either.
    request = event("GET", "/results/abc")
    if claims:
        request["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    else:
        del request["requestContext"]["authorizer"]
    response = app.lambda_handler(request, LambdaContext(function_name="api"))
    assert response["statusCode"] == 401
    assert "sign in" in json.loads(response["body"])["message"]


def test_an_unexpected_error_is_logged_and_answered_without_its_details(app: ModuleType) -> None:
    # Powertools let the exception fail the invocation; API Gateway then answered a bare 500
    # without CORS headers, which the site could not read.
    stream = io.StringIO()
    handler = app.logger.registered_handler
    previous = handler.setStream(stream)
    try:
        response = app.lambda_handler(
            event("GET", "/results/boom"), LambdaContext(function_name="api")
        )
    finally:
        handler.setStream(previous)
    assert response == answer(500, {"message": "internal error"}, CORS | JSON)
    logged = [json.loads(line) for line in stream.getvalue().splitlines() if line]
    (error,) = [entry for entry in logged if entry["level"] == "ERROR"]
    assert error["message"] == "unhandled error in GET /results/boom"
    assert "RuntimeError: secret internals" in error["exception"]
    assert error["correlation_id"] == "r1"  # requestContext.requestId, as before


def test_routes_as_api_gateway_sends_them_with_a_route_key_and_path_parameters(
    app: ModuleType,
) -> None:
    request = event("GET", "/results/abc")
    request["routeKey"] = "GET /results/{upload_id}"
    request["pathParameters"] = {"upload_id": "abc"}
    response = app.lambda_handler(request, LambdaContext(function_name="api"))
    assert response == answer(200, {"upload_id": "abc", **RESULT}, CORS | JSON)
