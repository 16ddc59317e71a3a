"""A phone photo stored sideways with an EXIF orientation tag is read upright, not rejected.

Real OCR (the ONNX engine) through the whole pipeline: the pixels are stored rotated a
quarter turn and only the tag says how to show them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from platescan import records
from platescan.local.runtime import LocalStack
from tests.support import plate_photo

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("orientation", [6, 8])
def test_an_exif_rotated_photo_is_read_upright(
    stack_factory: Callable[..., LocalStack], orientation: int
) -> None:
    stack = stack_factory(engine="onnx")
    photo = plate_photo("7ABC123", exif_orientation=orientation)
    upload_id = stack.put_photo(photo, "phone.jpg", content_type="image/jpeg")
    record = stack.wait_for(upload_id, timeout=180)

    assert record["status"] == records.DONE
    assert record["plate_text"] == "7ABC123"
    # width and height as displayed (the stored pixels are 720 wide, 1280 high)
    assert (record["width"], record["height"]) == (1280, 720)
    box = record["plates"][0]["box"]
    assert box["width"] > box["height"]  # the plate is found lying flat, as displayed
