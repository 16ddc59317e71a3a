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
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from platescan import aws, dynamo

# Re-exported from the contract: callers write records.DONE and so on.
from platescan.contract import DELETED as DELETED
from platescan.contract import DONE as DONE
from platescan.contract import FAILED as FAILED
from platescan.contract import FINAL_STATUSES as FINAL_STATUSES
from platescan.contract import ISSUED as ISSUED
from platescan.contract import NO_PLATE as NO_PLATE
from platescan.contract import OWNER_INDEX as OWNER_INDEX
from platescan.contract import PLATE_INDEX as PLATE_INDEX
from platescan.contract import PROCESSING as PROCESSING
from platescan.contract import REJECTED as REJECTED
from platescan.contract import TTL_ATTRIBUTE, UPLOADS_PREFIX
from platescan.contract import owned_key as owned_key
from platescan.errors import UploadAlreadyUsed

_UPLOADS_FOLDER = UPLOADS_PREFIX.rstrip("/")
UPLOAD_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# A Cognito user's `sub` is a UUID; the key of an owned upload is `uploads/{sub}/{upload_id}`.
OWNER_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def owner_from_key(key: str) -> str | None:
    """The owner an owned key names; None for keys of other shapes (no owner: admins only)."""
    parts = key.split("/")
    if len(parts) == 3 and parts[0] == _UPLOADS_FOLDER and OWNER_PATTERN.match(parts[1]):
        return parts[1] if UPLOAD_ID_PATTERN.match(parts[2]) else None
    return None


def upload_id_from_key(key: str) -> str:
    """`uploads/{owner}/{upload_id}` or `uploads/{upload_id}/{file name}` -> upload_id.

    A key of another shape still gets a stable id (derived from the key), so even a stray
    object ends as a record instead of vanishing.
    """
    parts = key.split("/")
    if owner_from_key(key):
        return parts[2]
    if len(parts) >= 3 and parts[0] == _UPLOADS_FOLDER and UPLOAD_ID_PATTERN.match(parts[1]):
        return parts[1]
    return "k-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def file_name_from_key(key: str) -> str | None:
    """The file name a key carries; None for an owned key (its record has the name)."""
    if owner_from_key(key):
        return None
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
#
# One upload id, one photo, processed once: the first execution for an upload takes its
# record (issued by the API, or absent when an operator put the object) and only that
# execution may mark it PROCESSING again (its own retry). Any other execution, for another
# object version or for the same one (a redelivered event, the same form posted again),
# ends without processing, unless the record FAILED with that very version: running it
# again is a redrive. Posting the same form again puts a second version under the same key;
# the pipeline refuses it. A deleted upload's tombstone refuses everything.
_SAME_OWNER = "(attribute_not_exists(#owner) OR #owner = :owner)"
_MAY_PROCESS = (
    "(attribute_not_exists(#upload_id) OR #status = :issued OR "
    "(#status = :processing AND #execution_arn = :execution_arn) OR "
    f"(#status = :failed AND #object_version = :object_version)) AND {_SAME_OWNER}"
)
_MAY_WRITE = (
    "(attribute_not_exists(#upload_id) OR #status = :issued OR "
    f"#object_version = :object_version) AND {_SAME_OWNER}"
)
_MAY_FAIL = (
    "(attribute_not_exists(#upload_id) OR #status IN (:issued, :processing, :failed)) AND "
    "(attribute_not_exists(#object_version) OR #object_version = :object_version) AND "
    f"{_SAME_OWNER}"
)


def _names(*names: str) -> dict[str, str]:
    return {f"#{name}": name for name in names}


def _values(**values: Any) -> dict[str, dict[str, Any]]:
    return dynamo.to_item({f":{name}": value for name, value in values.items()})


def _update(
    table_name: str,
    upload_id: str,
    fields: dict[str, Any],
    *,
    keep: dict[str, Any] | None = None,
    condition: str,
    condition_names: tuple[str, ...],
    condition_values: dict[str, Any],
) -> None:
    """SET `fields` (and `keep` where absent) on one record, REMOVE the ones given as None.

    An update rather than a put: what the API wrote when it issued the upload (owner, file
    name) stays on the record without passing through the pipeline's state.
    """
    present = {k: v for k, v in to_dynamo(fields).items() if k != "upload_id"}
    absent = [k for k, v in fields.items() if (v is None or v == "") and k != "upload_id"]
    kept = {k: v for k, v in to_dynamo(keep or {}).items() if k not in present}
    clauses = [f"#{k} = :v_{k}" for k in present]
    clauses += [f"#{k} = if_not_exists(#{k}, :v_{k})" for k in kept]
    expression = "SET " + ", ".join(clauses)
    if absent:
        expression += " REMOVE " + ", ".join(f"#{k}" for k in absent)
    values = {f"v_{k}": v for k, v in {**present, **kept}.items()}
    aws.client("dynamodb").update_item(
        TableName=table_name,
        Key=dynamo.to_item({"upload_id": upload_id}),
        UpdateExpression=expression,
        ConditionExpression=condition,
        ExpressionAttributeNames=_names(*{*present, *kept, *absent, *condition_names}),
        ExpressionAttributeValues=_values(**values, **condition_values),
    )


