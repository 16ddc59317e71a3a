"""Alerts: a processed photo that matches a watchlist entry, raised exactly once.

The decision is plain (`platescan.watchlists.find_matches`); this module stores entries and
alerts in DynamoDB and publishes each alert as a "Plate Matched" event on the stack's bus.

Exactly one alert per photo and entry, whatever runs twice. EventBridge may deliver an
upload's event twice (two executions), a redrive re-runs a step, and a Task is retried
after a timeout. So each alert is first *claimed* with a conditional put of the item keyed
by (owner, upload id + entry id), then published, then marked published:

- the claim fails when the item exists: another run owns the alert, nothing is sent;
- except when the claim is this run's own (same execution ARN: a retry or a redrive of the
  same execution) and it was never marked published: the earlier attempt died between
  claiming and publishing, so it is published now. A crash after PutEvents succeeded but
  before the mark repeats the event once; the event carries `alert_id`, stable across
  repeats, so a subscriber can drop it. Losing an alert would be worse than that.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from platescan import aws, contract, dynamo, records
from platescan.errors import AlertNotPublished
from platescan.watchlists import Entry, Match, entry_from_item, find_matches

EVENT_SOURCE = contract.PLATE_MATCHED_SOURCE
DETAIL_TYPE = contract.PLATE_MATCHED_DETAIL_TYPE
NEWEST_INDEX = contract.NEWEST_INDEX
WATCHLISTS_SCHEMA = contract.WATCHLISTS_SCHEMA
ALERTS_SCHEMA = contract.ALERTS_SCHEMA
ALERT_PAGE = 50


@dataclass(frozen=True)
class AlertTables:
    """Where watchlists and alerts live, and the bus their events go to."""

    watchlists: str
    alerts: str
    event_bus: str
    retention_days: int = 90


def tables_from_settings() -> AlertTables:
    """The tables and bus named in the function's environment."""
    from platescan.settings import get_settings

    settings = get_settings()
    return AlertTables(
        watchlists=settings.watchlists_table,
        alerts=settings.alerts_table,
        event_bus=settings.event_bus,
        retention_days=settings.retention_days,
    )


def alert_id(upload_id: str, entry_id: str) -> str:
    """The idempotency key: one alert per photo and entry."""
    return f"{upload_id}#{entry_id}"


def event_detail(
    owner: str, upload_id: str, match: Match, *, alerted_at: str, source: str
) -> dict[str, Any]:
    """The "Plate Matched" event's detail: what was read, which entry, how it matched."""
    return {
        "alert_id": alert_id(upload_id, match.entry.entry_id),
        "upload_id": upload_id,
        "owner": owner,
        "plate_read": match.text,
        "confidence": round(match.confidence, 4),
        "how": match.how,
        "distance": match.distance,
        "candidate_rank": match.candidate_rank,
        "entry": {
            "entry_id": match.entry.entry_id,
            "plate": match.entry.plate,
            "label": match.entry.label,
            "note": match.entry.note,
            "mode": match.entry.mode,
        },
        "source": source,  # "pipeline" or "correction"
        "alerted_at": alerted_at,
    }


