"""`platescan.router` on its own: what the API function's routes rely on beyond its tests."""

from __future__ import annotations

import base64
import json
import logging
from decimal import Decimal
from typing import Any

import pytest

from platescan.router import Cors, Request, Response, Router, path_of


def event(method: str, path: str, **extra: Any) -> dict[str, Any]:
    context = {"http": {"method": method}, "stage": extra.pop("stage", "$default")}
    return {"rawPath": path, "requestContext": context, **extra}


def test_path_parameters_are_single_segments_and_reach_the_route_by_name() -> None:
    router = Router()
    router.get("/things/{thing_id}/parts/{part}")(lambda request, **kw: kw)
    response = router.resolve(event("GET", "/things/a-1/parts/b_2"))
    assert json.loads(response["body"]) == {"thing_id": "a-1", "part": "b_2"}
    assert router.resolve(event("GET", "/things/a/b/parts/c"))["statusCode"] == 404
    assert router.resolve(event("GET", "/things//parts/c"))["statusCode"] == 404


def test_a_named_stage_is_removed_from_the_path_only_where_it_prefixes_it() -> None:
    assert path_of(event("GET", "/prod/results", stage="prod")) == "/results"
    assert path_of(event("GET", "/prod", stage="prod")) == "/"
    assert path_of(event("GET", "/production/x", stage="prod")) == "/production/x"
    assert path_of(event("GET", "/results")) == "/results"


def test_bodies_are_decoded_from_base64_only_when_flagged() -> None:
    encoded = base64.b64encode(b'{"a": 1}').decode()
    assert Request(event("POST", "/", body=encoded, isBase64Encoded=True), "/").json_body() == {
        "a": 1
    }
    assert Request(event("POST", "/", body='{"a": 1}'), "/").json_body() == {"a": 1}
    assert Request(event("POST", "/"), "/").json_body() is None
    with pytest.raises(ValueError):
        Request(event("POST", "/", body="not base64!", isBase64Encoded=True), "/").json_body()


def test_dynamodb_numbers_serialise_as_powertools_did() -> None:
    router = Router()
    router.get("/n")(lambda request: {"n": Decimal("1.50"), "i": 2})
    assert router.resolve(event("GET", "/n"))["body"] == '{"n":"1.50","i":2}'


def test_a_wildcard_origin_admits_any_origin_as_star() -> None:
    assert Cors("*").headers("https://a.example")["Access-Control-Allow-Origin"] == "*"
    assert Cors("https://a.example").headers("https://b.example") == {}
    assert Cors("https://a.example").headers(None) == {}


def test_without_cors_options_is_an_ordinary_method() -> None:
    router = Router()
    router.get("/x")(lambda request: {})
    response = router.resolve(event("OPTIONS", "/x"))
    assert response["statusCode"] == 405 and response["headers"]["Allow"] == "GET"
    assert "Access-Control-Allow-Origin" not in response["headers"]


def test_handlers_take_their_exception_type_and_others_are_logged_as_500s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = Router()

    @router.exception_handler(KeyError)
    def missing(exc: KeyError) -> Response:
        return Response(409, {"message": "taken"})

    @router.get("/taken")
    def taken(request: Request) -> None:
        raise KeyError("x")

    @router.get("/broken")
    def broken(request: Request) -> None:
        raise ZeroDivisionError("the details")

    assert router.resolve(event("GET", "/taken"))["statusCode"] == 409
    with caplog.at_level(logging.ERROR, logger="platescan.router"):
        response = router.resolve(event("GET", "/broken"))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "internal error"}
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