def expires_at(retention_days: int) -> int:
    """The TTL (epoch seconds) of a record written now and kept `retention_days`."""
    return int(time.time()) + retention_days * 86400


def _owner_of(obj: Mapping[str, Any]) -> str:
    return owner_from_key(str(obj.get("key") or "")) or ""


def mark_processing(
    table_name: str, obj: Mapping[str, Any], execution_arn: str, retention_days: int
) -> None:
    """Record that this execution processes the upload.

    Raises UploadAlreadyUsed if another execution has it (or had it: a result is there),
    or the upload was deleted. The record expires like a final one: an upload whose
    execution never ends (or whose result is never written) must not stay for ever.
    """
    owner = _owner_of(obj)
    fields = {
        **_object_fields(obj),
        "status": PROCESSING,
        "execution_arn": execution_arn,
        "updated_at": now_iso(),
        TTL_ATTRIBUTE: expires_at(retention_days),
    }
    try:
        _update(
            table_name,
            obj["upload_id"],
            fields,
            keep={"owner": owner},
            condition=_MAY_PROCESS,
            condition_names=("upload_id", "status", "object_version", "execution_arn", "owner"),
            condition_values={
                "issued": ISSUED,
                "processing": PROCESSING,
                "failed": FAILED,
                "object_version": obj.get("object_version", ""),
                "execution_arn": execution_arn,
                "owner": owner,
            },
        )
    except ClientError as exc:
        if not _is_conflict(exc):
            raise
        raise UploadAlreadyUsed(
            "this upload has been processed already (or was deleted); nothing to do"
        ) from exc


def write_result(table_name: str, record: dict[str, Any], retention_days: int) -> dict[str, Any]:
    """Write a final record once per object version; return what the table now holds.

    Re-writing the same object version writes the same content again. A record that holds
    another photo's result, or a deleted upload's tombstone, is left alone.
    """
    owner = _owner_of(record)
    item = {**record, "processed_at": now_iso(), "updated_at": now_iso()}
    item[TTL_ATTRIBUTE] = expires_at(retention_days)
    try:
        _update(
            table_name,
            record["upload_id"],
            item,
            keep={"owner": owner},
            condition=_MAY_WRITE,
            condition_names=("upload_id", "status", "object_version", "owner"),
            condition_values={
                "issued": ISSUED,
                "object_version": record.get("object_version", ""),
                "owner": owner,
            },
        )
    except ClientError as exc:
        if not _is_conflict(exc):
            raise
        current = get_record(table_name, record["upload_id"])
        return current or item
    return get_record(table_name, record["upload_id"]) or item


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
    owner = _owner_of(base)
    fields = {
        "status": FAILED,
        "error": error,
        "execution_arn": execution_arn,
        "updated_at": now_iso(),
        TTL_ATTRIBUTE: expires_at(retention_days),
    }
    keep = {
        name: base.get(name)
        for name in ("bucket", "key", "file_name", "object_version", "uploaded_at")
    }
    try:
        _update(
            table_name,
            base["upload_id"],
            fields,
            keep={**keep, "owner": owner},
            condition=_MAY_FAIL,
            condition_names=("upload_id", "status", "object_version", "owner"),
            condition_values={
                "issued": ISSUED,
                "processing": PROCESSING,
                "failed": FAILED,
                "object_version": base.get("object_version", ""),
                "owner": owner,
            },
        )
    except ClientError as exc:
        if _is_conflict(exc):
            return False
        raise
    return True


def release(table_name: str, upload_id: str) -> bool:
    """Hand a PROCESSING upload back (ISSUED) when the execution holding it is known dead.

    The local service does this at start for executions that ended with its last process;
    the next execution for the upload may then take it. False if it was not PROCESSING.
    """
    try:
        aws.client("dynamodb").update_item(
            TableName=table_name,
            Key=dynamo.to_item({"upload_id": upload_id}),
            UpdateExpression="SET #status = :issued",
            ConditionExpression="#status = :processing",
            ExpressionAttributeNames=_names("status"),
            ExpressionAttributeValues=_values(issued=ISSUED, processing=PROCESSING),
        )
    except ClientError as exc:
        if _is_conflict(exc):
            return False
        raise
    return True


