"""Settings of the functions, read from the environment (names in `platescan.contract.Env`).

Each function is given the variables it uses (infra/pipeline.py, infra/api.py; the local
stack sets the same ones) and reads only those, so a setting is looked up when it is first
used: a missing or malformed variable raises `MissingSetting` naming it, rather than the
function quietly falling back to a value that belongs to no deployment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Generic, TypeVar

from platescan.contract import Env

T = TypeVar("T")


class MissingSetting(RuntimeError):
    """A variable the function needs is not set (or is not what it must be)."""


class _Required(Generic[T]):
    """A variable that must be set, parsed by `parse` (whose ValueError names the variable)."""

    def __init__(self, name: str, parse: Callable[[str], T], what: str = "") -> None:
        self.name, self.parse, self.what = name, parse, what

    def __get__(self, settings: Any, owner: Any = None) -> T:
        raw = settings.env.get(self.name, "").strip()
        if not raw:
            raise MissingSetting(
                f"the environment variable {self.name} is not set; this function needs it "
                "(the stack sets it in AWS and the local stack sets it locally)"
            )
        try:
            return self.parse(raw)
        except ValueError:
            raise MissingSetting(
                f"the environment variable {self.name} must be {self.what}; it is {raw!r}"
            ) from None


class _Optional:
    """A variable that may be empty or absent (None then)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, settings: Any, owner: Any = None) -> str | None:
        return str(settings.env.get(self.name, "")).strip() or None


class Settings:
    """The variables of one process's environment, read on use."""

    results_table = _Required(Env.RESULTS_TABLE, str)
    uploads_bucket = _Required(Env.UPLOADS_BUCKET, str)
    detector_engine = _Required(Env.DETECTOR_ENGINE, str)
    # The plate region to prefer when an upload names none.
    region_hint = _Optional(Env.REGION_HINT)
    site_origin = _Required(Env.SITE_ORIGIN, str)
    max_upload_bytes = _Required(Env.MAX_UPLOAD_BYTES, int, "a whole number")
    presign_expires_s = _Required(Env.PRESIGN_EXPIRES_S, int, "a whole number")
    retention_days = _Required(Env.RETENTION_DAYS, int, "a whole number")
    # Local mode only: where browsers reach the S3 stand-in (presigned URLs point there).
    s3_public_endpoint = _Optional(Env.S3_PUBLIC_ENDPOINT)
    # Watchlists, alerts and the bus alerts are published on (write_result, api).
    watchlists_table = _Required(Env.WATCHLISTS_TABLE, str)
    alerts_table = _Required(Env.ALERTS_TABLE, str)
    event_bus = _Required(Env.EVENT_BUS_NAME, str)
    # A reading whose top plate is less sure than this is marked "needs review".
    review_threshold = _Required(Env.REVIEW_THRESHOLD, float, "a number")

    # Photos one user may upload per UTC day (the API refuses more).
    daily_upload_quota = _Required(Env.DAILY_UPLOAD_QUOTA, int, "a whole number")

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    @property
    def log_personal_data(self) -> bool:
        """Off unless "true": plates and file names may go to logs and traces (debugging)."""
        return str(self.env.get(Env.LOG_PERSONAL_DATA, "")).strip().lower() == "true"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; call `get_settings.cache_clear()` after changing the environment."""
    return Settings(os.environ)
