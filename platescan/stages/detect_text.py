"""Detect Text: the configured engine on the object, answering in DetectText's shape."""

from __future__ import annotations

import time

# Both engines reach AWS through botocore (Rekognition, or S3 for the ONNX engine's photo);
# importing it here keeps that cost in the container's init, as before, not in the first
# event. The engine itself is imported on first use (platescan.engines).
import platescan.aws  # noqa: F401
from platescan.contract import DetectTextInput, DetectTextOutput
from platescan.detections import lines_only
from platescan.engines import StoredPhoto, get_detector
from platescan.settings import get_settings
from platescan.stages import elapsed_ms


def detect_text(event: DetectTextInput) -> DetectTextOutput:
    """Run the configured text detector on the object; DetectText's response shape back,
    its LINE detections only."""
    started = time.perf_counter()
    obj = event["object"]
    detector = get_detector(get_settings().detector_engine)
    width, height = obj.get("width"), obj.get("height")
    response = detector.detect(
        StoredPhoto(
            bucket=obj["bucket"],
            key=obj["key"],
            version_id=obj["version_id"],
            size=(width, height) if width and height else None,
        )
    )
    response.pop("ResponseMetadata", None)
    return {
        "engine": detector.name,
        "response": lines_only(response),
        "elapsed_ms": elapsed_ms(started),
    }