def issue_upload(
    table_name: str, upload_id: str, owner: str, file_name: str, expires_in_s: int
) -> None:
    """The record an upload starts as, written when the API signs its POST.

    It holds what the pipeline must not carry (the file name) and what it must trust (the
    owner), and it vanishes (TTL) if no photo arrives.
    """
    item = {
        "upload_id": upload_id,
        "owner": owner,
        "file_name": file_name,
        "status": ISSUED,
        "issued_at": now_iso(),
        TTL_ATTRIBUTE: int(time.time()) + expires_in_s,
    }
    aws.client("dynamodb").put_item(
        TableName=table_name,
        Item=dynamo.to_item(to_dynamo(item)),
        ConditionExpression="attribute_not_exists(#upload_id)",
        ExpressionAttributeNames=_names("upload_id"),
    )


def count_upload(table_name: str, owner: str, day: str, limit: int) -> bool:
    """Count one upload against the owner's quota for `day`; False if the limit is reached.

    One atomic conditional update per upload: two requests at once cannot both take the
    last one. The counter is an item of its own (its key is no upload id, and it has no
    owner attribute, so no route or index reaches it) that expires two days later.
    """
    try:
        aws.client("dynamodb").update_item(
            TableName=table_name,
            Key=dynamo.to_item({"upload_id": f"quota#{owner}#{day}"}),
            UpdateExpression=f"ADD #uploads :one SET #{TTL_ATTRIBUTE} = :expires_at",
            ConditionExpression="attribute_not_exists(#uploads) OR #uploads < :limit",
            ExpressionAttributeNames=_names("uploads", TTL_ATTRIBUTE),
            ExpressionAttributeValues=_values(
                one=1, limit=limit, expires_at=int(time.time()) + 2 * 86400
            ),
        )
    except ClientError as exc:
        if _is_conflict(exc):
            return False
        raise
    return True


def delete_record(table_name: str, upload_id: str) -> None:
    """Replace a record by a day-long tombstone: no owner, no plates, no file name.

    A plain delete would let a pipeline run still in flight write the record back.
    """
    item = {
        "upload_id": upload_id,
        "status": DELETED,
        "deleted_at": now_iso(),
        TTL_ATTRIBUTE: int(time.time()) + 86400,
    }
    aws.client("dynamodb").put_item(TableName=table_name, Item=dynamo.to_item(item))


BOOKKEEPING = frozenset(
    {TTL_ATTRIBUTE, "plate_texts", "plate_search", "plate_text", "object_version"}
)
# Facts about where and how a record was made, for operators: admins see them.
INTERNAL = frozenset({"execution_arn", "bucket", "key", "owner", "version_id", "etag"})
# Errors whose message is written for the uploader (why the photo was refused).
_USER_ERRORS = frozenset({"UnsupportedImage"})


def public_record(record: dict[str, Any], *, internal: bool = False) -> dict[str, Any]:
    """A record as people and API clients see it: without the fields kept for indexing.

    Unless `internal`, also without the internal fields, and a failure's raw error is
    replaced by a plain sentence (a rejection keeps its reason: it is about the photo).
    """
    hidden = BOOKKEEPING if internal else BOOKKEEPING | INTERNAL
    public = {k: v for k, v in record.items() if k not in hidden}
    error = public.get("error")
    if not internal and isinstance(error, dict) and error.get("type") not in _USER_ERRORS:
        public["error"] = {
            "type": "ProcessingFailed",
            "message": "the photo could not be processed; try uploading it again",
        }
    return public


def get_record(table_name: str, upload_id: str) -> dict[str, Any] | None:
    item = aws.client("dynamodb").get_item(
        TableName=table_name,
        Key=dynamo.to_item({"upload_id": upload_id}),
        ConsistentRead=True,
    )
    found = item.get("Item")
    return from_dynamo(dynamo.from_item(found)) if found else None


# An admin's wildcard search has no index to use, so it scans the table. It reads at most
# this many records (about 2 read units per 1,000 small records) and then answers with what
# it found, marked incomplete, so its cost is bounded however big the table grows.
ADMIN_SCAN_BUDGET = 10_000
SCAN_PAGE = 1_000  # records read per scan request


