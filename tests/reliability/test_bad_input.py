"""Bad input through the pipeline: each upload ends REJECTED with a reason, or is processed.

Every case is put into the bucket and waited for as a real upload is; none may leave an
upload without a final record, and the service must go on working after all of them.
Rekognition (moto) answers a plate whatever the bytes: here the image checks are the point.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from platescan import aws, records
from platescan.api import new_upload_id
from platescan.local.runtime import LocalStack
from tests.reliability.conftest import PLATE, wait_executions
from tests.support import plate_photo


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header claims `width` x `height` pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4)  # a few rows; the rest is "to come"
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def encoded(fmt: str, size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(2000)
JPEG = plate_photo(PLATE)

REJECTED_CASES = {
    "zero-bytes": (b"", "car.jpg", "empty (0 bytes)"),
    "truncated-jpeg": (JPEG[: len(JPEG) // 2], "car.jpg", "damaged or truncated"),
    "text-named-jpg": (b"Dear customer,\nthis is not a photo.\n" * 20, "car.jpg", "not an image"),
    "gif": (encoded("GIF"), "car.gif", "this is a GIF file"),
    "webp": (encoded("WEBP"), "car.webp", "this is a WEBP file"),
    "heic": (HEIC, "car.heic", "this is a HEIC/AVIF file"),
    "png-20000x20000": (png_declaring(20_000, 20_000), "bomb.png", "decompression bomb"),
    "16-mb": (
        JPEG + bytes(16 * 1024 * 1024 - len(JPEG)),
        "huge.jpg",
        "16.0 MB; the limit is 15 MB",
    ),
    "12x40": (
        encoded("JPEG", (12, 40)),
        "tiny.jpg",
        "is 12x40 pixels, too small to read a plate in",
    ),
}


@pytest.mark.parametrize("case", REJECTED_CASES, ids=list(REJECTED_CASES))
def test_unreadable_input_is_rejected_with_a_clear_reason(stack: LocalStack, case: str) -> None:
    data, name, reason = REJECTED_CASES[case]
    upload_id = stack.put_photo(data, name, content_type="image/jpeg")
    record = stack.wait_for(upload_id, timeout=60)

    assert record["status"] == records.REJECTED
    assert record["error"]["type"] == "UnsupportedImage"
    assert reason in record["error"]["message"]
    assert record["plates"] == [] and "plate_text" not in record
    # Bad input is a result, not a failure: the execution succeeded and was not retried
    (execution,) = wait_executions(stack, upload_id, 1)
    assert execution["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("data", "declared", "actual"),
    [
        (JPEG, "text/plain", "image/jpeg"),
        (plate_photo(PLATE, fmt="PNG"), "image/jpeg", "image/png"),
    ],
    ids=["jpeg-as-text", "png-as-jpeg"],
)
def test_a_wrong_content_type_is_ignored_for_what_the_bytes_say(
    stack: LocalStack, data: bytes, declared: str, actual: str
) -> None:
    upload_id = stack.put_photo(data, "car.jpg", content_type=declared)
    record = stack.wait_for(upload_id, timeout=60)
    assert record["status"] == records.DONE and record["plate_text"] == PLATE
    assert record["content_type"] == actual


NAMES = {
    "spaces": "my  car  at the beach.jpg",
    "unicode": "Straße – 車 🚗 café.jpg",
    "dot-dot": "../../../etc/passwd.jpg",
    "very-long": "ü" * 300 + ".jpg",
}


@pytest.mark.parametrize("name", NAMES.values(), ids=list(NAMES))
def test_awkward_names_through_the_upload_path_are_processed(stack: LocalStack, name: str) -> None:
    # put_photo names the key as the API does (safe_file_name): the photo stays in its folder
    upload_id = stack.put_photo(JPEG, name, content_type="image/jpeg")
    record = stack.wait_for(upload_id, timeout=60)
    assert record["status"] == records.DONE and record["plate_text"] == PLATE
    assert record["key"].startswith(f"uploads/{upload_id}/")
    assert "/" not in record["file_name"] and ".." not in record["file_name"]
    assert len(record["key"].encode()) <= 1024


@pytest.mark.parametrize(
    "name",
    [*NAMES.values(), "x" * (1024 - len("uploads/") - 23 - 4) + ".jpg"],
    ids=[*NAMES, "1024-byte-key"],
)
def test_awkward_raw_keys_put_straight_into_the_bucket_are_processed(
    stack: LocalStack, name: str
) -> None:
    # Whatever key lands in the bucket (S3 allows any UTF-8 up to 1024 bytes), the record
    # names exactly that object and the photo is read
    upload_id = new_upload_id()
    key = f"uploads/{upload_id}/{name}"
    aws.client("s3").put_object(Bucket=stack.config.bucket, Key=key, Body=JPEG)
    record = stack.wait_for(upload_id, timeout=60)
    assert record["status"] == records.DONE and record["plate_text"] == PLATE
    assert record["key"] == key and record["file_name"] == name


def test_the_service_goes_on_working_after_bad_input(stack: LocalStack) -> None:
    # Runs after the cases above in this module's stack
    upload_id = stack.put_photo(JPEG, "good car.jpg", content_type="image/jpeg")
    record = stack.wait_for(upload_id, timeout=60)
    assert record["status"] == records.DONE and record["plate_text"] == PLATE
    assert not stack.executions("FAILED")
    assert not [e for e in stack.executions() if e["status"] == "RUNNING"]
