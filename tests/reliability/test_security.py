"""Nobody uploads what was not signed for, and nobody reads what is not theirs.

Through the local service on a real port (the website's path): the API, the S3 upload
stand-in that checks presigned POST policies as S3 does, and CORS. The infrastructure side
(TLS-only buckets, least privilege, no public access) is asserted in tests/infra.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from platescan import api, aws
from platescan.local.server import LocalService
from platescan.settings import get_settings
from tests.support import bearer, multipart, plate_photo, request

FOREIGN = "https://evil.example"
AUTH: dict[str, str] = {}  # a signed-in user's Authorization header, for the module
LIMIT = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def service() -> Iterator[LocalService]:
    svc = LocalService("127.0.0.1", 0, engine="rekognition")
    svc.start_in_background()
    assert svc.stack is not None
    AUTH.update(bearer(svc.stack))
    yield svc
    svc.stop()


def create_upload(service: LocalService, body: Any, origin: str | None = None) -> tuple[int, Any]:
    headers = {
        "Content-Type": "application/json",
        **AUTH,
        **({"Origin": origin} if origin else {}),
    }
    status, raw, _ = request(
        f"{service.url}/api/uploads", json.dumps(body).encode(), headers, "POST"
    )
    return status, json.loads(raw)


def post_file(upload: dict[str, Any], data: bytes, **overrides: str) -> tuple[int, str]:
    body, content_type = multipart({**upload["fields"], **overrides}, data)
    status, raw, _ = request(upload["url"], body, {"Content-Type": content_type}, "POST")
    return status, raw.decode()


def stored(key: str) -> bool:
    try:
        aws.client("s3").head_object(Bucket=get_settings().uploads_bucket, Key=key)
    except aws.client("s3").exceptions.ClientError:
        return False
    return True


def a_valid_upload(service: LocalService, size: int = 1000) -> dict[str, Any]:
    status, upload = create_upload(
        service, {"file_name": "car.jpg", "content_type": "image/jpeg", "size": size}
    )
    assert status == 201
    return dict(upload)


# -- presign requests ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"content_type": "image/webp", "size": 10}, 415, "only JPEG"),
        ({"content_type": "image/heic", "size": 10}, 415, "only JPEG"),
        ({"content_type": "text/html", "size": 10}, 415, "only JPEG"),
        ({"content_type": "application/octet-stream", "size": 10}, 415, "only JPEG"),
        ({"size": 10}, 415, "only JPEG"),
        ({"content_type": "image/jpeg", "size": LIMIT + 1}, 413, "limit is 10 MB"),
        ({"content_type": "image/jpeg", "size": "1000"}, 400, "size"),
        ({"content_type": "image/jpeg", "size": -5}, 400, "size"),
        ({"content_type": "image/jpeg", "size": 1.5}, 400, "size"),
        ({"content_type": "image/jpeg", "size": True}, 400, "size"),
        ({"content_type": "image/jpeg"}, 400, "size"),
    ],
    ids=[
        "webp", "heic", "html", "octet-stream", "no-type", "over-limit", "size-string",
        "size-negative", "size-float", "size-bool", "no-size",
    ],
)  # fmt: skip
def test_presign_requests_for_other_types_or_sizes_are_refused(
    service: LocalService, body: dict[str, Any], status: int, message: str
) -> None:
    got, payload = create_upload(service, {"file_name": "car.jpg", **body})
    assert got == status and message in payload["message"]
    assert set(payload) == {"message"}  # nothing signed comes back with a refusal


# -- the S3 upload endpoint enforces what was signed ----------------------------------
def test_a_file_bigger_than_the_declared_size_is_refused(service: LocalService) -> None:
    # The policy signs the size the client declared, not the service's 10 MB limit
    upload = a_valid_upload(service, size=1000)
    status, body = post_file(upload, bytes(LIMIT + 1))
    assert status == 403
    assert "allowed 1000 to 1000" in body
    assert not stored(upload["key"])


def test_an_empty_file_is_refused(service: LocalService) -> None:
    upload = a_valid_upload(service)
    status, body = post_file(upload, b"")
    assert status == 403 and "allowed 1000 to 1000" in body
    assert not stored(upload["key"])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Content-Type", "text/html", "Content-Type must be image/jpeg"),
        ("key", "uploads/AAAAAAAAAAAAAAAAAAAAAA/car.jpg", "key must be"),
        ("x-amz-signature", "0" * 64, "signature does not match"),
        ("x-amz-meta-owner", "admin", "not allowed by the policy"),
    ],
    ids=["content-type", "other-folder", "signature", "extra-field"],
)
def test_a_tampered_form_is_refused(
    service: LocalService, field: str, value: str, message: str
) -> None:
    photo = plate_photo("7ABC123")
    upload = a_valid_upload(service, size=len(photo))
    status, body = post_file(upload, photo, **{field: value})
    assert status == 403 and message in body
    assert not stored(upload["key"]) and not stored(value)


def test_an_expired_policy_is_refused(
    service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The API signs a policy that expired a minute ago
    monkeypatch.setenv("PRESIGN_EXPIRES_S", "-60")
    get_settings.cache_clear()
    try:
        photo = plate_photo("7ABC123")
        upload = a_valid_upload(service, size=len(photo))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    status, body = post_file(upload, photo)
    assert status == 403 and "expired" in body
    assert not stored(upload["key"])


def test_a_signed_upload_is_accepted(service: LocalService) -> None:
    photo = plate_photo("7ABC123")
    upload = a_valid_upload(service, size=len(photo))
    assert post_file(upload, photo)[0] == 204
    assert stored(upload["key"])


# -- ids, results and listing ---------------------------------------------------------
def test_upload_ids_carry_at_least_122_random_bits(service: LocalService) -> None:
    ids = [api.new_upload_id() for _ in range(2000)]
    ids += [a_valid_upload(service)["upload_id"] for _ in range(5)]
    raw = [base64.urlsafe_b64decode(i + "==") for i in ids]
    assert len(set(ids)) == len(ids)
    assert all(len(r) * 8 >= 122 for r in raw)  # 16 bytes: 128 bits
    # every one of the 128 bits varies, about half the time: none is fixed or patterned
    bits = [int.from_bytes(r, "big") for r in raw]
    for position in range(128):
        ones = sum(b >> position & 1 for b in bits)
        assert 0.4 < ones / len(bits) < 0.6, position


@pytest.mark.parametrize(
    "path",
    [
        "/api/results/" + "A" * 22,  # well-formed, nobody's
        "/api/results/short",
        "/api/results/..%2F..%2Fconfig.json",
        "/api/results/" + "A" * 21 + "*",
        "/api/results/",
    ],
    ids=["unknown-id", "short", "traversal", "wildcard-id", "empty-id"],
)
def test_a_result_is_reached_only_by_its_exact_id(service: LocalService, path: str) -> None:
    status, body, _ = request(service.url + path, headers=AUTH)
    assert status in (400, 404)
    assert "items" not in json.loads(body) and "upload_id" not in json.loads(body)


@pytest.mark.parametrize(
    "path",
    [
        "/api/results",
        "/api/results?plate=",
        "/api/results?plate=*",
        "/api/results?plate=%3F*",
        "/api/results?plate=-%20-",
        "/api/uploads",
        "/api/",
        "s3:",
        "s3:/",
        "s3:?list-type=2",
        "s3:/?list-type=2&prefix=uploads/",
        "s3:/uploads/",
        "other-bucket:/",
    ],
)
def test_no_route_lists_the_bucket_or_the_table(service: LocalService, path: str) -> None:
    if ":" in path:  # the S3 stand-in, virtual-hosted: <bucket>.s3.localhost
        bucket, rest = path.split(":", 1)
        bucket = get_settings().uploads_bucket if bucket == "s3" else bucket
        url = f"http://{bucket}.s3.localhost:{service.port}{rest}"
    else:
        url = service.url + path
    status, body, _ = request(url, headers=AUTH)
    assert 400 <= status < 500
    assert b"<Contents>" not in body and b"<Key>" not in body and b'"items"' not in body


def test_an_object_is_served_only_through_a_presigned_link(service: LocalService) -> None:
    photo = plate_photo("7ABC123")
    upload = a_valid_upload(service, size=len(photo))
    assert post_file(upload, photo)[0] == 204
    plain = f"http://{get_settings().uploads_bucket}.s3.localhost:{service.port}/{upload['key']}"
    assert request(plain)[0] == 403
    # a link whose signature time is old enough has expired
    old = plain + "?X-Amz-Date=20200101T000000Z&X-Amz-Expires=300&X-Amz-Signature=x"
    status, body, _ = request(old)
    assert status == 403 and b"expired" in body


# -- CORS --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["POST", "OPTIONS"])
def test_cors_allows_only_the_site_origin(service: LocalService, method: str) -> None:
    def allowed_origin(origin: str) -> str | None:
        headers = {
            "Origin": origin,
            "Content-Type": "application/json",
            "Access-Control-Request-Method": "POST",
            **(AUTH if method == "POST" else {}),
        }
        body = json.dumps({"file_name": "a.jpg", "content_type": "image/jpeg", "size": 10})
        _, _, got = request(
            f"{service.url}/api/uploads",
            body.encode() if method == "POST" else None,
            headers,
            method,
        )
        return {k.lower(): v for k, v in got.items()}.get("access-control-allow-origin")

    assert allowed_origin(service.url) == service.url
    assert allowed_origin(FOREIGN) is None
    assert allowed_origin("null") is None
    assert allowed_origin(service.url + ".evil.example") is None


# -- every route needs a valid access token: the JWT authorizer's checks ---------------------
def _pool(service: LocalService) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    from platescan.local.runtime import ACCOUNT_ID

    assert service.stack is not None
    region = service.stack.config.region
    return cognitoidp_backends[ACCOUNT_ID][region].user_pools[service.stack.user_pool_id]


def _user_tokens(service: LocalService) -> tuple[str, dict[str, Any]]:
    assert service.stack is not None
    email = f"tokens-{uuid.uuid4().hex[:8]}@example.com"
    service.stack.add_user(email, "a long enough passphrase")
    return email, service.stack.sign_in(email, "a long enough passphrase")


def _signed(service: LocalService, claims: dict[str, Any]) -> str:
    """A token signed with the pool's own key, with the claims given (as Cognito would)."""
    from joserfc import jwt

    return str(jwt.encode({"kid": "dummy", "alg": "RS256"}, claims, _pool(service).json_web_key))


