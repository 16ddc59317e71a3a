"""Settings of the functions, read from the environment (names in `platescan.contract.Env`).

Each function is given the variables it uses (infra/pipeline.py, infra/api.py; the local
stack sets the same ones) and reads only those, so a setting is looked up when it is first
used: a missing or malformed variable raises `MissingSetting` naming it, rather than the
function quietly falling back to a value that belongs to no deployment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from platescan.contract import Env


class MissingSetting(RuntimeError):
    """A variable the function needs is not set (or is not what it must be)."""


class Settings:
    """The variables of one process's environment, read on use."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)

    def _required(self, name: str) -> str:
        value = self._env.get(name, "").strip()
        if not value:
            raise MissingSetting(
                f"the environment variable {name} is not set; this function needs it "
                "(the stack sets it in AWS and the local stack sets it locally)"
            )
        return value

    def _int(self, name: str) -> int:
        raw = self._required(name)
        try:
            return int(raw)
        except ValueError:
            raise MissingSetting(
                f"the environment variable {name} must be a whole number; it is {raw!r}"
            ) from None

    @property
    def results_table(self) -> str:
        return self._required(Env.RESULTS_TABLE)

    @property
    def uploads_bucket(self) -> str:
        return self._required(Env.UPLOADS_BUCKET)

    @property
    def detector_engine(self) -> str:
        return self._required(Env.DETECTOR_ENGINE)

    @property
    def region_hint(self) -> str | None:
        """Optional: the plate region to prefer when an upload names none."""
        return self._env.get(Env.REGION_HINT, "").strip() or None

    @property
    def site_origin(self) -> str:
        return self._required(Env.SITE_ORIGIN)

    @property
    def max_upload_bytes(self) -> int:
        return self._int(Env.MAX_UPLOAD_BYTES)

    @property
    def presign_expires_s(self) -> int:
        return self._int(Env.PRESIGN_EXPIRES_S)

    @property
    def retention_days(self) -> int:
        return self._int(Env.RETENTION_DAYS)

    @property
    def s3_public_endpoint(self) -> str | None:
        """Local mode only: where browsers reach the S3 stand-in (presigned URLs point there)."""
        return self._env.get(Env.S3_PUBLIC_ENDPOINT, "").strip() or None

    @property
    def watchlists_table(self) -> str:
        return self._required(Env.WATCHLISTS_TABLE)

    @property
    def alerts_table(self) -> str:
        return self._required(Env.ALERTS_TABLE)

    @property
    def event_bus(self) -> str:
        """The bus alerts are published on (write_result, api)."""
        return self._required(Env.EVENT_BUS_NAME)

    @property
    def review_threshold(self) -> float:
        """A reading whose top plate is less sure than this is marked "needs review"."""
        raw = self._required(Env.REVIEW_THRESHOLD)
        try:
            return float(raw)
        except ValueError:
            raise MissingSetting(
                f"the environment variable {Env.REVIEW_THRESHOLD} must be a number; it is {raw!r}"
            ) from None

    @property
    def daily_upload_quota(self) -> int:
        """Photos one user may upload per UTC day (the API refuses more)."""
        return self._int(Env.DAILY_UPLOAD_QUOTA)

    @property
    def log_personal_data(self) -> bool:
        """Optional, off unless "true": plates and file names may go to logs (debugging)."""
        return self._env.get(Env.LOG_PERSONAL_DATA, "").strip().lower() == "true"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; call `get_settings.cache_clear()` after changing the environment."""
    return Settings(os.environ)
