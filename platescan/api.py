"""The HTTP API: uploads, results, search, and each user's own data (delete, export).

Served by API Gateway (HTTP API, payload v2) in AWS and by the local server in local mode,
through the same `functions/api/app.py` handler. Every function takes the verified caller
(`platescan.auth.Caller`) and reaches only the caller's own records: by upload id (another
user's answers exactly as an unknown one), or through the owner index. Admins may read
everything, including records made before uploads had owners.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any

from platescan import aws, records
from platescan.auth import Caller
from platescan.errors import RequestRefused
from platescan.settings import get_settings

ALLOWED_TYPES = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",)}
MAX_NAME_BYTES = 200
MIN_SEARCH_CHARS = 2
_REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class ApiError(RequestRefused):
    """A request about uploads, results or the caller's data that the API refuses."""


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


def create_upload(body: Any, caller: Caller, s3_client: Any | None = None) -> dict[str, Any]:
    """Validate an upload request and return a presigned POST limited to it.

    The POST can create exactly one object, `uploads/{owner}/{upload_id}`: the owner comes
    from the verified caller and is part of what S3 checks against the signature.
    """
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
    if not records.OWNER_PATTERN.match(caller.sub):
        raise ApiError(403, "this account cannot upload")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    quota = settings.daily_upload_quota
    if not records.count_upload(settings.results_table, caller.sub, today, quota):
        raise ApiError(429, f"you have reached today's limit of {quota} photos; try again tomorrow")

    upload_id = new_upload_id()
    key = records.owned_key(caller.sub, upload_id)
    # The record exists before the photo: it carries the owner and the file name, which the
    # pipeline then never has to carry through events or execution data.
    records.issue_upload(
        settings.results_table,
        upload_id,
        caller.sub,
        safe_file_name(file_name),
        expires_in_s=settings.presign_expires_s + 86400,
    )
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


NOT_FOUND = "no result yet for this upload; it may still be on its way"
_HIDDEN = frozenset({records.ISSUED, records.DELETED})


def _own_record(upload_id: str, caller: Caller) -> dict[str, Any]:
    """The caller's record by id. Another user's answers exactly as an unknown id does."""
    if not records.UPLOAD_ID_PATTERN.match(upload_id):
        raise ApiError(400, "that is not an upload id")
    record = records.get_record(get_settings().results_table, upload_id)
    if record is None or record.get("status") in _HIDDEN:
        raise ApiError(404, NOT_FOUND)
    if not caller.admin and record.get("owner") != caller.sub:
        raise ApiError(404, NOT_FOUND)
    return record


def get_result(upload_id: str, caller: Caller, s3_client: Any | None = None) -> dict[str, Any]:
    """The record of one upload, with a short-lived link to its photo."""
    return _with_photo_link(_own_record(upload_id, caller), caller, s3_client)


def _with_photo_link(
    record: dict[str, Any], caller: Caller, s3_client: Any | None = None
) -> dict[str, Any]:
    """The caller's view of a record plus a short-lived GET link to its photo."""
    public = records.public_record(record, internal=caller.admin)
    if record.get("key") and record.get("bucket"):
        s3 = s3_client or aws.presigner(get_settings().s3_public_endpoint)
        params = {"Bucket": record["bucket"], "Key": record["key"]}
        if record.get("version_id"):
            # the photo that was read, not a later object posted under the same key
            params["VersionId"] = record["version_id"]
        public["image_url"] = s3.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=get_settings().presign_expires_s
        )
    return public


def search(plate: str | None, caller: Caller) -> dict[str, Any]:
    """The caller's records by plate: exact, or with `*` and `?` wildcards.

    Admins search every record: the plate index, or for wildcards a scan that reads a
    bounded number of records and says when it stopped before the end of the table.
    """
    query = records.normalise_plate_query(plate or "")
    if not query.strip("*?"):
        raise ApiError(400, "give a plate to search for, e.g. ?plate=ABC123 or ?plate=AB*")
    if len(query.replace("*", "").replace("?", "")) < MIN_SEARCH_CHARS:
        # a lone letter and a wildcard would list most of the table
        raise ApiError(400, f"give at least {MIN_SEARCH_CHARS} characters of the plate")
    if len(query) > 20:
        raise ApiError(400, "a plate has at most 20 characters")
    table = get_settings().results_table
    if caller.admin:
        found = records.search_by_plate(table, query)
    else:
        found = records.search_owned(table, caller.sub, query)
    return {
        "items": [_with_photo_link(item, caller) for item in found.items],
        # False: more records may match than were returned; a longer query narrows them.
        "complete": found.complete,
    }


