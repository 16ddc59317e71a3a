"""`python -m platescan bench DIR`: the plate-reading benchmark, through the local pipeline.

Every photo is put into the local uploads bucket and travels S3 -> EventBridge -> Step
Functions -> handlers -> DynamoDB, exactly as an upload does; its latency is from the put
until its record is final. Scoring is `platescan.tools.benchmark.score`. With `--concurrency N`,
N photos are in flight at once (throughput); the default, 1, measures latency alone.

Besides the scores, the JSON line says what the run cost the machine, so numbers taken on
a shared, busy machine can still be compared: CPU seconds per photo (load-independent, and
the ceiling on photos per second is cores / CPU seconds), the load average around the run,
every handler's median duration and invocations per photo (what `platescan cost
--from-bench` bills as Lambda time).

`python -m platescan bench --startup` measures cold starts instead (see `platescan.tools.startup`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platescan import records
from platescan.tools import benchmark

if TYPE_CHECKING:  # the CLI imports this module to build its parser: moto loads on use only
    from platescan.local.runtime import LocalStack

STAGES = ("read_metadata", "detect_text", "validate_plate")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset",
        type=Path,
        nargs="?",
        help="folder of NAME.jpg + NAME.txt (OpenALPR layout); not needed with --startup",
    )
    parser.add_argument("--limit", type=int, help="only the first N photos")
    parser.add_argument("--errors", type=Path, help="write side-by-side crops of misses here")
    parser.add_argument("--concurrency", type=int, default=1, help="photos in flight at once")
    parser.add_argument("--region", help="plate region hint for every photo, e.g. US")
    parser.add_argument("--quiet", action="store_true", help="no per-photo table")
    parser.add_argument(
        "--startup",
        action="store_true",
        help="measure every function's cold start (import, model load) and package size",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="with --startup: fresh processes per function"
    )
    parser.add_argument(
        "--layer",
        type=Path,
        help="with --startup: import the zip functions against this installed layer only "
        "(pip install --target DIR -r infra/requirements-lambda.txt -c requirements.txt)",
    )


def main(args: argparse.Namespace) -> int:
    if args.startup:
        from platescan.tools import startup

        return startup.run(repeat=max(1, args.repeat), layer=args.layer)
    if args.dataset is None or not args.dataset.is_dir():
        print(f"error: {args.dataset} is not a folder of labelled photos", file=sys.stderr)
        return 2
    photos = list(benchmark.iter_dataset(args.dataset, limit=args.limit))
    if not photos:
        print(f"error: no labelled photos in {args.dataset}", file=sys.stderr)
        return 2
    from platescan.local.runtime import LocalConfig, LocalStack

    with LocalStack(LocalConfig(engine="onnx", retry_time_scale=0.1)) as stack:
        workers = warm_up(stack)
        timer = HandlerTimer(stack.registry.handlers)
        load_before = _load_1m()
        cpu_before = _cpu_s()
        models_before = _models_cpu_s()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, args.concurrency)) as pool:
            results = list(pool.map(lambda p: run_one(stack, p, args.region), photos))
        wall = time.perf_counter() - started
        cpu = _cpu_s() - cpu_before
        models_cpu = {
            name: seconds - models_before.get(name, 0.0)
            for name, seconds in _models_cpu_s().items()
        }
        timer.remove()
    if not args.quiet:
        print_table(results)
    if args.errors:
        benchmark.write_error_crops(results, args.errors)
    summary = benchmark.score(results)
    labels = args.dataset / "regions.json"
    regions = json.loads(labels.read_text()) if labels.is_file() else None
    summary["calibration_by_region"] = benchmark.calibration_by_region(results, regions)
    summary.update(pipeline_numbers(results, wall, args.concurrency))
    summary.update(
        machine_numbers(
            photos=len(results),
            cpu_s=cpu,
            wall_s=wall,
            load_1m=(load_before, _load_1m()),
            ocr_workers=workers,
        )
    )
    summary.update(timer.summary(len(results)))
    summary["model_cpu_s_per_photo"] = {
        name: round(seconds / len(results), 3) for name, seconds in sorted(models_cpu.items())
    }
    print(json.dumps(summary))
    return 0


def warm_up(stack: LocalStack) -> int:
    """Load the OCR models before the clock starts: a warm Lambda container has them.

    Returns the OCR pool's size.
    """
    from platescan.engines.onnx import get_pool

    pool = get_pool()
    pool.warm_up()
    stack.wait_for(stack.put_photo(_warm_up_photo(), "warm-up.jpg"), timeout=120)
    return int(pool.workers)


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
    record = wait_final(stack, upload_id, timeout=300)
    latency = time.perf_counter() - started
    return benchmark.PhotoResult(
        photo,
        record.get("plates", []),
        latency,
        int(record.get("width", 0)),
        int(record.get("height", 0)),
        str(record["status"]),
        {
            "timings_ms": record.get("timings_ms", {}),
            "error": record.get("error"),
            # What DynamoDB bills write units on (1 KB each); JSON is close to the item size.
            "record_bytes": len(json.dumps(record, default=str)),
        },
    )


def wait_final(stack: LocalStack, upload_id: str, timeout: float) -> dict[str, Any]:
    """The upload's record once final, looked up only after some handler has finished.

    Polling DynamoDB on a timer (moto, in-process) takes the GIL from the executions being
    measured; a record can only change when a handler returns, which bumps the registry.
    """
    registry = stack.registry
    deadline = time.monotonic() + timeout
    while True:
        seen = registry.generation  # read before looking, so no change slips in between
        record = stack.record(upload_id)
        if record and record.get("status") in records.FINAL_STATUSES:
            return dict(record)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            status = record.get("status") if record else "no record"
            raise TimeoutError(f"upload {upload_id} not finished after {timeout:.0f}s ({status})")
        registry.wait_change(seen, timeout=min(remaining, 1.0))


class HandlerTimer:
    """Times every call of the local stack's handlers (by Lambda function name).

    The durations are those of the handler in-process, Powertools decorators included: what
    Lambda would bill for a warm invocation, less the network time to S3 and DynamoDB.
    """

    def __init__(self, handlers: dict[str, Callable[..., Any]]) -> None:
        self._handlers = handlers
        self._originals = dict(handlers)
        self._lock = threading.Lock()
        self.durations: dict[str, list[float]] = {}
        for name, handler in self._originals.items():
            handlers[name] = self._timed(_function_key(name), handler)

    def _timed(self, key: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def timed(event: Any, context: Any) -> Any:
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                elapsed = time.perf_counter() - started
                with self._lock:
                    self.durations.setdefault(key, []).append(elapsed)

        return timed

    def remove(self) -> None:
        self._handlers.update(self._originals)

    def summary(self, photos: int) -> dict[str, Any]:
        return {
            "handler_p50_s": {
                key: round(statistics.median(values), 4)
                for key, values in sorted(self.durations.items())
            },
            "invocations_per_photo": {
                key: round(len(values) / photos, 3)
                for key, values in sorted(self.durations.items())
            },
        }


def _function_key(function_name: str) -> str:
    """`platescan-read-metadata` -> `read_metadata`: the names of functions/ and timings."""
    return function_name.removeprefix("platescan-").replace("-", "_")


def _models_cpu_s() -> dict[str, float]:
    """CPU seconds the OCR pool's models have spent so far, by model."""
    from platescan.engines.onnx import get_pool

    return get_pool().cpu_seconds()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load_1m() -> float:
    return round(os.getloadavg()[0], 2)


def machine_numbers(
    *,
    photos: int,
    cpu_s: float,
    wall_s: float,
    load_1m: tuple[float, float],
    ocr_workers: int,
) -> dict[str, Any]:
    """What the run took from the machine, and how busy the machine was anyway."""
    cpus = os.cpu_count() or 1
    per_photo = cpu_s / photos if photos else 0.0
    return {
        "wall_s": round(wall_s, 2),
        "cpu_s_per_photo": round(per_photo, 3),
        # If this process had every core to itself: a ceiling, not a measurement.
        "photos_per_s_cpu_bound": round(cpus / per_photo, 2) if per_photo else None,
        "cpus": cpus,
        "ocr_workers": ocr_workers,
        "load_1m": {"start": load_1m[0], "end": load_1m[1]},
    }


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
        "record_bytes_p50": int(statistics.median(r.extra.get("record_bytes", 0) for r in results)),
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
