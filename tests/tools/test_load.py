"""A small run of the load tool: every upload accepted ends with a final record."""

from __future__ import annotations

import json

import pytest

from platescan import records
from platescan.tools import cli


def test_a_small_load_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["load", "--photos", "10", "--concurrency", "4", "--engine", "rekognition"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert code == 0
    assert summary["accepted"] == 10 and summary["refused"] == 0
    assert summary["lost"] == 0
    assert sum(summary[status] for status in records.FINAL_STATUSES) == 10
    assert summary["FAILED"] == 0
    assert summary["p50_s"] is not None and summary["p95_s"] >= summary["p50_s"]
    assert summary["peak_rss_mb"] > 0 and set(summary["rss_mb"]) >= {"warm", "end"}
    assert summary["executions_kept"] == 11  # the warm-up photo and the ten
