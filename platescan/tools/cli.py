"""Command line: run photos through the local pipeline, serve it, measure it.

python -m platescan recognize PHOTO...   one JSON record per photo (or --table)
python -m platescan serve [--port 8000]  website + API + pipeline on one port
python -m platescan bench DIR            plate-reading benchmark through the pipeline
python -m platescan synth DIR            write a synthetic European/Brazilian plate set for bench
python -m platescan users add EMAIL      invite a user (on AWS, or to the running local service)
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import mimetypes
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from platescan import records
from platescan.contract import ENGINES

# Commands that live in their own module: each has add_arguments(parser) and main(args).
TOOLS = {
    "bench": ("platescan.tools.bench", "plate-reading benchmark through the local pipeline"),
    "cost": ("platescan.tools.cost", "cost per 1,000 photos on AWS, by service, for an engine"),
    "redrive": (
        "platescan.tools.redrive",
        "redrive failed pipeline executions (AWS, or --local demo)",
    ),
    "load": ("platescan.tools.load", "push N uploads through the local stack; lost must be 0"),
    "users": ("platescan.tools.users", "invite a user to the stack's user pool (AWS, or --local)"),
    "export-labels": (
        "platescan.tools.export_labels",
        "write corrected photos and their plates in the benchmark's layout",
    ),
    "synth": (
        "platescan.tools.synthetic",
        "write a synthetic European/Brazilian plate set for the benchmark",
    ),
    "preflight": (
        "platescan.tools.preflight",
        "check before `pulumi up` what a stack's deploy needs, and say what to fix",
    ),
    "replay-dlq": (
        "platescan.tools.replay_dlq",
        "put dead-lettered events back: into the pipeline, mark_failed or the event bus",
    ),
}


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; given the command about to run, only that tool's module is imported.

    The deploy commands (preflight, replay-dlq) run in the small deploy environment, which
    lacks what the benchmark tools import (numpy, Pillow); listing every command in --help
    imports them all.
    """
    parser = argparse.ArgumentParser(prog="python -m platescan", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the pipeline does")
    sub = parser.add_subparsers(dest="command", required=True)

    rec = sub.add_parser("recognize", help="read the plates on photos through the local pipeline")
    rec.add_argument("photos", nargs="+", type=Path, help="JPEG or PNG files")
    rec.add_argument("--table", action="store_true", help="print a table instead of JSON lines")
    rec.add_argument("--region", help="plate region hint, e.g. US, DE, BR")
    rec.add_argument("--engine", choices=ENGINES, default="onnx")
    rec.add_argument("--timeout", type=float, default=300.0, help="seconds to wait per photo")

    srv = sub.add_parser("serve", help="serve the website, API and pipeline locally")
    srv.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    srv.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    srv.add_argument("--engine", choices=ENGINES, default="onnx")
    srv.add_argument(
        "--data",
        metavar="DIR",
        help="keep photos and records in DIR across restarts (make run: .data); "
        "without it everything is forgotten when the server stops",
    )
    srv.add_argument("--reset", action="store_true", help="with --data: start from an empty DIR")

    for name, (module, help_text) in TOOLS.items():
        tool = sub.add_parser(name, help=help_text)
        if command is None or command == name:
            try:
                importlib.import_module(module).add_arguments(tool)
            except ImportError:
                # --help in the deploy environment lists every command; the ones that need
                # the development environment fail with their import error when run.
                if command == name:
                    raise
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = next((w for w in words if not w.startswith("-")), None)
    args = _parser(command if command in TOOLS else None).parse_args(words)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "recognize":
        return recognize(
            args.photos,
            table=args.table,
            region=args.region,
            engine=args.engine,
            timeout=args.timeout,
        )
    if args.command == "serve":
        from platescan.local.server import serve

        if args.reset and not args.data:
            print("--reset empties the folder given with --data; give one", file=sys.stderr)
            return 2
        serve(args.host, args.port, args.engine, args.data, args.reset)
        return 0
    if args.command in TOOLS:
        return int(importlib.import_module(TOOLS[args.command][0]).main(args))
    return 2


def recognize(
    photos: list[Path],
    *,
    table: bool = False,
    region: str | None = None,
    engine: str = "onnx",
    timeout: float = 300.0,
    out: TextIO | None = None,
) -> int:
    """Upload every photo to the local stack, wait for each record, print it."""
    out = out or sys.stdout
    from platescan.local.runtime import LocalConfig, LocalStack

    missing = [str(p) for p in photos if not p.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    failed = False
    rows: list[dict[str, Any]] = []
    with LocalStack(LocalConfig(engine=engine, retry_time_scale=0.1)) as stack:
        ids = []
        for photo in photos:
            content_type = mimetypes.guess_type(photo.name)[0] or "application/octet-stream"
            ids.append(
                stack.put_photo(
                    photo.read_bytes(), photo.name, content_type=content_type, region=region
                )
            )
        progress = Progress(len(photos)) if len(photos) > 1 else None
        for photo, upload_id in zip(photos, ids, strict=True):
            try:
                record = stack.wait_for(upload_id, timeout=timeout)
            except TimeoutError as exc:
                record = {
                    "upload_id": upload_id,
                    "status": records.FAILED,
                    "error": {"type": "Timeout", "message": str(exc)},
                }
            record = {"photo": str(photo), **records.public_record(record)}
            failed |= record["status"] == records.FAILED
            if progress:
                progress.advance(photo.name)
            if table:
                rows.append(record)
            else:
                print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
        if progress:
            progress.close()
    if table:
        print(format_table(rows), file=out)
    return 1 if failed else 0


def format_table(rows: list[dict[str, Any]]) -> str:
    """A table a person can read: photo, status, plate, confidence, region, box or reason."""
    lines = [("PHOTO", "STATUS", "PLATE", "CONF", "REGION", "BOX / REASON")]
    for row in rows:
        plates = row.get("plates") or [{}]
        for i, plate in enumerate(plates):
            box = plate.get("box")
            where = (
                "x={left:.2f} y={top:.2f} w={width:.2f} h={height:.2f}".format(**box) if box else ""
            )
            detail = where or (row.get("error") or {}).get("message", "")
            lines.append(
                (
                    Path(row["photo"]).name if i == 0 else "",
                    row["status"] if i == 0 else "",
                    plate.get("text", "-"),
                    f"{plate['confidence']:.0%}" if "confidence" in plate else "",
                    plate.get("format") or plate.get("region") or "",
                    detail,
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line[:5])) + "  " + line[5]
        for line in lines
    )


class Progress:
    """A one-line progress bar on stderr (stdout stays machine-readable)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total, self.done, self.stream = total, 0, stream or sys.stderr

    def advance(self, label: str = "") -> None:
        self.done += 1
        filled = int(30 * self.done / self.total)
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
