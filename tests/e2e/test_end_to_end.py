"""End to end on the local stack with the real ONNX OCR engine.

A plate photo rendered here goes in through the website's path (API create-upload, then a
presigned POST to the S3 stand-in) and through the CLI's path (a put into the bucket); in
both, S3 -> EventBridge -> Step Functions -> handlers -> DynamoDB reads the plate back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from platescan.local.server import LocalService
from tests.support import bearer, multipart, plate_photo, request

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def service() -> Iterator[LocalService]:
    svc = LocalService("127.0.0.1", 0, engine="onnx")
    svc.start_in_background()
    assert svc.stack is not None
    AUTH.update(bearer(svc.stack))
    yield svc
    svc.stop()


AUTH: dict[str, str] = {}  # a signed-in user's Authorization header, for the module


def upload_through_api(
    service: LocalService, data: bytes, file_name: str, content_type: str
) -> dict[str, Any]:
    status, body, _ = request(
        f"{service.url}/api/uploads",
        json.dumps(
            {"file_name": file_name, "content_type": content_type, "size": len(data)}
        ).encode(),
        {"Content-Type": "application/json", **AUTH},
    )
    assert status == 201, body
    upload = json.loads(body)
    form, form_type = multipart(upload["fields"], data, file_name)
    status, body, _ = request(upload["url"], form, {"Content-Type": form_type})
    assert status == 204, body
    return dict(upload)


def test_a_plate_uploaded_through_the_website_path_is_read(service: LocalService) -> None:
    # Given a photo of a car with plate "KX 5823" (rendered, never seen before)
    photo = plate_photo("KX5823")
    # When it is uploaded as the browser does
    upload = upload_through_api(service, photo, "drive-by.jpg", "image/jpeg")
    assert service.stack is not None
    record = service.stack.wait_for(upload["upload_id"], timeout=180)
    # Then the record in DynamoDB holds the right plate, boxed where it was drawn
    assert record["status"] == "DONE", record
    plate = record["plates"][0]
    assert plate["text"] == "KX5823"
    assert record["engine"] == "onnx"
    box = plate["box"]
    assert 0.30 < box["left"] < 0.45 and 0.55 < box["top"] < 0.70
    # and the API serves it, with a photo link the browser can load
    status, body, _ = request(f"{service.url}/api/results/{upload['upload_id']}", headers=AUTH)
    assert status == 200
    result = json.loads(body)
    assert result["plates"][0]["text"] == "KX5823"
    status, image, _ = request(result["image_url"])
    assert status == 200 and image == photo


def test_the_s3_stand_in_enforces_the_policy(service: LocalService) -> None:
    photo = plate_photo("KX5823")
    status, body, _ = request(
        f"{service.url}/api/uploads",
        json.dumps({"file_name": "a.jpg", "content_type": "image/jpeg", "size": 10}).encode(),
        {"Content-Type": "application/json", **AUTH},
    )
    upload = json.loads(body)
    # a different content type than the one signed for
    tampered = {**upload["fields"], "Content-Type": "text/html"}
    form, form_type = multipart(tampered, photo, "a.jpg")
    status, body, _ = request(upload["url"], form, {"Content-Type": form_type})
    assert status == 403 and b"Content-Type" in body
    # a forged signature
    forged = {**upload["fields"], "x-amz-signature": "0" * 64}
    form, form_type = multipart(forged, photo, "a.jpg")
    status, body, _ = request(upload["url"], form, {"Content-Type": form_type})
    assert status == 403 and b"SignatureDoesNotMatch" in body


def test_a_non_image_uploaded_as_jpeg_is_rejected_with_a_reason(service: LocalService) -> None:
    upload = upload_through_api(service, b"%PDF-1.7 not a photo", "scan.jpg", "image/jpeg")
    assert service.stack is not None
    record = service.stack.wait_for(upload["upload_id"], timeout=60)
    assert record["status"] == "REJECTED"
    assert "only JPEG and PNG" in record["error"]["message"]
