"""The local service behaves as the deployed one where a browser can tell.

Same security headers as CloudFront's policy (with the local hosts), presigned URLs in
S3's virtual-hosted form that the local CSP allows, and the S3 stand-in as its own origin
answering CORS by the bucket's rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from platescan import web
from platescan.local.server import LocalService
from tests.support import bearer, csp_allows, multipart, plate_photo, request

BUCKET = "platescan-uploads"
AUTH: dict[str, str] = {}  # a signed-in user's Authorization header, for the module


@pytest.fixture(scope="module")
def service() -> Iterator[LocalService]:
    svc = LocalService("127.0.0.1", 0, engine="rekognition")
    svc.start_in_background()
    assert svc.stack is not None
    AUTH.update(bearer(svc.stack))
    yield svc
    svc.stop()


def _upload(service: LocalService, size: int) -> dict[str, Any]:
    body = {"file_name": "car.jpg", "content_type": "image/jpeg", "size": size}
    status, raw, _ = request(
        f"{service.url}/api/uploads",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", **AUTH},
    )
    assert status == 201, raw
    return dict(json.loads(raw))


def test_the_site_is_served_with_cloudfronts_headers_for_the_local_hosts(
    service: LocalService,
) -> None:
    expected = web.security_headers(web.local_hosts(BUCKET, service.port))
    for path in ("/", "/config.json", "/js/main.js"):
        status, _, headers = request(service.url + path)
        assert status == 200, path
        for name, value in expected.items():
            assert headers[name] == value, (path, name)
        # Plain HTTP: HSTS would mean nothing (CloudFront sends it over HTTPS only).
        assert "Strict-Transport-Security" not in headers


def test_presigned_urls_are_virtual_hosted_and_allowed_by_the_local_csp(
    service: LocalService,
) -> None:
    photo = plate_photo("7ABC123")
    upload = _upload(service, len(photo))
    assert upload["url"] == f"http://{BUCKET}.s3.localhost:{service.port}/"
    csp = request(service.url + "/")[2]["Content-Security-Policy"]
    assert csp_allows(csp, "connect-src", upload["url"], service.url)
    assert csp_allows(csp, "form-action", upload["url"], service.url)
    # A path-style URL on the site's own host is what the local server used to hand out;
    # the CSP would now let it through as 'self', which is why the stand-in no longer
    # answers there: only the bucket's own host is S3.
    status, _, _ = request(f"{service.url}/{BUCKET}/{upload['key']}")
    assert status == 404


def test_the_s3_stand_in_answers_cors_by_the_buckets_rule(service: LocalService) -> None:
    photo = plate_photo("7ABC123")
    upload = _upload(service, len(photo))
    body, content_type = multipart(upload["fields"], photo)
    # Given the page's origin, the upload is answered with the rule's CORS headers
    status, _, headers = request(
        upload["url"], body, {"Content-Type": content_type, "Origin": service.url}, "POST"
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == service.url
    assert headers["Access-Control-Expose-Headers"] == ", ".join(web.UPLOADS_CORS.expose)
    # A page elsewhere gets no CORS headers, so its script cannot read the answer
    other = _upload(service, len(photo))
    body, content_type = multipart(other["fields"], photo)
    status, _, headers = request(
        other["url"], body, {"Content-Type": content_type, "Origin": "http://evil.test"}, "POST"
    )
    assert "Access-Control-Allow-Origin" not in headers
    # and its preflight is refused, as S3 refuses one no rule matches
    status, _, _ = request(
        other["url"],
        None,
        {"Origin": "http://evil.test", "Access-Control-Request-Method": "PUT"},
        "OPTIONS",
    )
    assert status == 403
