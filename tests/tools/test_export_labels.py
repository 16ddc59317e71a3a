"""`python -m platescan export-labels --data`: what a local service kept, as a benchmark set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from platescan import review
from platescan.local.runtime import LocalStack
from platescan.tools import benchmark, cli
from tests.support import FakeRekognition, detections, line, plate_photo

OWNER = "2c4e6a8b-1d3f-4a5b-8c7d-9e0f1a2b3c4d"


def test_corrections_kept_by_the_local_service_export_as_labels(
    stack_factory: Callable[..., LocalStack], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a local service with a data folder, a photo read as ABO123 and corrected
    data = tmp_path / "data"
    answer = detections(line("ABO123", 90.0, 0.25, 0.5, 0.2, 0.1))
    with FakeRekognition(lambda: answer).installed():
        stack = stack_factory(data_dir=str(data))
        upload_id = stack.put_photo(
            plate_photo("AB0123", size=(800, 600)),
            "car.jpg",
            content_type="image/jpeg",
            owner=OWNER,
        )
        record = stack.wait_for(upload_id)
        review.correct(stack.config.table, record, "AB0123", by=OWNER)
        stack.stop()  # writes the data folder on the way out, as `make run` does

    # When the labels are exported from the folder
    out = tmp_path / "labels"
    assert cli.main(["export-labels", str(out), "--data", str(data), "--owner", OWNER]) == 0

    # Then the photo and its corrected plate are there, in the layout bench reads
    assert "1 corrected photos written" in capsys.readouterr().out
    (photo,) = benchmark.iter_dataset(out)
    assert photo.plate == "AB0123"
    assert photo.path.name == f"{upload_id}.jpg"
    assert photo.path.read_bytes()[:2] == b"\xff\xd8"
    x, y, width, height = photo.box
    assert (round(x / 800, 2), round(y / 600, 2)) == (0.25, 0.5)
    assert width > 0 and height > 0


def test_an_empty_or_missing_folder_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESULTS_TABLE", raising=False)
    assert cli.main(["export-labels", str(tmp_path / "out"), "--data", str(tmp_path)]) == 2
    assert "holds no records of the local service" in capsys.readouterr().err
    assert cli.main(["export-labels", str(tmp_path / "out")]) == 2
    assert "give --table" in capsys.readouterr().err
