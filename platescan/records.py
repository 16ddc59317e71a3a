"""The result record of an upload and its idempotent writes to DynamoDB.

One item per upload, keyed by `upload_id`. EventBridge delivers at least once and a redrive
re-runs steps, so every write is conditional: the same object version may be written again
(same content, same single item), an older object version never overwrites a newer one, and
a finished record is never turned back into PROCESSING or FAILED.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from platescan import aws, dynamo

# Re-exported from the contract: callers write records.DONE and so on.
from platescan.contract import DONE as DONE
from platescan.contract import FAILED as FAILED
from platescan.contract import FINAL_STATUSES as FINAL_STATUSES
from platescan.contract import NO_PLATE as NO_PLATE
from platescan.contract import PLATE_INDEX as PLATE_INDEX
from platescan.contract import PROCESSING as PROCESSING
from platescan.contract import REJECTED as REJECTED
from platescan.contract import TTL_ATTRIBUTE, UPLOADS_PREFIX

_UPLOADS_FOLDER = UPLOADS_PREFIX.rstrip("/")
UPLOAD_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def upload_id_from_key(key: str) -> str:
    """`uploads/{upload_id}/{file name}` (`contract.upload_key`) -> upload_id.

    A key of another shape still gets a stable id (derived from the key), so even a stray
    object ends as a record instead of vanishing.
    """
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] == _UPLOADS_FOLDER and UPLOAD_ID_PATTERN.match(parts[1]):
        return parts[1]
    return "k-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def file_name_from_key(key: str) -> str:
    parts = key.split("/", 2)
    return parts[2] if len(parts) == 3 and parts[0] == _UPLOADS_FOLDER else key.rsplit("/", 1)[-1]


def normalise_plate_query(text: str) -> str:
    """Plates are stored upper case without separators; queries are folded the same way."""
    return re.sub(r"[^A-Z0-9*?]", "", text.upper())


def to_dynamo(value: Any) -> Any:
    """JSON-like value -> DynamoDB-safe value (floats become Decimals, Nones dropped)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Decimal(str(round(value, 6)))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """DynamoDB value -> JSON-serialisable value."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [from_dynamo(v) for v in value]
    return value


def _is_conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


# The conditions of the conditional writes, in DynamoDB's expression syntax (the client
# takes no boto3 condition objects). Names go through placeholders: `status` and `key` are
# reserved words. DynamoDB refuses placeholders an expression does not use, so each write
# passes only the ones its expressions name.
_NO_RESULT_YET = "attribute_not_exists(#upload_id) OR #status IN (:processing, :failed)"
_OLDER_UPLOAD = "#uploaded_at < :uploaded_at"
_SAME_VERSION = "#object_version = :object_version"


def _names(*names: str) -> dict[str, str]:
    return {f"#{name}": name for name in names}


def _values(**values: Any) -> dict[str, dict[str, Any]]:
    return dynamo.to_item({f":{name}": value for name, value in values.items()})


def expires_at(retention_days: int) -> int:
    """The TTL (epoch seconds) of a record written now and kept `retention_days`."""
    return int(time.time()) + retention_days * 86400


def mark_processing(
    table_name: str, obj: Mapping[str, Any], execution_arn: str, retention_days: int
) -> bool:
    """Record that processing of this object version started. False if a result is there.

    The record expires like a final one: an upload whose execution never ends (or whose
    result is never written) must not stay in the table for ever.
    """
    item = {
        **_object_fields(obj),
        "status": PROCESSING,
        "execution_arn": execution_arn,
        "updated_at": now_iso(),
        TTL_ATTRIBUTE: expires_at(retention_days),
    }
    try:
        aws.client("dynamodb").put_item(
            TableName=table_name,
            Item=dynamo.to_item(to_dynamo(item)),
            ConditionExpression=f"{_NO_RESULT_YET} OR {_OLDER_UPLOAD}",
            ExpressionAttributeNames=_names("upload_id", "status", "uploaded_at"),
            ExpressionAttributeValues=_values(
                processing=PROCESSING, failed=FAILED, uploaded_at=obj.get("uploaded_at", "")
            ),
        )
    except ClientError as exc:
        if _is_conflict(exc):
            return False
        raise
    return True


def write_result(table_name: str, record: dict[str, Any], retention_days: int) -> dict[str, Any]:
    """Write a final record once per object version; return what the table now holds.

    Re-writing the same object version replaces the item with the same content. A record
    already holding the result of a newer upload to the same key is left alone.
    """
    item = {**record, "processed_at": now_iso(), "updated_at": now_iso()}
    item[TTL_ATTRIBUTE] = expires_at(retention_days)
    try:
        aws.client("dynamodb").put_item(
            TableName=table_name,
            Item=dynamo.to_item(to_dynamo(item)),
            ConditionExpression=f"{_NO_RESULT_YET} OR {_SAME_VERSION} OR {_OLDER_UPLOAD}",
            ExpressionAttributeNames=_names("upload_id", "status", "object_version", "uploaded_at"),
            ExpressionAttributeValues=_values(
                processing=PROCESSING,
                failed=FAILED,
                object_version=record.get("object_version", ""),
                uploaded_at=record.get("uploaded_at", ""),
            ),
        )
    except ClientError as exc:
        if not _is_conflict(exc):
            raise
        current = get_record(table_name, record["upload_id"])
        return current or item
    return item


def mark_failed(
    table_name: str,
    base: Mapping[str, Any],
    error: dict[str, str],
    execution_arn: str,
    retention_days: int,
) -> bool:
    """Mark a record FAILED unless it already holds a result. False if it did.

    A FAILED record expires too (a redrive that succeeds writes a fresh expiry).
    """
    try:
        aws.client("dynamodb").update_item(
            TableName=table_name,
            Key=dynamo.to_item({"upload_id": base["upload_id"]}),
            UpdateExpression=(
                "SET #status = :failed, #error = :error, execution_arn = :arn, updated_at = :now, "
                "#bucket = if_not_exists(#bucket, :bucket), #key = if_not_exists(#key, :key), "
                f"#file_name = if_not_exists(#file_name, :file_name), {TTL_ATTRIBUTE} = :expires"
            ),
            ConditionExpression=_NO_RESULT_YET,
            ExpressionAttributeNames=_names(
                "upload_id", "status", "error", "key", "bucket", "file_name"
            ),
            ExpressionAttributeValues=_values(
                processing=PROCESSING,
                failed=FAILED,
                error=error,
                arn=execution_arn,
                now=now_iso(),
                bucket=base.get("bucket", ""),
                key=base.get("key", ""),
                file_name=base.get("file_name", ""),
                expires=expires_at(retention_days),
            ),
        )
    except ClientError as exc:
        if _is_conflict(exc):
            return False
        raise
    return True


BOOKKEEPING = frozenset(
    {TTL_ATTRIBUTE, "plate_texts", "plate_search", "plate_text", "object_version"}
)


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record as people and API clients see it: without the fields kept for indexing."""
    return {k: v for k, v in record.items() if k not in BOOKKEEPING}


