"""`python -m platescan load --photos N`: push N uploads through the local stack at once.

Uploads are put into the local bucket as fast as it accepts them (`--concurrency` threads
putting), so every one travels S3 -> EventBridge -> Step Functions -> handlers -> DynamoDB
while the others do. The photos are a small set of distinct rendered plate photos (sizes,
formats, plate styles and positions vary), reused. Then the tool waits until every upload
has a final record or the deadline passes, and prints, as its last line, one JSON object:
`accepted`, a count per final status, `lost` (uploads without a final record by the
deadline: must be 0), throughput, latency percentiles (put -> final record), and memory:
peak RSS, RSS at points along the run, and growth per photo, so a leak shows as a number.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from platescan import aws, records
from platescan.contract import ENGINES

DISTINCT_PHOTOS = 12
# (plate text, region) pairs in formats the validator knows; varied on purpose.
PLATES = (
    ("7ABC123", "US"),
    ("8XYZ789", "US"),
    ("KMH4521", "US"),
    ("6TRJ244", "US"),
    ("AB12CDE", "UK"),
    ("LR69ZZK", "UK"),
)
_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
)
_SIZES = ((1280, 720), (1024, 768), (1600, 900), (960, 720))
_BODIES = ((40, 60, 110), (120, 30, 30), (30, 90, 50), (200, 200, 205))


def _font(index: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(_FONTS[index % len(_FONTS)], size)
    except OSError:
        return ImageFont.load_default(size=size)


def plate_of(index: int) -> str:
    return PLATES[index % len(PLATES)][0]


def render_photo(index: int) -> bytes:
    """Distinct photo number `index`: a car-coloured block with a plate, JPEG or PNG."""
    width, height = _SIZES[index % len(_SIZES)]
    img = Image.new("RGB", (width, height), (80 + 7 * index % 60, 92, 100))
    draw = ImageDraw.Draw(img)
    body = _BODIES[index % len(_BODIES)]
    draw.rectangle(
        (int(width * 0.12), int(height * 0.3), int(width * 0.88), height - 20), fill=body
    )
    plate_w, plate_h = int(width * 0.26), int(height * 0.12)
    left = int(width * (0.30 + 0.03 * (index % 5)))
    top = int(height * (0.58 + 0.02 * (index % 4)))
    draw.rectangle(
        (left, top, left + plate_w, top + plate_h), fill="white", outline="black", width=3
    )
    draw.text(
        (left + plate_w / 2, top + plate_h / 2),
        plate_of(index),
        fill="black",
        font=_font(index, int(plate_h * 0.6)),
        anchor="mm",
    )
    out = io.BytesIO()
    if index % 4 == 3:
        img.save(out, "PNG")
    else:
        img.save(out, "JPEG", quality=85 + index % 10)
    return out.getvalue()


def _content_type(data: bytes) -> str:
    return "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"


def rss_mb() -> float:
    """Resident set size of this process now, in MB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


@dataclass
class Upload:
    upload_id: str
    photo: int
    put_at: float  # epoch seconds, comparable with the record's ISO timestamps
    status: str | None = None
    finished_at: float | None = None
    plates: list[str] = field(default_factory=list)


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _final_records(table: str) -> dict[str, dict[str, Any]]:
    """Every record with a final status, from one paginated scan (cheaper than N reads)."""
    found: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {
        "ProjectionExpression": "upload_id, #s, processed_at, updated_at, plate_texts",
        "ExpressionAttributeNames": {"#s": "status"},
    }
    table_resource = aws.table(table)
    while True:
        page = table_resource.scan(**kwargs)
        for item in page.get("Items", []):
            if item.get("status") in records.FINAL_STATUSES:
                found[str(item["upload_id"])] = item
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 3)


