"""Read Metadata: GetObject, the image checks on its bytes, and the record marked PROCESSING."""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from platescan import aws, records
from platescan.contract import ReadMetadataInput, ReadMetadataOutput
from platescan.errors import UnsupportedImage
from platescan.images import MAX_BYTES, inspect_image
from platescan.settings import get_settings
from platescan.stages import elapsed_ms
from platescan.stages.events import object_from_event


def read_metadata(event: ReadMetadataInput) -> ReadMetadataOutput:
    """The object's metadata plus the image checks; marks the record PROCESSING.

    Raises UnsupportedImage (permanent) for anything that is not a readable JPEG/PNG photo.
    """
    started = time.perf_counter()
    obj = object_from_event(event["detail"], event.get("event_time"))
    s3 = aws.client("s3")
    version = {"VersionId": obj["version_id"]} if obj["version_id"] else {}
    try:
        # GetObject answers with the same metadata as HeadObject; the body is a stream not
        # yet read, so an oversized object is refused without downloading it.
        got = s3.get_object(Bucket=obj["bucket"], Key=obj["key"], **version)
    except ClientError as exc:
        if aws.object_is_gone(exc, obj["bucket"], obj["key"]):
            raise UnsupportedImage("the uploaded object no longer exists") from exc
        raise
    size = int(got["ContentLength"])
    if size > MAX_BYTES:
        got["Body"].close()
        raise UnsupportedImage(
            f"the file is {size / 1_048_576:.1f} MB; the limit is {MAX_BYTES // 1_048_576} MB"
        )
    body = got["Body"].read()
    facts = inspect_image(body)

    obj["size"] = size
    obj["etag"] = got.get("ETag", obj["etag"]).strip('"')
    obj["declared_content_type"] = got.get("ContentType")
    obj["content_type"] = facts.content_type
    obj["width"] = facts.width
    obj["height"] = facts.height
    obj["orientation"] = facts.orientation
    obj["region_hint"] = (got.get("Metadata") or {}).get("region")
    obj["object_version"] = obj["version_id"] or obj["etag"]
    settings = get_settings()
    records.mark_processing(
        settings.results_table, obj, event.get("execution_arn", ""), settings.retention_days
    )
    obj["elapsed_ms"] = elapsed_ms(started)
    return {"object": obj}
