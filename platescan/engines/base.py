"""What every text detection engine offers: DetectText's response for an S3 object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from botocore.exceptions import BotoCoreError, ClientError

from platescan import aws
from platescan.errors import DetectorUnavailable, UnsupportedImage


@dataclass(frozen=True)
class StoredPhoto:
    """A photo in S3 (one version of it, when known) and its upright width and height when
    Read Metadata measured them."""

    bucket: str
    key: str
    version_id: str | None = None
    size: tuple[int, int] | None = None

    def read(self) -> bytes:
        return read_object(self.bucket, self.key, self.version_id)


@runtime_checkable
class TextDetector(Protocol):
    """A text detector; `detect` returns Rekognition DetectText's response shape."""

    name: str

    def detect(self, photo: StoredPhoto) -> dict:
        """Detect text in the stored photo."""
        ...


def read_object(bucket: str, key: str, version_id: str | None = None) -> bytes:
    """The photo's bytes from S3; a photo gone since upload is a permanent rejection."""
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    try:
        return bytes(aws.client("s3").get_object(**params)["Body"].read())
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if aws.object_is_gone(exc, bucket, key):
            # Deleted or replaced since upload: retrying cannot bring it back.
            raise UnsupportedImage(f"s3://{bucket}/{key} no longer exists ({code})") from exc
        raise DetectorUnavailable(f"could not read s3://{bucket}/{key}: {exc}") from exc
    except BotoCoreError as exc:
        raise DetectorUnavailable(f"could not read s3://{bucket}/{key}: {exc}") from exc
