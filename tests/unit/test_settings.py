"""Settings: every variable a function reads is set, or the function says which one is not."""

from __future__ import annotations

import pytest

from platescan.contract import Env
from platescan.settings import MissingSetting, Settings


def test_a_set_variable_is_read_and_parsed() -> None:
    settings = Settings({Env.RESULTS_TABLE: "results", Env.RETENTION_DAYS: "30"})
    assert settings.results_table == "results"
    assert settings.retention_days == 30


@pytest.mark.parametrize(
    ("attribute", "variable"),
    [
        ("results_table", Env.RESULTS_TABLE),
        ("uploads_bucket", Env.UPLOADS_BUCKET),
        ("detector_engine", Env.DETECTOR_ENGINE),
        ("site_origin", Env.SITE_ORIGIN),
        ("retention_days", Env.RETENTION_DAYS),
        ("event_bus", Env.EVENT_BUS_NAME),
    ],
)
def test_a_missing_variable_is_named_instead_of_guessed(attribute: str, variable: str) -> None:
    # Given an environment without the variable (or with it blank)
    for env in ({}, {variable: "  "}):
        # Then reading the setting says which variable is missing
        with pytest.raises(MissingSetting, match=f"{variable} is not set"):
            getattr(Settings(env), attribute)


def test_a_malformed_number_is_named() -> None:
    with pytest.raises(MissingSetting, match="PRESIGN_EXPIRES_S must be a whole number"):
        _ = Settings({Env.PRESIGN_EXPIRES_S: "five minutes"}).presign_expires_s
    with pytest.raises(MissingSetting, match="REVIEW_THRESHOLD must be a number"):
        _ = Settings({Env.REVIEW_THRESHOLD: "high"}).review_threshold


def test_only_the_optional_variables_may_be_empty() -> None:
    settings = Settings({Env.REGION_HINT: "", Env.S3_PUBLIC_ENDPOINT: " "})
    assert settings.region_hint is None
    assert settings.s3_public_endpoint is None
    assert Settings({Env.REGION_HINT: "EU"}).region_hint == "EU"
