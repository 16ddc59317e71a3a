"""The HTTP API: create an upload, fetch a result, search by plate.

Served by API Gateway (HTTP API, payload v2) in AWS and by the local server in local mode,
through the same `functions/api/app.py` handler. Nothing here lists the bucket or the
table: a result is reached only by its unguessable upload id, or by its plate text.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Any

from platescan import aws, records
from platescan.settings import get_settings

ALLOWED_TYPES = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",)}
MAX_NAME_BYTES = 200
MIN_SEARCH_CHARS = 2
_REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class ApiError(Exception):
    """A request the API refuses; `status` is the 4xx to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def new_upload_id() -> str:
    """128 random bits, URL-safe: unguessable, so knowing one id reveals no other."""
    return secrets.token_urlsafe(16)


def safe_file_name(name: str) -> str:
    """Keep what a person typed, minus what could make the key misbehave.

    Path separators and `..` would let a name climb out of its upload folder; control
    characters break logs. Unicode and spaces stay: they are legal S3 keys.
    """
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.replace("/", "_").replace("\\", "_").strip().lstrip(".")
    name = re.sub(r"\.{2,}", ".", name) or "photo"
    encoded = name.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 5 else ""
        budget = MAX_NAME_BYTES - len(keep.encode()) - 1
        name = stem.encode("utf-8")[:budget].decode("utf-8", "ignore") + (
            "." + keep if keep else ""
        )
    return name


def create_upload(body: Any, s3_client: Any | None = None) -> dict[str, Any]:
    """Validate an upload request and return a presigned POST limited to it."""
    settings = get_settings()
    if not isinstance(body, dict):
        raise ApiError(400, "send a JSON object with file_name, content_type and size")
    file_name, content_type, size = (
        body.get("file_name"),
        body.get("content_type"),
        body.get("size"),
    )
    if not isinstance(file_name, str) or not file_name.strip():
        raise ApiError(400, "file_name is required")
    if content_type not in ALLOWED_TYPES:
        raise ApiError(415, "only JPEG (image/jpeg) and PNG (image/png) photos can be uploaded")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ApiError(400, "size must be the file's size in bytes")
    if size > settings.max_upload_bytes:
        limit_mb = settings.max_upload_bytes / 1_048_576
        raise ApiError(413, f"the photo is {size / 1_048_576:.1f} MB; the limit is {limit_mb:g} MB")
    region = body.get("region")
    if region is not None and (not isinstance(region, str) or not _REGION.match(region.upper())):
        raise ApiError(400, "region must be a code like US, DE or BR")

    upload_id = new_upload_id()
    key = f"uploads/{upload_id}/{safe_file_name(file_name)}"
    fields: dict[str, str] = {"Content-Type": content_type}
    conditions: list[Any] = [
        {"Content-Type": content_type},
        # exactly the size declared: the signature covers this photo, not any 10 MB
        ["content-length-range", size, size],
    ]
    if region:
        fields["x-amz-meta-region"] = region.upper()
        conditions.append({"x-amz-meta-region": region.upper()})
    s3 = s3_client or aws.presigner(settings.s3_public_endpoint)
    presigned = s3.generate_presigned_post(
        Bucket=settings.uploads_bucket,
        Key=key,
        Fields=fields,
        Conditions=conditions,
        ExpiresIn=settings.presign_expires_s,
    )
    return {
        "upload_id": upload_id,
        "key": key,
        "url": presigned["url"],
        "fields": presigned["fields"],
        "expires_in": settings.presign_expires_s,
        "max_bytes": settings.max_upload_bytes,
    }


def get_result(upload_id: str, s3_client: Any | None = None) -> dict[str, Any]:
    """The record of one upload, with a short-lived link to its photo."""
    if not records.UPLOAD_ID_PATTERN.match(upload_id):
        raise ApiError(400, "that is not an upload id")
    settings = get_settings()
    record = records.get_record(settings.results_table, upload_id)
    if record is None:
        raise ApiError(404, "no result yet for this upload; it may still be on its way")
    return _with_photo_link(record, s3_client)


def _with_photo_link(record: dict[str, Any], s3_client: Any | None = None) -> dict[str, Any]:
    """The public view of a record plus a short-lived GET link to its photo."""
    public = records.public_record(record)
    if public.get("key"):
        s3 = s3_client or aws.presigner(get_settings().s3_public_endpoint)
        public["image_url"] = s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": public["bucket"], "Key": public["key"]},
            ExpiresIn=get_settings().presign_expires_s,
        )
    return public


def search(plate: str | None) -> dict[str, Any]:
    """Records by plate: exact, or with `*` and `?` wildcards."""
    query = records.normalise_plate_query(plate or "")
    if not query.strip("*?"):
        raise ApiError(400, "give a plate to search for, e.g. ?plate=ABC123 or ?plate=AB*")
    if len(query.replace("*", "").replace("?", "")) < MIN_SEARCH_CHARS:
        # a lone letter and a wildcard would list most of the table
        raise ApiError(400, f"give at least {MIN_SEARCH_CHARS} characters of the plate")
    if len(query) > 20:
        raise ApiError(400, "a plate has at most 20 characters")
    items = records.search_by_plate(get_settings().results_table, query)
    return {"items": [_with_photo_link(item) for item in items]}
