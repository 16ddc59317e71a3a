"""Text detection engines, chosen by name (`DETECTOR_ENGINE`): `rekognition` or `onnx`.

Engines are built once per process (a warm Lambda container or the local runtime reuses
the loaded models and clients) and imported lazily, so a process that only uses
Rekognition never imports onnxruntime.
"""

from __future__ import annotations

from functools import cache

from platescan.contract import ENGINES
from platescan.engines.base import StoredPhoto, TextDetector

__all__ = ["ENGINES", "StoredPhoto", "TextDetector", "get_detector"]


@cache
def get_detector(name: str) -> TextDetector:
    """The process's detector called `name`; raises ValueError for an unknown name."""
    normalized = name.strip().lower()
    if normalized == "rekognition":
        from platescan.engines.rekognition import RekognitionDetector

        return RekognitionDetector()
    if normalized == "onnx":
        from platescan.engines.onnx import OnnxDetector

        return OnnxDetector()
    raise ValueError(f"unknown text detector {name!r}; expected one of {', '.join(ENGINES)}")
