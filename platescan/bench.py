"""`python -m platescan bench DIR`: the plate-reading benchmark, through the local pipeline.

Every photo is put into the local uploads bucket and travels S3 -> EventBridge -> Step
Functions -> handlers -> DynamoDB, exactly as an upload does; its latency is from the put
until its record is final. Scoring is `platescan.benchmark.score`. With `--concurrency N`,
N photos are in flight at once (throughput); the default, 1, measures latency alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from platescan import benchmark
from platescan.local.runtime import LocalConfig, LocalStack

STAGES = ("read_metadata", "detect_text", "validate_plate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset", type=Path, help="folder of NAME.jpg + NAME.txt (OpenALPR layout)"
    )
    parser.add_argument("--limit", type=int, help="only the first N photos")
    parser.add_argument("--errors", type=Path, help="write side-by-side crops of misses here")
    parser.add_argument("--concurrency", type=int, default=1, help="photos in flight at once")
    parser.add_argument("--region", help="plate region hint for every photo, e.g. US")
    parser.add_argument("--quiet", action="store_true", help="no per-photo table")


def main(args: argparse.Namespace) -> int:
    if args.dataset is None or not args.dataset.is_dir():
        print(f"error: {args.dataset} is not a folder of labelled photos", file=sys.stderr)
        return 2
    photos = list(benchmark.iter_dataset(args.dataset, limit=args.limit))
    if not photos:
        print(f"error: no labelled photos in {args.dataset}", file=sys.stderr)
        return 2
    with LocalStack(LocalConfig(engine="onnx", retry_time_scale=0.1)) as stack:
        warm_up(stack)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
            results = list(pool.map(lambda p: run_one(stack, p, args.region), photos))
        wall = time.perf_counter() - started
    if not args.quiet:
        print_table(results)
    if args.errors:
        benchmark.write_error_crops(results, args.errors)
    summary = benchmark.score(results)
    summary.update(pipeline_numbers(results, wall, args.concurrency))
    print(json.dumps(summary))
    return 0


def warm_up(stack: LocalStack) -> None:
    """Load the OCR models before the clock starts: a warm Lambda container has them."""
    from platescan.engines.onnx import get_pool

    get_pool().warm_up()
    stack.wait_for(stack.put_photo(_warm_up_photo(), "warm-up.jpg"), timeout=120)


def _warm_up_photo() -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 360), (90, 90, 90))
    ImageDraw.Draw(img).rectangle((250, 220, 390, 260), fill="white")
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()


def run_one(
    stack: LocalStack, photo: benchmark.LabelledPhoto, region: str | None
) -> benchmark.PhotoResult:
    data = photo.path.read_bytes()
    started = time.perf_counter()
    upload_id = stack.put_photo(data, photo.path.name, content_type="image/jpeg", region=region)
    record = stack.wait_for(upload_id, timeout=300, poll=0.005)
    latency = time.perf_counter() - started
    return benchmark.PhotoResult(
        photo,
        record.get("plates", []),
        latency,
        int(record.get("width", 0)),
        int(record.get("height", 0)),
        str(record["status"]),
        {"timings_ms": record.get("timings_ms", {}), "error": record.get("error")},
    )


def pipeline_numbers(
    results: list[benchmark.PhotoResult], wall_s: float, concurrency: int
) -> dict[str, Any]:
    """Throughput, per-stage medians and the pipeline's own overhead (all but detection)."""
    stage_s = {
        stage: round(
            statistics.median(r.extra["timings_ms"].get(stage, 0.0) for r in results) / 1000, 4
        )
        for stage in STAGES
    }
    overhead = [
        r.latency_s - r.extra["timings_ms"].get("detect_text", 0.0) / 1000
        for r in results
        if r.extra["timings_ms"]
    ]
    return {
        "photos_per_s": round(len(results) / wall_s, 3),
        "concurrency": concurrency,
        "stage_p50_s": stage_s,
        "overhead_p50_s": round(statistics.median(overhead), 4) if overhead else None,
        "statuses": {
            s: sum(r.status == s for r in results) for s in sorted({r.status for r in results})
        },
    }


def print_table(results: list[benchmark.PhotoResult]) -> None:
    print(f"{'PHOTO':<44} {'TRUTH':<9} {'READ':<9} {'OK':<3} {'CONF':>5} {'SECONDS':>8}")
    for r in results:
        conf = f"{r.plates[0]['confidence']:.2f}" if r.plates else ""
        ok = "yes" if r.top_text == r.photo.plate else "no"
        name, truth, read = r.photo.path.name, r.photo.plate, r.top_text or "-"
        print(f"{name:<44} {truth:<9} {read:<9} {ok:<3} {conf:>5} {r.latency_s:>8.3f}")
