"""Amazon Rekognition DetectText on the S3 object, with its errors mapped to ours.

Rekognition reads the object from S3 itself, so no bytes pass through the function. Its
errors become the named errors the state machine matches: throttling is retried, a photo
Rekognition cannot read is a permanent rejection, a failure on its side is retried.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from platescan import aws
from platescan.errors import DetectorThrottled, DetectorUnavailable, UnsupportedImage

_THROTTLED = {"ThrottlingException", "ProvisionedThroughputExceededException"}
_UNSUPPORTED = {"InvalidImageFormatException", "ImageTooLargeException", "InvalidS3ObjectException"}
_UNAVAILABLE = {"InternalServerError", "ServiceUnavailableException"}


def rekognition_client() -> Any:
    """The process's Rekognition client (cached, so a warm container reuses it)."""
    return aws.client("rekognition")


class RekognitionDetector:
    """DetectText through Amazon Rekognition."""

    name = "rekognition"

    def detect(self, *, bucket: str, key: str, version_id: str | None = None) -> dict:
        s3_object: dict[str, str] = {"Bucket": bucket, "Name": key}
        if version_id:
            s3_object["Version"] = version_id
        try:
            response = rekognition_client().detect_text(Image={"S3Object": s3_object})
        except ClientError as exc:
            raise map_client_error(exc) from exc
        except BotoCoreError as exc:  # connection failures and the like: transient
            raise DetectorUnavailable(f"Rekognition could not be reached: {exc}") from exc
        return {
            "TextDetections": response.get("TextDetections", []),
            "TextModelVersion": response.get("TextModelVersion", ""),
        }


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
