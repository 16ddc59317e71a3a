"""`python -m platescan recognize` on photos it has never seen, with the real ONNX engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platescan.tools import cli
from tests.support import plate_photo

pytestmark = pytest.mark.e2e


def test_the_cli_prints_one_json_record_per_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    car = tmp_path / "car.png"
    car.write_bytes(plate_photo("MH12AB", fmt="PNG"))
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"hello")
    code = cli.main(["recognize", str(car), str(junk)])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0  # REJECTED is a result, not a failure
    assert [r["status"] for r in out] == ["DONE", "REJECTED"]
    assert out[0]["plates"][0]["text"] == "MH12AB"
    assert set(out[0]["plates"][0]) >= {"text", "confidence", "region", "box"}
    assert out[1]["error"]["type"] == "UnsupportedImage"


def test_the_table_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "notes.jpg"
    junk.write_bytes(b"")
    assert cli.main(["recognize", "--table", str(junk)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["PHOTO", "STATUS", "PLATE"]
    assert "notes.jpg" in out[1] and "REJECTED" in out[1] and "empty" in out[1]


def test_a_missing_file_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["recognize", "/no/such/photo.jpg"]) == 2
    assert "no such file" in capsys.readouterr().err
