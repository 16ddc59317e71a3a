"""What every text detection engine offers: DetectText's response for an S3 object."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from botocore.exceptions import BotoCoreError, ClientError

from platescan import aws
from platescan.errors import DetectorUnavailable, UnsupportedImage


@runtime_checkable
class TextDetector(Protocol):
    """A text detector; `detect` returns Rekognition DetectText's response shape."""

    name: str

    def detect(
        self,
        *,
        bucket: str,
        key: str,
        version_id: str | None = None,
        size: tuple[int, int] | None = None,
    ) -> dict:
        """Detect text in the image stored at s3://bucket/key (optionally one version);
        `size` is its upright width and height when known (Read Metadata measured it)."""
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
