"""Settings of the functions, read once from the environment (names in docs/contracts.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    results_table: str
    uploads_bucket: str
    detector_engine: str
    region_hint: str | None
    site_origin: str
    max_upload_bytes: int
    presign_expires_s: int
    retention_days: int
    # Photos one user may upload per UTC day.
    daily_upload_quota: int
    # Plates and file names may be logged: a stack's debugging setting, off by default.
    log_personal_data: bool
    # Local mode only: where browsers reach the S3 stand-in (presigned URLs point there).
    s3_public_endpoint: str | None
    # Watchlists, alerts and the bus alerts are published on (check_watchlists, api).
    watchlists_table: str = "platescan-watchlists"
    alerts_table: str = "platescan-alerts"
    event_bus: str = "platescan-events"
    # A reading whose top plate is less sure than this is marked "needs review".
    review_threshold: float = 0.8


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; call `get_settings.cache_clear()` after changing the environment."""
    env = os.environ
    return Settings(
        results_table=env.get("RESULTS_TABLE", "platescan-results"),
        uploads_bucket=env.get("UPLOADS_BUCKET", "platescan-uploads"),
        detector_engine=env.get("DETECTOR_ENGINE", "rekognition"),
        region_hint=env.get("REGION_HINT") or None,
        site_origin=env.get("SITE_ORIGIN", "http://127.0.0.1:8000"),
        max_upload_bytes=int(env.get("MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))),
        presign_expires_s=int(env.get("PRESIGN_EXPIRES_S", "300")),
        retention_days=int(env.get("RETENTION_DAYS", "90")),
        daily_upload_quota=int(env.get("DAILY_UPLOAD_QUOTA", "200")),
        s3_public_endpoint=env.get("S3_PUBLIC_ENDPOINT") or None,
        log_personal_data=env.get("LOG_PERSONAL_DATA", "false").lower() == "true",
        watchlists_table=env.get("WATCHLISTS_TABLE", "platescan-watchlists"),
        alerts_table=env.get("ALERTS_TABLE", "platescan-alerts"),
        event_bus=env.get("EVENT_BUS_NAME", "platescan-events"),
        review_threshold=float(env.get("REVIEW_THRESHOLD", "0.8")),
    )