@dataclass(frozen=True)
class Found:
    """What a plate search found. `complete` is False when more records may match than
    `items` holds: the search stopped at its limit, or at its scan budget."""

    items: list[dict[str, Any]]
    complete: bool = True


def _wildcard(query: str) -> tuple[re.Pattern[str], str]:
    """The pattern a `*`/`?` query matches plates with, and its longest literal part (what
    DynamoDB can filter on with `contains`)."""
    pattern = re.compile("^" + re.escape(query).replace(r"\*", ".*").replace(r"\?", ".") + "$")
    return pattern, max(re.split(r"[*?]", query), key=len)


def search_by_plate(
    table_name: str, query: str, limit: int = 50, *, budget: int | None = None
) -> Found:
    """Every owner's records whose plate matches `query`, newest first: exact through the
    plate index; `*`/`?` wildcards by a scan that reads at most `budget` records (by
    default ADMIN_SCAN_BUDGET)."""
    wanted = normalise_plate_query(query)
    if not wanted.strip("*?"):
        return Found([])
    if "*" not in wanted and "?" not in wanted:
        response = aws.client("dynamodb").query(
            TableName=table_name,
            IndexName=PLATE_INDEX,
            KeyConditionExpression="#plate_text = :plate_text",
            ExpressionAttributeNames=_names("plate_text"),
            ExpressionAttributeValues=_values(plate_text=wanted),
            Limit=limit + 1,  # one more than asked for tells whether there are more
        )
        items = [dynamo.from_item(item) for item in response.get("Items", [])]
        complete = len(items) <= limit
    else:
        pattern, literal = _wildcard(wanted)
        items = []
        scan = _Scan(table_name, literal, ADMIN_SCAN_BUDGET if budget is None else budget)
        for item in scan:
            if any(pattern.match(text) for text in item.get("plate_texts", [])):
                items.append(item)
                if len(items) > limit:
                    break
        complete = len(items) <= limit and scan.finished
    found = [from_dynamo(item) for item in items]
    found.sort(key=lambda r: r.get("processed_at", ""), reverse=True)
    return Found(found[:limit], complete)


def owned_records(table_name: str, owner: str, *, contains: str = "") -> Iterator[dict[str, Any]]:
    """Every record of `owner`, through the owner index: reads grow with their records only.

    With `contains`, DynamoDB returns only those whose `plate_search` holds it (it still
    reads, and bills, the owner's records it filters out; never anyone else's).
    """
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": OWNER_INDEX,
        "KeyConditionExpression": "#owner = :owner",
        "ExpressionAttributeNames": _names("owner"),
        "ExpressionAttributeValues": _values(owner=owner),
    }
    if contains:
        kwargs["FilterExpression"] = "contains(#plate_search, :contains)"
        kwargs["ExpressionAttributeNames"] = _names("owner", "plate_search")
        kwargs["ExpressionAttributeValues"] = _values(owner=owner, contains=contains)
    client = aws.client("dynamodb")
    while True:
        page = client.query(**kwargs)
        for item in page.get("Items", []):
            yield from_dynamo(dynamo.from_item(item))
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def search_owned(table_name: str, owner: str, query: str, limit: int = 50) -> Found:
    """The owner's records whose plates match `query` (exact, or `*`/`?` wildcards), newest
    first."""
    wanted = normalise_plate_query(query)
    if not wanted.strip("*?"):
        return Found([])
    pattern, literal = _wildcard(wanted)
    found = [
        record
        for record in owned_records(table_name, owner, contains=literal)
        if any(pattern.match(text) for text in record.get("plate_texts", []))
    ]
    found.sort(key=lambda r: r.get("processed_at", ""), reverse=True)
    return Found(found[:limit], len(found) <= limit)


class _Scan:
    """The table's items, or those whose `plate_search` contains `contains`, page by page,
    until `budget` items have been read (matching or not: a scan is billed for what it reads,
    not for what its filter returns). `finished` says whether the whole table was read."""

    def __init__(self, table_name: str, contains: str, budget: int) -> None:
        self.kwargs: dict[str, Any] = {"TableName": table_name}
        if contains:
            self.kwargs.update(
                FilterExpression="contains(#plate_search, :contains)",
                ExpressionAttributeNames=_names("plate_search"),
                ExpressionAttributeValues=_values(contains=contains),
            )
        self.budget = budget
        self.finished = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        client = aws.client("dynamodb")
        read = 0
        while read < self.budget:
            page = client.scan(**self.kwargs, Limit=min(SCAN_PAGE, self.budget - read))
            read += int(page.get("ScannedCount", 0))
            yield from (dynamo.from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                self.finished = True
                return
            self.kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


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
