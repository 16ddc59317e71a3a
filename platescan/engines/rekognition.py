"""Amazon Rekognition DetectText on the S3 object, with its errors mapped to ours.

Rekognition reads the object from S3 itself, so no bytes pass through the function, except
for a photo smaller than Rekognition's 80 px minimum on a side: that one is read here,
enlarged to the minimum and sent as bytes (the boxes it answers with are ratios of the
photo, so they hold for the original). Its errors become the named errors the state
machine matches: throttling is retried, a photo Rekognition cannot read is a permanent
rejection, a failure on its side is retried.
"""

from __future__ import annotations

import io
import math
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from platescan import aws
from platescan.engines.base import StoredPhoto
from platescan.errors import DetectorThrottled, DetectorUnavailable, UnsupportedImage

MIN_SIDE = 80  # Rekognition DetectText reads no image smaller than 80x80 pixels

_THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException"}
_UNSUPPORTED = {"InvalidImageFormatException", "ImageTooLargeException", "InvalidS3ObjectException"}
_UNAVAILABLE = {"InternalServerError", "ServiceUnavailableException"}


def rekognition_client() -> Any:
    """The process's Rekognition client (cached, so a warm container reuses it)."""
    return aws.client("rekognition")


class RekognitionDetector:
    """DetectText through Amazon Rekognition."""

    name = "rekognition"

    def detect(self, photo: StoredPhoto) -> dict:
        image: dict[str, Any]
        if photo.size is not None and min(photo.size) < MIN_SIDE:
            image = {"Bytes": enlarged(photo.read())}
        else:
            s3_object: dict[str, str] = {"Bucket": photo.bucket, "Name": photo.key}
            if photo.version_id:
                s3_object["Version"] = photo.version_id
            image = {"S3Object": s3_object}
        try:
            response = rekognition_client().detect_text(Image=image)
        except ClientError as exc:
            raise map_client_error(exc) from exc
        except BotoCoreError as exc:  # connection failures and the like: transient
            raise DetectorUnavailable(f"Rekognition could not be reached: {exc}") from exc
        return {
            "TextDetections": response.get("TextDetections", []),
            "TextModelVersion": response.get("TextModelVersion", ""),
        }


def enlarged(data: bytes) -> bytes:
    """The photo upright and enlarged to at least MIN_SIDE pixels on each side, as PNG."""
    # Imported here: only small photos need Pillow, so other invocations do not pay for it.
    from PIL import Image

    from platescan.images import load_image

    try:
        image = load_image(data)
    except (OSError, ValueError) as exc:
        raise UnsupportedImage(f"the image cannot be decoded: {exc}") from exc
    scale = MIN_SIDE / min(image.size)
    size = (math.ceil(image.width * scale), math.ceil(image.height * scale))
    out = io.BytesIO()
    image.resize(size, Image.Resampling.BICUBIC).save(out, "PNG")
    return out.getvalue()


def map_client_error(exc: ClientError) -> Exception:
    """Our named error for a Rekognition ClientError (the original stays as the cause)."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _THROTTLED:
        return DetectorThrottled(f"Rekognition throttled DetectText ({code}): {message}")
    if code in _UNSUPPORTED:
        return UnsupportedImage(f"Rekognition cannot read this image ({code}): {message}")
    if code in _UNAVAILABLE or status >= 500:
        return DetectorUnavailable(f"Rekognition failed ({code or status}): {message}")
    return exc
