"""Human review: readings the reader was unsure of, and corrections people make.

A DONE record whose best plate is less sure than the stack's threshold (`REVIEW_THRESHOLD`,
from `platescan:reviewThreshold`) is marked `review: NEEDED` when it is written. Anyone may
correct their own readings, marked or not: the correction is kept on the record with who
made it, when, and what the reader had read, and every earlier correction stays in
`corrections`. The search fields (`plate_text`, `plate_texts`, `plate_search`) take the
corrected text, so search finds it, and the owner's watchlist is checked again.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from platescan import aws, contract, dynamo, records
from platescan.errors import RequestRefused

NEEDED = "NEEDED"
CORRECTED = "CORRECTED"
MIN_CHARS = 2
MAX_CHARS = 10


class CorrectionRefused(RequestRefused):
    """A correction that cannot be applied."""


def review_state(status: str, plates: list[dict[str, Any]], threshold: float) -> str | None:
    """NEEDED when the best plate of a DONE reading is less sure than `threshold`."""
    if status != contract.DONE or not plates:
        return None
    return NEEDED if float(plates[0].get("confidence") or 0.0) < threshold else None


def corrected_text(text: Any) -> str:
    """What a person typed as a plate, in the form plates are stored in."""
    if not isinstance(text, str):
        raise CorrectionRefused(400, 'send the plate as text, e.g. {"text": "7ABC123"}')
    # Imported here: Write Result imports this module for review_state only, and the plate
    # package would add to its cold start; the API, which takes typed plates, needs it.
    from platescan.plates.text import compact

    plate = compact(text)
    if not MIN_CHARS <= len(plate) <= MAX_CHARS:
        raise CorrectionRefused(
            400, f"a plate has {MIN_CHARS} to {MAX_CHARS} letters or digits; got {plate!r}"
        )
    return plate


def _search_fields(texts: list[str]) -> dict[str, Any]:
    return {
        "plate_text": texts[0],
        "plate_texts": texts,
        "plate_search": "|" + "|".join(texts) + "|",
    }


def corrected_texts(record: dict[str, Any]) -> list[str]:
    """The record's plate texts with its correction in place (what search should find)."""
    texts = [p["text"] for p in record.get("plates") or []]
    correction = record.get("correction") or {}
    if correction.get("text"):
        index = int(correction.get("plate_index", 0))
        if index < len(texts):
            texts[index] = correction["text"]
        else:
            texts.append(correction["text"])
    return texts


def keep_correction_searchable(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """After the pipeline wrote a corrected record again, put the corrected text back.

    A redrive of a failed execution writes the reader's result again, search fields and
    review mark included; the correction itself stays on the record (the write sets only
    what the pipeline produces), so its text goes back into the search fields here.
    """
    texts = corrected_texts(record)
    if not record.get("correction"):
        return record
    if record.get("plate_texts") == texts and record.get("review") == CORRECTED:
        return record
    fields = {**_search_fields(texts), "review": CORRECTED}
    aws.client("dynamodb").update_item(
        TableName=table,
        Key=dynamo.to_item({"upload_id": record["upload_id"]}),
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in fields),
        ConditionExpression="attribute_exists(correction)",
        ExpressionAttributeNames={f"#{k}": k for k in fields},
        ExpressionAttributeValues=dynamo.to_item({f":{k}": v for k, v in fields.items()}),
    )
    return {**record, **fields}


def correct(
    table: str,
    record: dict[str, Any],
    text: Any,
    *,
    by: str,
    plate_index: Any = 0,
) -> dict[str, Any]:
    """Apply one correction to a record the caller may change; returns the record as stored.

    The caller checks ownership first (another owner's record is a 404, as an unknown one).
    The write is conditional on the record being unchanged since it was read, so two people
    correcting at once cannot lose one correction silently: the second gets a 409.
    """
    if record.get("status") not in (contract.DONE, contract.NO_PLATE):
        raise CorrectionRefused(409, "only a finished reading (DONE or NO_PLATE) can be corrected")
    plate = corrected_text(text)
    plates = record.get("plates") or []
    if not isinstance(plate_index, int) or isinstance(plate_index, bool):
        raise CorrectionRefused(400, "plate_index must be a number")
    if not 0 <= plate_index <= len(plates) or (plate_index == len(plates) and plates):
        raise CorrectionRefused(400, f"plate_index must be 0 to {max(len(plates) - 1, 0)}")
    previous = record.get("correction") or {}
    if previous.get("plate_index") == plate_index:
        original = previous.get("original")  # the reader's text, not the last person's
    else:
        original = plates[plate_index]["text"] if plate_index < len(plates) else None
    now = records.now_iso()
    correction = {
        "text": plate,
        "plate_index": plate_index,
        "by": by,
        "at": now,
        "original": original,
    }
    texts = [p["text"] for p in plates]
    if plate_index < len(texts):
        texts[plate_index] = plate
    else:
        texts.append(plate)
    fields = {
        **_search_fields(texts),
        "correction": correction,
        "review": CORRECTED,
        "updated_at": now,
    }
    names = {f"#{k}": k for k in fields} | {"#corrections": "corrections"}
    values = dynamo.to_item(
        records.to_dynamo(
            {f":{k}": v for k, v in fields.items()} | {":history": [correction], ":empty": []}
        )
    )
    # Unchanged since it was read: the same `updated_at` (a record always has one once written).
    if record.get("updated_at"):
        unchanged = "#updated_at = :seen"
        values[":seen"] = {"S": str(record["updated_at"])}
    else:
        unchanged = "attribute_not_exists(#updated_at)"
    assignments = ", ".join(f"#{k} = :{k}" for k in fields)
    try:
        aws.client("dynamodb").update_item(
            TableName=table,
            Key=dynamo.to_item({"upload_id": record["upload_id"]}),
            UpdateExpression=(
                f"SET {assignments}, "
                "#corrections = list_append(if_not_exists(#corrections, :empty), :history)"
            ),
            ConditionExpression=f"attribute_exists(upload_id) AND {unchanged}",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise CorrectionRefused(
                409, "the reading changed while you were correcting it; load it and try again"
            ) from exc
        raise
    stored = records.get_record(table, record["upload_id"])
    return stored or {**record, **fields}


def needing_review(table: str, owner: str, limit: int = 50) -> list[dict[str, Any]]:
    """The owner's readings marked NEEDED, newest first.

    A query on the owner index, filtered on the mark: it reads the owner's own records
    (never anyone else's), and DynamoDB returns only the marked ones.
    """
    client = aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": contract.OWNER_INDEX,
        "KeyConditionExpression": "#owner = :owner",
        "FilterExpression": "#review = :needed",
        "ExpressionAttributeNames": {"#owner": "owner", "#review": "review"},
        "ExpressionAttributeValues": dynamo.to_item({":owner": owner, ":needed": NEEDED}),
    }
    found: list[dict[str, Any]] = []
    while True:
        page = client.query(**kwargs)
        found.extend(records.from_dynamo(dynamo.from_item(i)) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    found.sort(key=lambda r: str(r.get("processed_at", "")), reverse=True)
    return found[:limit]
