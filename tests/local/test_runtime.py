"""The local stack's own promises, beyond what the pipeline tests exercise through it."""

from __future__ import annotations

import os

import pytest

from platescan.local.runtime import LocalConfig, LocalStack
from platescan.settings import get_settings


def test_a_stack_leaves_the_environment_as_it_found_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a process whose environment names another table and no bucket
    monkeypatch.setenv("RESULTS_TABLE", "someone-elses-table")
    monkeypatch.delenv("UPLOADS_BUCKET", raising=False)
    before = dict(os.environ)
    # While a stack runs, the functions' settings are the stack's
    with LocalStack(LocalConfig(engine="rekognition")) as stack:
        assert get_settings().results_table == stack.config.table
        assert get_settings().uploads_bucket == stack.config.bucket
    # And after it stops, the environment and the settings are as they were
    assert dict(os.environ) == before
    assert get_settings().results_table == "someone-elses-table"