def _bad_tokens(service: LocalService) -> dict[str, str | None]:
    import time

    assert service.stack is not None
    _email, tokens = _user_tokens(service)
    access = tokens["AccessToken"]
    good = {
        "iss": service.stack.issuer,
        "client_id": service.stack.client_id,
        "sub": "0b6d2f0e-6d4c-4a0f-9a51-7f3e2b1c9d11",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "iat": int(time.time()) - 10,
        "exp": int(time.time()) + 600,
    }
    head, payload, signature = access.split(".")
    return {
        "none": None,
        "not a JWT": "hello",
        "ID token (no access scope)": tokens["IdToken"],
        "tampered signature": f"{head}.{payload}.{signature[:-4]}AAAA",
        "expired": _signed(service, {**good, "exp": int(time.time()) - 1}),
        "issued in the future": _signed(service, {**good, "iat": int(time.time()) + 3600}),
        "another issuer": _signed(service, {**good, "iss": service.stack.issuer + "x"}),
        "another client": _signed(service, {**good, "client_id": "someone-else"}),
        "aud wins over client_id": _signed(service, {**good, "aud": "someone-else"}),
        "unsigned": f"{head}.{payload}.",
    }


ROUTE_CALLS = [
    ("POST", "/api/uploads"),
    ("GET", "/api/results/AAAAAAAAAAAAAAAAAAAAAA"),
    ("DELETE", "/api/results/AAAAAAAAAAAAAAAAAAAAAA"),
    ("GET", "/api/results?plate=7ABC123"),
    ("GET", "/api/me/export"),
    ("DELETE", "/api/me"),
    ("GET", "/api/watchlist"),
    ("POST", "/api/watchlist"),
    ("DELETE", "/api/watchlist/0123456789abcdef"),
    ("GET", "/api/watchlist/export"),
    ("POST", "/api/watchlist/import"),
    ("GET", "/api/alerts"),
    ("GET", "/api/review"),
    ("POST", "/api/results/AAAAAAAAAAAAAAAAAAAAAA/correction"),
]