def run_load(
    photos: int,
    *,
    concurrency: int = 8,
    engine: str = "onnx",
    timeout_s: float = 900.0,
    retry_time_scale: float = 0.05,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the load on a fresh local stack; the summary as a dict (see the module docstring)."""
    from platescan.local.runtime import LocalConfig, LocalStack

    rendered = [render_photo(i) for i in range(min(DISTINCT_PHOTOS, max(photos, 1)))]
    rss_points: dict[str, float] = {"start": round(rss_mb(), 1)}
    with LocalStack(LocalConfig(engine=engine, retry_time_scale=retry_time_scale)) as stack:
        _warm_up(stack, engine, rendered[0])
        rss_points["warm"] = round(rss_mb(), 1)
        uploads: list[Upload] = []
        refused: list[str] = []
        lock = threading.Lock()

        def put(index: int) -> None:
            data = rendered[index % len(rendered)]
            put_at = time.time()
            try:
                upload_id = stack.put_photo(
                    data, f"load {index:05d}.jpg", content_type=_content_type(data)
                )
            except Exception as exc:  # a refused put is a result of the load, not a crash
                with lock:
                    refused.append(f"{type(exc).__name__}: {exc}")
                return
            with lock:
                uploads.append(Upload(upload_id, index % len(rendered), put_at))

        started = time.time()
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            list(pool.map(put, range(photos)))
        accepted_s = time.time() - started

        pending = {u.upload_id: u for u in uploads}
        marks = {round(photos * f): f"{int(f * 100)}%" for f in (0.25, 0.5, 0.75)}
        deadline = time.monotonic() + timeout_s
        done = 0
        while pending and time.monotonic() < deadline:
            # Wake on pipeline activity rather than spinning: polling steals the GIL.
            stack.registry.wait_change(stack.registry.generation, timeout=1.0)
            time.sleep(0.25)
            for upload_id, item in _final_records(stack.config.table).items():
                upload = pending.pop(upload_id, None)
                if upload is None:
                    continue
                upload.status = str(item["status"])
                finished = _epoch(item.get("processed_at")) or _epoch(item.get("updated_at"))
                upload.finished_at = finished or time.time()
                upload.plates = [str(p) for p in item.get("plate_texts", [])]
                done += 1
                if done in marks:
                    rss_points[marks.pop(done)] = round(rss_mb(), 1)
            if progress:
                print(f"\r{done}/{len(uploads)} final", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        rss_points["end"] = round(rss_mb(), 1)
        executions = stack.executions()
        history_mb = _history_mb(executions)

    return _summary(
        photos=photos,
        uploads=uploads,
        refused=refused,
        started=started,
        accepted_s=accepted_s,
        rss_points=rss_points,
        engine=engine,
        concurrency=concurrency,
        executions_kept=len(executions),
        history_mb=history_mb,
    )


def _history_mb(executions: list[dict[str, Any]]) -> float:
    """What the executions' histories weigh as JSON: moto keeps them all, in memory."""
    sfn = aws.client("stepfunctions")
    total = 0
    for execution in executions:
        pages = sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution["executionArn"]
        )
        total += sum(len(json.dumps(page["events"], default=str)) for page in pages)
    return round(total / 1_048_576, 1)


def _warm_up(stack: Any, engine: str, photo: bytes) -> None:
    """Models loaded and code paths imported before the clock starts (a warm container)."""
    if engine == "onnx":
        from platescan.engines.onnx import get_pool

        get_pool().warm_up()
    stack.wait_for(stack.put_photo(photo, "warm-up.jpg", content_type=_content_type(photo)), 300)


def _summary(
    *,
    photos: int,
    uploads: list[Upload],
    refused: list[str],
    started: float,
    accepted_s: float,
    rss_points: dict[str, float],
    engine: str,
    concurrency: int,
    executions_kept: int,
    history_mb: float,
) -> dict[str, Any]:
    finished = [u for u in uploads if u.status]
    latencies = [max(0.0, (u.finished_at or u.put_at) - u.put_at) for u in finished]
    last = max((u.finished_at or started for u in finished), default=started)
    statuses = {s: sum(u.status == s for u in finished) for s in sorted(records.FINAL_STATUSES)}
    growth = rss_points["end"] - rss_points["warm"]
    return {
        "photos": photos,
        "engine": engine,
        "concurrency": concurrency,
        "accepted": len(uploads),
        "refused": len(refused),
        **statuses,
        "lost": len(uploads) - len(finished),
        "read_as_rendered": sum(
            bool(u.plates) and u.plates[0] == plate_of(u.photo) for u in finished
        ),
        "accept_s": round(accepted_s, 3),
        "wall_s": round(last - started, 3),
        "photos_per_s": round(len(finished) / (last - started), 3) if finished else 0.0,
        "p50_s": _percentile(latencies, 50),
        "p95_s": _percentile(latencies, 95),
        "max_s": round(max(latencies), 3) if latencies else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_mb": rss_points,
        "rss_growth_mb": round(growth, 1),
        "rss_growth_kb_per_photo": round(growth * 1024 / max(photos, 1), 1),
        "executions_kept": executions_kept,
        "history_mb": history_mb,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Push N rendered plate photos through the local stack as fast as it accepts them; "
        "the last line is a JSON summary (accepted, statuses, lost, throughput, latency, RSS)."
    )
    parser.add_argument("--photos", type=int, default=300, help="uploads to push (default 300)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="threads putting uploads (default 8)"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="onnx",
        help="text detector: onnx (real OCR) or rekognition (moto's canned answer, fast)",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds to wait for final records"
    )


def main(args: argparse.Namespace) -> int:
    if args.photos < 1 or args.concurrency < 1:
        print("error: --photos and --concurrency must be at least 1", file=sys.stderr)
        return 2
    # Powertools' Metrics flushes a metric's values to stdout once 100 pile up, which happens
    # when many handlers share one module-level Metrics at once (never in one Lambda
    # container): keep stdout for the summary.
    with contextlib.redirect_stdout(sys.stderr):
        summary = run_load(
            args.photos,
            concurrency=args.concurrency,
            engine=args.engine,
            timeout_s=args.timeout,
            progress=sys.stderr.isatty(),
        )
    print(json.dumps(summary), flush=True)
    return 0 if summary["lost"] == 0 and summary["refused"] == 0 else 1
