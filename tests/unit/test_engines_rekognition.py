"""The Rekognition engine: DetectText on the S3 object through moto, errors mapped to ours."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from PIL import Image as PILImage

from platescan import aws
from platescan.engines import StoredPhoto, get_detector, rekognition
from platescan.engines.rekognition import RekognitionDetector, map_client_error
from platescan.errors import DetectorThrottled, DetectorUnavailable, UnsupportedImage
from platescan.plates import read_plates

PLATE_LINE = {
    "DetectedText": "7ABC123",
    "Type": "LINE",
    "Id": 0,
    "Confidence": 98.5,
    "Geometry": {
        "BoundingBox": {"Width": 0.2, "Height": 0.06, "Left": 0.4, "Top": 0.6},
        "Polygon": [
            {"X": 0.4, "Y": 0.6},
            {"X": 0.6, "Y": 0.6},
            {"X": 0.6, "Y": 0.66},
            {"X": 0.4, "Y": 0.66},
        ],
    },
}


@pytest.fixture
def aws_mocked() -> Iterator[None]:
    with mock_aws():
        aws.reset()
        yield
        aws.reset()


def test_detect_returns_rekognitions_response_and_read_plates_reads_it(
    aws_mocked: None, rekognition_returns: Callable[[Any], None]
) -> None:
    # Given Rekognition finds the plate line in the photo
    rekognition_returns({"TextDetections": [PLATE_LINE], "TextModelVersion": "3.0"})
    # When the engine detects text on the object
    response = RekognitionDetector().detect(StoredPhoto(bucket="uploads", key="uploads/u1/car.jpg"))
    # Then the response is DetectText's shape and the same validator reads its plate
    assert response["TextModelVersion"] == "3.0"
    assert response["TextDetections"][0]["DetectedText"] == "7ABC123"
    assert read_plates(response)[0]["text"] == "7ABC123"


def _client_error(code: str, status: int = 400) -> ClientError:
    # Built as a plain dict: botocore's stubs want every response-metadata key.
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": "details"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "DetectText")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, DetectorThrottled),
        ("ProvisionedThroughputExceededException", 400, DetectorThrottled),
        ("InvalidImageFormatException", 400, UnsupportedImage),
        ("ImageTooLargeException", 400, UnsupportedImage),
        ("InvalidS3ObjectException", 400, UnsupportedImage),
        ("InternalServerError", 500, DetectorUnavailable),
        ("ServiceUnavailable", 503, DetectorUnavailable),
    ],
)
def test_client_errors_map_to_named_errors(code: str, status: int, expected: type) -> None:
    mapped = map_client_error(_client_error(code, status))
    assert isinstance(mapped, expected)
    assert code in str(mapped) or status >= 500


def test_other_client_errors_are_not_disguised() -> None:
    original = _client_error("AccessDeniedException", 403)
    assert map_client_error(original) is original


def test_errors_raised_by_the_service_come_out_named(
    aws_mocked: None, rekognition_returns: Callable[[Any], None]
) -> None:
    rekognition_returns(_client_error("ThrottlingException"))
    with pytest.raises(DetectorThrottled) as caught:
        RekognitionDetector().detect(StoredPhoto(bucket="uploads", key="k", version_id="v1"))
    assert isinstance(caught.value.__cause__, ClientError)


def test_detectors_are_chosen_by_name_and_built_once() -> None:
    assert get_detector("rekognition") is get_detector("rekognition")
    assert get_detector("rekognition").name == "rekognition"
    with pytest.raises(ValueError, match="unknown text detector"):
        get_detector("tesseract")


class _RecordingRekognition:
    """Stands in for the Rekognition client and keeps the image each call sent."""

    def __init__(self) -> None:
        self.images: list[dict[str, Any]] = []

    def detect_text(self, *, Image: dict[str, Any]) -> dict[str, Any]:
        self.images.append(Image)
        return {"TextDetections": [PLATE_LINE], "TextModelVersion": "3.0"}


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> _RecordingRekognition:
    client = _RecordingRekognition()
    monkeypatch.setattr(rekognition, "rekognition_client", lambda: client)
    return client


def _jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", size, (200, 200, 200)).save(out, "JPEG")
    return out.getvalue()


def test_a_photo_under_rekognitions_minimum_is_enlarged_and_sent_as_bytes(
    aws_mocked: None, recording: _RecordingRekognition
) -> None:
    # Given a close-up of 60x30 pixels, under the 80 px Rekognition reads
    boto3.client("s3").create_bucket(Bucket="uploads")
    boto3.client("s3").put_object(
        Bucket="uploads", Key="uploads/u1/small.jpg", Body=_jpeg((60, 30))
    )
    # When the engine reads it
    response = RekognitionDetector().detect(
        StoredPhoto(bucket="uploads", key="uploads/u1/small.jpg", size=(60, 30))
    )
    # Then Rekognition got the photo enlarged to 80 px on its short side, shape kept
    (image,) = recording.images
    sent = PILImage.open(io.BytesIO(image["Bytes"]))
    assert sent.size == (160, 80)
    assert read_plates(response)[0]["text"] == "7ABC123"


def test_a_photo_of_rekognitions_minimum_is_read_from_s3_as_before(
    recording: _RecordingRekognition,
) -> None:
    RekognitionDetector().detect(
        StoredPhoto(bucket="uploads", key="k", version_id="v1", size=(80, 80))
    )
    assert recording.images == [{"S3Object": {"Bucket": "uploads", "Name": "k", "Version": "v1"}}]