def test_every_route_refuses_a_request_without_a_valid_access_token(
    service: LocalService,
) -> None:
    from platescan.contract import ROUTES

    assert len(ROUTE_CALLS) == len(ROUTES)  # a new route gets its line here
    for name, token in _bad_tokens(service).items():
        headers = {"Content-Type": "application/json", "Origin": service.url}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        for method, path in ROUTE_CALLS:
            status, body, got = request(service.url + path, b"{}", headers, method)
            assert status == 401, (name, method, path)
            assert json.loads(body) == {"message": "Unauthorized"}
            assert "invalid_token" in {k.lower(): v for k, v in got.items()}["www-authenticate"]


def test_a_valid_token_with_or_without_bearer_passes_and_names_the_caller(
    service: LocalService,
) -> None:
    _, tokens = _user_tokens(service)
    for value in (f"Bearer {tokens['AccessToken']}", tokens["AccessToken"]):
        status, body, _ = request(f"{service.url}/api/me/export", headers={"Authorization": value})
        assert status == 200 and json.loads(body) == {"items": []}


def test_a_re_posted_upload_form_yields_one_processed_photo(service: LocalService) -> None:
    # Given an upload form, posted once and processed
    assert service.stack is not None
    stack = service.stack
    photo = plate_photo("7ABC123")
    upload = a_valid_upload(service, size=len(photo))
    assert post_file(upload, photo)[0] == 204
    first = stack.wait_for(upload["upload_id"], timeout=60)
    detections = stack.registry.invocations.get("platescan-detect-text", 0)

    # When the very same form is posted again (the signature is still valid)
    assert post_file(upload, photo)[0] == 204

    # Then a second execution ran, and stopped before detection: the record is unchanged
    runs = _executions_for(stack, upload["key"], count=2)
    assert [r["status"] for r in runs] == ["SUCCEEDED", "SUCCEEDED"]
    assert stack.registry.invocations.get("platescan-detect-text", 0) == detections
    again = stack.record(upload["upload_id"])
    assert again is not None
    assert again["execution_arn"] == first["execution_arn"]
    assert again["processed_at"] == first["processed_at"]


def _executions_for(stack: Any, key: str, count: int, timeout: float = 60) -> list[Any]:
    """The finished executions whose input is the event of `key`, once there are `count`."""
    import time

    sfn = aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        mine = [
            run
            for run in stack.executions()
            if json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])[
                "detail"
            ]["object"]["key"]
            == key
        ]
        if len(mine) >= count and all(run["status"] != "RUNNING" for run in mine):
            return sorted(mine, key=lambda run: run["startDate"])
        assert time.monotonic() < deadline, f"{len(mine)} executions for {key}"
        time.sleep(0.1)
