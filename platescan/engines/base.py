"""What every text detection engine offers: DetectText's response for an S3 object."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class TextDetector(Protocol):
    """A text detector; `detect` returns Rekognition DetectText's response shape."""

    name: str

    def detect(self, *, bucket: str, key: str, version_id: str | None = None) -> dict:
        """Detect text in the image stored at s3://bucket/key (optionally one version)."""
        ...
