"""Plate reading: regional formats as data, normalisation, validation and ranking.

The one entry point is `read_plates(detections, region_hint=...)`; it consumes Amazon
Rekognition DetectText's response shape whichever engine produced it.
"""

from platescan.plates.reader import read_plates

__all__ = ["read_plates"]
