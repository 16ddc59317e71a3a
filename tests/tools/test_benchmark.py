"""Benchmark scoring: dataset loading, exact and top-3 matches, character accuracy,
detection by IoU, latency percentiles, confusions, and crops of the misses."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from platescan.tools.benchmark import (
    LabelledPhoto,
    PhotoResult,
    calibration_by_region,
    char_errors,
    iou,
    iter_dataset,
    read_label,
    score,
    write_error_crops,
)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    for name, plate in [("b", "XYZ789"), ("a", "7ABC123")]:
        Image.new("RGB", (200, 100), (90, 90, 90)).save(tmp_path / f"{name}.jpg")
        (tmp_path / f"{name}.txt").write_text(f"{name}.jpg\t50\t40\t100\t30\t{plate}\n")
    return tmp_path


def _plate(text: str, box: tuple[float, float, float, float], *others: str) -> dict:
    left, top, width, height = box
    candidates = [
        {"text": t, "confidence": 0.5, "region": "US", "format": "US"} for t in (text, *others)
    ]
    return {
        "text": text,
        "confidence": 0.9,
        "region": "US",
        "format": "US",
        "box": {"left": left, "top": top, "width": width, "height": height},
        "candidates": candidates,
    }


def test_iter_dataset_reads_labels_in_name_order(dataset: Path) -> None:
    photos = list(iter_dataset(dataset))
    assert [p.plate for p in photos] == ["7ABC123", "XYZ789"]
    assert photos[0].path == dataset / "a.jpg"
    assert photos[0].box == (50, 40, 100, 30)
    assert [p.plate for p in iter_dataset(dataset, limit=1)] == ["7ABC123"]


def test_read_label_refuses_a_short_line(tmp_path: Path) -> None:
    label = tmp_path / "x.txt"
    label.write_text("x.jpg 1 2 3\n")
    with pytest.raises(ValueError, match="expected"):
        read_label(label)


def test_char_errors_counts_substitutions_insertions_and_deletions() -> None:
    assert char_errors("7ABC123", "7ABC123") == (0, [])
    assert char_errors("7ABC123", "7A8C123") == (1, [("B", "8")])
    count, pairs = char_errors("ASC7399", "4ASC7399")
    assert count == 1 and pairs == [("", "4")]
    assert char_errors("ABC", "") == (3, [("A", ""), ("B", ""), ("C", "")])


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == pytest.approx(1.0)
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_score_reports_every_number(dataset: Path) -> None:
    a, b = list(iter_dataset(dataset))
    results = [
        # right, and the box is where the label is (pixels 50,40,100,30 of 200x100)
        PhotoResult(a, [_plate("7ABC123", (0.25, 0.4, 0.5, 0.3))], 0.5, 200, 100),
        # wrong at top-1, right among the candidates, box elsewhere
        PhotoResult(b, [_plate("XYZ78", (0.0, 0.0, 0.1, 0.1), "XYZ789")], 1.5, 200, 100),
    ]
    summary = score(results)
    assert summary["photos"] == 2
    assert summary["top1_exact"] == 0.5
    assert summary["top3_exact"] == 1.0
    assert summary["char_accuracy"] == pytest.approx(1 - 1 / 13, abs=1e-4)
    assert summary["detection_rate"] == 0.5
    assert summary["latency_p50_s"] == 1.0
    assert summary["latency_p95_s"] == pytest.approx(1.45)
    assert summary["confusions"] == {"9->_": 1}
    assert summary["calibration"]["0.9"] == {"n": 2, "right": 0.5}


def test_a_missed_plate_is_not_a_confusion(dataset: Path) -> None:
    photo = next(iter(iter_dataset(dataset)))
    summary = score([PhotoResult(photo, [], 0.2, 200, 100)])
    assert summary["top1_exact"] == 0.0 and summary["no_plate"] == 1
    assert summary["char_accuracy"] == 0.0 and summary["confusions"] == {}


def test_score_of_nothing() -> None:
    assert score([]) == {"photos": 0}


def test_error_crops_are_written_for_misses_only(dataset: Path, tmp_path: Path) -> None:
    a, b = list(iter_dataset(dataset))
    results = [
        PhotoResult(a, [_plate("7ABC123", (0.25, 0.4, 0.5, 0.3))], 0.5, 200, 100),
        PhotoResult(b, [_plate("XYZ78", (0.0, 0.0, 0.3, 0.3))], 0.5, 200, 100),
    ]
    out = tmp_path / "errors"
    assert write_error_crops(results, out) == 1
    written = list(out.iterdir())
    assert [p.name for p in written] == ["b.png"]
    with Image.open(written[0]) as sheet:
        assert sheet.height > 100 and sheet.width > 120  # two crops side by side


def test_labelled_photo_is_a_plain_value() -> None:
    photo = LabelledPhoto(Path("x.jpg"), "ABC", (1, 2, 3, 4))
    assert photo == LabelledPhoto(Path("x.jpg"), "ABC", (1, 2, 3, 4))


def test_calibration_by_region_from_labels_or_from_the_readings(dataset: Path) -> None:
    a, b = iter_dataset(dataset)
    results = [
        PhotoResult(a, [_plate("7ABC123", (0.25, 0.4, 0.5, 0.3))], 0.5, 200, 100),
        PhotoResult(b, [_plate("XYZ78", (0.0, 0.0, 0.1, 0.1))], 0.5, 200, 100),
    ]
    # By the dataset's labels: one region right at 0.9, one wrong at 0.9
    labelled = calibration_by_region(results, {"a.jpg": "US", "b.jpg": "DE"}, min_photos=1)
    assert labelled == {
        "DE": {"photos": 1, "top1": 0.0, "at_0.9": {"n": 1, "right": 0.0}},
        "US": {"photos": 1, "top1": 1.0, "at_0.9": {"n": 1, "right": 1.0}},
    }
    # Without labels, by the region read; too few photos leave a region out
    assert calibration_by_region(results, None, min_photos=2)["US"]["at_0.9"]["right"] == 0.5
    assert calibration_by_region(results, None, min_photos=3) == {}