def get_record(table_name: str, upload_id: str) -> dict[str, Any] | None:
    item = aws.client("dynamodb").get_item(
        TableName=table_name,
        Key=dynamo.to_item({"upload_id": upload_id}),
        ConsistentRead=True,
    )
    found = item.get("Item")
    return from_dynamo(dynamo.from_item(found)) if found else None


def search_by_plate(table_name: str, query: str, limit: int = 50) -> list[dict[str, Any]]:
    """Records whose plate matches `query`: exact through the index, `*`/`?` wildcards by scan."""
    wanted = normalise_plate_query(query)
    if not wanted.strip("*?"):
        return []
    if "*" not in wanted and "?" not in wanted:
        response = aws.client("dynamodb").query(
            TableName=table_name,
            IndexName=PLATE_INDEX,
            KeyConditionExpression="#plate_text = :plate_text",
            ExpressionAttributeNames=_names("plate_text"),
            ExpressionAttributeValues=_values(plate_text=wanted),
            Limit=limit,
        )
        items = [dynamo.from_item(item) for item in response.get("Items", [])]
    else:
        pattern = re.compile("^" + re.escape(wanted).replace(r"\*", ".*").replace(r"\?", ".") + "$")
        literal = max(re.split(r"[*?]", wanted), key=len)
        items = [
            item
            for item in _scan(table_name, literal)
            if any(pattern.match(text) for text in item.get("plate_texts", []))
        ][:limit]
    records = [from_dynamo(item) for item in items]
    records.sort(key=lambda r: r.get("processed_at", ""), reverse=True)
    return records[:limit]


def _scan(table_name: str, contains: str) -> Iterator[dict[str, Any]]:
    """Every item, or those whose `plate_search` contains `contains`, page by page."""
    kwargs: dict[str, Any] = {"TableName": table_name}
    if contains:
        kwargs.update(
            FilterExpression="contains(#plate_search, :contains)",
            ExpressionAttributeNames=_names("plate_search"),
            ExpressionAttributeValues=_values(contains=contains),
        )
    client = aws.client("dynamodb")
    while True:
        page = client.scan(**kwargs)
        yield from (dynamo.from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _object_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    fields = (
        "upload_id", "bucket", "key", "file_name", "version_id", "etag", "object_version",
        "size", "content_type", "width", "height", "uploaded_at",
    )  # fmt: skip
    return {name: obj[name] for name in fields if obj.get(name) not in (None, "")}


def build_result(
    obj: Mapping[str, Any],
    *,
    status: str,
    plates: list[dict[str, Any]],
    engine: str | None,
    timings_ms: dict[str, float],
    execution_arn: str,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The final record for one upload (not yet stamped with processed_at/expires_at)."""
    texts = [p["text"] for p in plates]
    record: dict[str, Any] = {
        **_object_fields(obj),
        "status": status,
        "plates": plates,
        "plate_texts": texts,
        # one string, so a wildcard search can filter with a substring `contains`
        "plate_search": "|" + "|".join(texts) + "|" if texts else None,
        "engine": engine,
        "timings_ms": timings_ms,
        "execution_arn": execution_arn,
        "error": error,
    }
    if texts:
        record["plate_text"] = texts[0]
    return record
