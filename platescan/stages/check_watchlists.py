"""Check Watchlists: the record just written, against its owner's watchlist; alerts raised once."""

from __future__ import annotations

from typing import Any

from platescan import alerts, records
from platescan.contract import CheckWatchlistsInput, CheckWatchlistsOutput
from platescan.settings import get_settings


def tables() -> alerts.AlertTables:
    settings = get_settings()
    return alerts.AlertTables(
        watchlists=settings.watchlists_table,
        alerts=settings.alerts_table,
        event_bus=settings.event_bus,
        retention_days=settings.retention_days,
    )


def check_watchlists(event: CheckWatchlistsInput) -> CheckWatchlistsOutput:
    """Read the record back (the table, not the state, is the truth) and alert on matches.

    The execution ARN names the claimer: a retry or a redrive of this execution may finish
    an alert it claimed, a second execution for the same photo may not (see alerts).
    """
    upload_id = event["upload_id"]
    record = records.get_record(get_settings().results_table, upload_id)
    matches: list[dict[str, Any]] = []
    if record is not None:
        claimer = event.get("execution_arn") or upload_id
        matches = alerts.check_record(tables(), record, claimer=claimer)
    # Counts only: the state's data is kept in the execution history, plates stay out of it.
    return {
        "upload_id": upload_id,
        "matched": len(matches),
        "raised": sum(1 for match in matches if match["new"]),
    }