def plates_to_check(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The readings a record's watchlist check looks at: a correction stands first.

    A person's correction replaces the reading's top text but the reader's own candidates
    are still checked too: they may match other entries.
    """
    plates = [dict(p) for p in record.get("plates") or []]
    corrected = (record.get("correction") or {}).get("text")
    if corrected:
        index = int((record.get("correction") or {}).get("plate_index", 0))
        if index < len(plates):
            original = plates[index]
            plates[index] = {
                "text": corrected,
                "confidence": 1.0,
                "candidates": [
                    {"text": original.get("text"), "confidence": original.get("confidence")},
                    *(original.get("candidates") or []),
                ],
            }
        else:
            plates.append({"text": corrected, "confidence": 1.0})
    return plates


# -- storage ------------------------------------------------------------------------------


def _is_conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def list_entries(table: str, owner: str) -> list[Entry]:
    """One owner's entries: a query on the owner's partition, page by page."""
    client = aws.client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#owner = :owner",
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": dynamo.to_item({":owner": owner}),
    }
    entries: list[Entry] = []
    while True:
        page = client.query(**kwargs)
        entries.extend(entry_from_item(dynamo.from_item(i)) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return entries
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def put_entry(table: str, owner: str, entry: Entry) -> dict[str, Any]:
    """Add or replace one entry (the same plate and mode is the same entry)."""
    item = {**entry.as_dict(), "owner": owner, "created_at": entry.created_at or records.now_iso()}
    aws.client("dynamodb").put_item(TableName=table, Item=dynamo.to_item(records.to_dynamo(item)))
    return {k: v for k, v in item.items() if k != "owner"}


def delete_entry(table: str, owner: str, entry_id: str) -> bool:
    """Remove one of the owner's entries; False if there was none."""
    try:
        aws.client("dynamodb").delete_item(
            TableName=table,
            Key=dynamo.to_item({"owner": owner, "entry_id": entry_id}),
            ConditionExpression="attribute_exists(entry_id)",
        )
    except ClientError as exc:
        if _is_conflict(exc):
            return False
        raise
    return True


def list_alerts(table: str, owner: str, limit: int = ALERT_PAGE) -> list[dict[str, Any]]:
    """The owner's alerts, newest first, through the owner's time-ordered index."""
    response = aws.client("dynamodb").query(
        TableName=table,
        IndexName=NEWEST_INDEX,
        KeyConditionExpression="#owner = :owner",
        ExpressionAttributeNames={"#owner": "owner"},
        ExpressionAttributeValues=dynamo.to_item({":owner": owner}),
        ScanIndexForward=False,
        Limit=limit,
    )
    items = [records.from_dynamo(dynamo.from_item(i)) for i in response.get("Items", [])]
    return [{k: v for k, v in item.items() if k not in ("owner", "claimed_by")} for item in items]


def delete_alerts(table: str, owner: str, upload_id: str | None = None) -> int:
    """Remove the owner's alerts (only those of one upload, given `upload_id`); returns how
    many. An alert repeats the plate read, so it goes with the photo and record it is about
    rather than waiting for its expiry. A query on the owner's partition: alert ids start
    with the upload id, so one upload's alerts are a key prefix."""
    client = aws.client("dynamodb")
    condition = "#owner = :owner"
    values: dict[str, str] = {":owner": owner}
    if upload_id is not None:
        condition += " AND begins_with(alert_id, :upload)"
        values[":upload"] = f"{upload_id}#"
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#owner": "owner"},
        "ExpressionAttributeValues": dynamo.to_item(values),
        "ProjectionExpression": "alert_id",
    }
    deleted = 0
    while True:
        page = client.query(**kwargs)
        for item in page.get("Items", []):
            client.delete_item(
                TableName=table,
                Key={**dynamo.to_item({"owner": owner}), "alert_id": item["alert_id"]},
            )
            deleted += 1
        if "LastEvaluatedKey" not in page:
            return deleted
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _get_alert(table: str, owner: str, key: str) -> dict[str, Any] | None:
    found = aws.client("dynamodb").get_item(
        TableName=table,
        Key=dynamo.to_item({"owner": owner, "alert_id": key}),
        ConsistentRead=True,
    )
    item = found.get("Item")
    return records.from_dynamo(dynamo.from_item(item)) if item else None


def raise_alert(
    tables: AlertTables,
    owner: str,
    upload_id: str,
    match: Match,
    *,
    claimer: str,
    source: str,
) -> bool:
    """Claim, publish and mark one alert; True if this call published it."""
    alerted_at = records.now_iso()
    detail = event_detail(owner, upload_id, match, alerted_at=alerted_at, source=source)
    item = {
        **detail,
        "published": False,
        "claimed_by": claimer,
        "expires_at": int(time.time()) + tables.retention_days * 86400,
    }
    client = aws.client("dynamodb")
    try:
        client.put_item(
            TableName=tables.alerts,
            Item=dynamo.to_item(records.to_dynamo(item)),
            ConditionExpression="attribute_not_exists(alert_id)",
        )
    except ClientError as exc:
        if not _is_conflict(exc):
            raise
        existing = _get_alert(tables.alerts, owner, detail["alert_id"])
        if existing is None or existing.get("published") or existing.get("claimed_by") != claimer:
            return False
        detail = {k: existing[k] for k in detail if k in existing}  # the claimed alert, as kept
    publish(tables.event_bus, detail)
    client.update_item(
        TableName=tables.alerts,
        Key=dynamo.to_item({"owner": owner, "alert_id": detail["alert_id"]}),
        UpdateExpression="SET published = :yes",
        ExpressionAttributeValues=dynamo.to_item({":yes": True}),
    )
    return True


def publish(bus: str, detail: dict[str, Any]) -> None:
    """Put one "Plate Matched" event on the bus; AlertNotPublished if EventBridge refused it."""
    answer = aws.client("events").put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(detail, default=str),
                "EventBusName": bus,
                "Resources": [],
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        failed = answer["Entries"][0]
        raise AlertNotPublished(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")


def check_record(
    tables: AlertTables, record: dict[str, Any], *, claimer: str, source: str = "pipeline"
) -> list[dict[str, Any]]:
    """Match a record against its owner's watchlist and raise each new alert.

    Returns the matches (published now or earlier). A record without an owner belongs to
    no watchlist; one that is not DONE has nothing to match, unless a person corrected it
    (a NO_PLATE photo may get its plate that way).
    """
    owner = record.get("owner")
    readable = record.get("status") == records.DONE or bool(record.get("correction"))
    if not owner or not readable:
        return []
    entries = list_entries(tables.watchlists, str(owner))
    if not entries:
        return []
    matches = find_matches(entries, plates_to_check(record))
    found = []
    for match in matches:
        published = raise_alert(
            tables, str(owner), record["upload_id"], match, claimer=claimer, source=source
        )
        found.append({**match.as_dict(), "entry_id": match.entry.entry_id, "new": published})
    return found