def _delete_photo(record: dict[str, Any]) -> int:
    """Delete every version of the record's photo; returns how many were deleted."""
    bucket, key = record.get("bucket"), record.get("key")
    if not bucket or not key:
        return 0
    s3 = aws.client("s3")
    deleted = 0
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
    while True:
        page = s3.list_object_versions(**kwargs)
        for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
            if entry["Key"] != key:
                continue  # the prefix also matches longer keys
            s3.delete_object(Bucket=bucket, Key=key, VersionId=entry["VersionId"])
            deleted += 1
        if not page.get("IsTruncated"):
            return deleted
        kwargs["KeyMarker"] = page["NextKeyMarker"]
        kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]


def _delete(record: dict[str, Any]) -> int:
    """Delete an upload's photo versions, record and alerts; returns how many alerts."""
    from platescan import alerts

    _delete_photo(record)
    records.delete_record(get_settings().results_table, record["upload_id"])
    if not record.get("owner"):
        return 0
    return alerts.delete_alerts(get_settings().alerts_table, record["owner"], record["upload_id"])


def delete_result(upload_id: str, caller: Caller) -> None:
    """Delete one upload: every version of its photo, then its record."""
    _delete(_own_record(upload_id, caller))


def _owned(caller: Caller) -> list[dict[str, Any]]:
    table = get_settings().results_table
    owned = records.owned_records(table, caller.sub)
    return [r for r in owned if r.get("status") != records.DELETED]


def delete_me(caller: Caller) -> dict[str, Any]:
    """Delete everything of the caller: each upload's photo versions, record and alerts, and
    their watchlist."""
    from platescan import alerts

    owned = _owned(caller)
    alerts_deleted = sum(_delete(record) for record in owned)
    table = get_settings().watchlists_table
    entries = alerts.list_entries(table, caller.sub)
    for entry in entries:
        alerts.delete_entry(table, caller.sub, entry.entry_id)
    # and any alert whose upload was deleted before this (none should be left; cheap to check)
    alerts_deleted += alerts.delete_alerts(get_settings().alerts_table, caller.sub)
    return {
        "deleted": len(owned),
        "watchlist_entries_deleted": len(entries),
        "alerts_deleted": alerts_deleted,
    }


EXPORT_COLUMNS = (
    "upload_id", "file_name", "status", "uploaded_at", "processed_at",
    "plate", "confidence", "region", "format", "all_plates", "error",
)  # fmt: skip


def export(caller: Caller) -> dict[str, Any]:
    """Everything the service holds about the caller's uploads, newest first."""
    owned = [r for r in _owned(caller) if r.get("status") != records.ISSUED]
    owned.sort(key=lambda r: str(r.get("uploaded_at") or r.get("issued_at") or ""), reverse=True)
    return {"items": [records.public_record(r) for r in owned]}


def _cell(value: Any) -> str:
    """A file name as a CSV cell a spreadsheet shows as text: a leading =, +, - or @ would
    make a formula of what someone typed."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(caller: Caller) -> str:
    """The export as CSV, one row per upload, its best plate in columns of their own."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for record in export(caller)["items"]:
        plates = record.get("plates") or []
        top = plates[0] if plates else {}
        error = record.get("error") or {}
        writer.writerow(
            [
                record.get("upload_id", ""),
                _cell(record.get("file_name", "")),
                record.get("status", ""),
                record.get("uploaded_at", ""),
                record.get("processed_at", ""),
                top.get("text", ""),
                top.get("confidence", ""),
                top.get("region", ""),
                top.get("format", ""),
                " ".join(p.get("text", "") for p in plates),
                error.get("message", ""),
            ]
        )
    return out.getvalue()
