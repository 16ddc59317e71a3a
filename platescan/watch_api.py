"""The API's watchlist, alert and review routes, for one verified owner (the Cognito `sub`).

The routes in `functions/api/app.py` take the owner from the claims API Gateway verified and
hand over here. Every read is a query on the owner's own partition or index; another
owner's entry, alert or record answers 404, exactly as one that does not exist.
"""

from __future__ import annotations

from typing import Any

from platescan import alerts, aws, dynamo, records, review
from platescan.errors import RequestRefused
from platescan.settings import get_settings
from platescan.watchlists import MAX_ENTRIES, InvalidEntry, from_csv, make_entry, to_csv

MAX_CSV_BYTES = 256 * 1024
REVIEW_PAGE = 50


class WatchError(RequestRefused):
    """A watchlist, alert or review request that the API refuses."""


# -- watchlist ----------------------------------------------------------------------------


def list_entries(owner: str) -> dict[str, Any]:
    entries = alerts.list_entries(get_settings().watchlists_table, owner)
    entries.sort(key=lambda e: (e.label, e.plate))
    return {"items": [e.as_dict() for e in entries]}


def add_entry(owner: str, body: Any) -> dict[str, Any]:
    """Add (or replace: the same plate and mode is one entry) a watchlist entry."""
    if not isinstance(body, dict):
        raise WatchError(400, 'send a JSON object such as {"plate": "7ABC123", "label": "staff"}')
    table = get_settings().watchlists_table
    try:
        entry = make_entry(
            body.get("plate"), mode=body.get("mode"), label=body.get("label"), note=body.get("note")
        )
    except InvalidEntry as exc:
        raise WatchError(400, str(exc)) from exc
    existing = alerts.list_entries(table, owner)
    if len(existing) >= MAX_ENTRIES and entry.entry_id not in {e.entry_id for e in existing}:
        raise WatchError(409, f"a watchlist holds at most {MAX_ENTRIES} entries")
    return alerts.put_entry(table, owner, entry)


def delete_entry(owner: str, entry_id: str) -> None:
    if not alerts.delete_entry(get_settings().watchlists_table, owner, entry_id):
        raise WatchError(404, "no such watchlist entry")


def export_csv(owner: str) -> str:
    return to_csv(alerts.list_entries(get_settings().watchlists_table, owner))


def import_csv(owner: str, text: str | None) -> dict[str, Any]:
    """Add every row of a CSV (plate, label, note, mode); a bad row keeps them all out."""
    if not text:
        raise WatchError(400, "send the CSV as the request body (header: plate,label,note,mode)")
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise WatchError(413, f"a CSV import is at most {MAX_CSV_BYTES // 1024} KB")
    table = get_settings().watchlists_table
    existing = {e.entry_id for e in alerts.list_entries(table, owner)}
    try:
        entries = from_csv(text, max_entries=MAX_ENTRIES)
    except InvalidEntry as exc:
        raise WatchError(400, str(exc)) from exc
    if len(existing | {e.entry_id for e in entries}) > MAX_ENTRIES:
        raise WatchError(409, f"a watchlist holds at most {MAX_ENTRIES} entries")
    for entry in entries:
        alerts.put_entry(table, owner, entry)
    return {"imported": len(entries), "new": len({e.entry_id for e in entries} - existing)}


# -- alerts -------------------------------------------------------------------------------


def _photo_links(upload_ids: list[str]) -> dict[str, str]:
    """Short-lived links to the photos of these uploads (one BatchGetItem per 100)."""
    settings = get_settings()
    links: dict[str, str] = {}
    unique = list(dict.fromkeys(upload_ids))
    for start in range(0, len(unique), 100):
        keys = [dynamo.to_item({"upload_id": u}) for u in unique[start : start + 100]]
        request = {
            settings.results_table: {
                "Keys": keys,
                "ProjectionExpression": "upload_id, #bucket, #key",
                "ExpressionAttributeNames": {"#bucket": "bucket", "#key": "key"},
            }
        }
        while request:
            answer = aws.client("dynamodb").batch_get_item(RequestItems=request)
            for item in answer.get("Responses", {}).get(settings.results_table, []):
                found = dynamo.from_item(item)
                if found.get("bucket") and found.get("key"):
                    links[found["upload_id"]] = aws.presigner(
                        settings.s3_public_endpoint
                    ).generate_presigned_url(
                        "get_object",
                        Params={"Bucket": found["bucket"], "Key": found["key"]},
                        ExpiresIn=settings.presign_expires_s,
                    )
            request = answer.get("UnprocessedKeys") or {}
    return links


def list_alerts(owner: str) -> dict[str, Any]:
    """The owner's alerts, newest first, each with a link to its photo while it is kept."""
    items = alerts.list_alerts(get_settings().alerts_table, owner)
    links = _photo_links([item["upload_id"] for item in items])
    for item in items:
        item.pop("published", None)
        if item["upload_id"] in links:
            item["image_url"] = links[item["upload_id"]]
    return {"items": items}


# -- review -------------------------------------------------------------------------------


def list_review(owner: str) -> dict[str, Any]:
    """The owner's readings marked NEEDED, newest first, with links to their photos."""
    found = review.needing_review(get_settings().results_table, owner, limit=REVIEW_PAGE)
    links = _photo_links([r["upload_id"] for r in found])
    items = []
    for record in found:
        public = records.public_record(record)
        if record["upload_id"] in links:
            public["image_url"] = links[record["upload_id"]]
        items.append(public)
    return {"items": items}


def owned_record(owner: str, upload_id: str) -> dict[str, Any]:
    """The owner's record, or 404 as for an unknown id (no existence leak)."""
    if not records.UPLOAD_ID_PATTERN.match(upload_id):
        raise WatchError(400, "that is not an upload id")
    record = records.get_record(get_settings().results_table, upload_id)
    if record is None or record.get("owner") != owner:
        raise WatchError(404, "no such upload")
    return record


def correct(owner: str, upload_id: str, body: Any) -> dict[str, Any]:
    """Correct a reading; the owner's watchlist is checked again against the correction."""
    if not isinstance(body, dict):
        raise WatchError(400, 'send a JSON object such as {"text": "7ABC123"}')
    record = owned_record(owner, upload_id)
    # a refused correction (CorrectionRefused) is answered like any refused request
    fixed = review.correct(
        get_settings().results_table,
        record,
        body.get("text"),
        by=owner,
        plate_index=body.get("plate_index", 0),
    )
    # The claimer names this correction: a retry of the same request may finish its own
    # alert; the pipeline's claims for the same photo and entry stand.
    claimer = f"correction:{fixed['correction']['at']}"
    matches = alerts.check_record(
        alerts.tables_from_settings(), fixed, claimer=claimer, source="correction"
    )
    raised = sum(1 for m in matches if m["new"])
    return {
        "record": records.public_record(fixed),
        "alerts_raised": raised,
    }
