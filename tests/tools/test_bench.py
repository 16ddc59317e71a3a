"""The bench's JSON line keeps its keys (other tools read them) and adds what throughput and
cost reporting need; handler timing and waiting on the registry work without the stack."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

import pytest

from platescan.local.gaps import Registry
from platescan.tools import bench, benchmark

LEGACY_KEYS = {
    "photos", "top1_exact", "top3_exact", "char_accuracy", "detection_rate", "no_plate",
    "latency_p50_s", "latency_p95_s", "confusions", "calibration", "photos_per_s",
    "concurrency", "stage_p50_s", "overhead_p50_s", "statuses",
}  # fmt: skip
NEW_KEYS = {
    "record_bytes_p50", "wall_s", "cpu_s_per_photo", "photos_per_s_cpu_bound", "cpus",
    "ocr_workers", "load_1m", "handler_p50_s", "invocations_per_photo",
}  # fmt: skip


def _result(plate: str, read: str, latency: float) -> benchmark.PhotoResult:
    photo = benchmark.LabelledPhoto(Path(f"{plate}.jpg"), plate, (0, 0, 10, 10))
    plates = [{"text": read, "confidence": 0.9, "box": {}}] if read else []
    timings = {"read_metadata": 50.0, "detect_text": 400.0, "validate_plate": 10.0}
    extra = {"timings_ms": timings, "error": None, "record_bytes": 1500}
    return benchmark.PhotoResult(photo, plates, latency, 100, 50, "DONE", extra)


def test_the_json_line_keeps_its_keys_and_adds_the_new_ones() -> None:
    results = [_result("ABC123", "ABC123", 0.6), _result("XYZ789", "", 0.8)]
    timer = bench.HandlerTimer({"platescan-detect-text": lambda event, context: event})
    timer._handlers["platescan-detect-text"]({}, None)
    summary = benchmark.score(results)
    summary.update(bench.pipeline_numbers(results, wall_s=2.0, concurrency=2))
    summary.update(
        bench.machine_numbers(photos=2, cpu_s=1.0, wall_s=2.0, load_1m=(1.0, 2.0), ocr_workers=2)
    )
    summary.update(timer.summary(2))
    assert set(summary) >= LEGACY_KEYS | NEW_KEYS
    assert summary["photos_per_s"] == 1.0
    assert summary["cpu_s_per_photo"] == 0.5
    assert summary["record_bytes_p50"] == 1500
    assert summary["invocations_per_photo"] == {"detect_text": 0.5}
    assert set(summary["handler_p50_s"]) == {"detect_text"}


def test_the_handler_timer_puts_the_handlers_back() -> None:
    def handler(event: dict, context: object) -> str:
        raise RuntimeError("boom")

    handlers = {"platescan-write-result": handler}
    timer = bench.HandlerTimer(handlers)
    with pytest.raises(RuntimeError):
        handlers["platescan-write-result"]({}, None)
    assert len(timer.durations["write_result"]) == 1  # a failed call is timed too
    timer.remove()
    assert handlers["platescan-write-result"] is handler


class _FakeStack:
    """A record that turns DONE when a handler finishes (the registry is bumped)."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.status = "PROCESSING"

    def record(self, upload_id: str) -> dict:
        return {"upload_id": upload_id, "status": self.status}


def test_waiting_wakes_when_a_handler_finishes() -> None:
    stack = _FakeStack()

    def finish() -> None:
        stack.status = "DONE"
        stack.registry.bump()

    threading.Timer(0.05, finish).start()
    record = bench.wait_final(stack, "u1", timeout=10)  # type: ignore[arg-type]
    assert record["status"] == "DONE"


def test_startup_needs_no_dataset() -> None:
    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--startup", "--repeat", "1"])
    assert args.startup and args.dataset is None
    assert bench.main(parser.parse_args(["/no/such/folder"])) == 2
