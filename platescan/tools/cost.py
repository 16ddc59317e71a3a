"""`python -m platescan cost --engine rekognition|onnx`: what 1,000 photos cost on AWS.

The estimate is built from three kinds of input, kept apart so each can be checked:

- **prices**: AWS list prices, with the date they were taken and where from, in
  `platescan/tools/prices.json` (the only place prices live);
- **the project itself**: state transitions and pipeline invocations per photo are counted
  on the happy path of `statemachine/plate_pipeline.asl.json`; memory sizes, retention, the
  Lambda architecture, X-Ray sampling and the table class come from `Pulumi.<stack>.yaml`, as
  the stack deploys them;
- **measured durations**: each handler's median warm duration from a bench run
  (`--from-bench FILE` takes the bench's JSON line; the default is the run recorded in
  `prices.json` with its date and load), and cold-start times from `bench --startup`;
  plus the usage assumptions that no local measurement can give (photo size, API polls,
  Rekognition's latency), named in `prices.json`.

Lambda time on AWS is not the local time: a function gets CPU in proportion to its memory
(one vCPU at 1,769 MB), so a handler measured on one local core takes `1769 / memory` times
as long below that size. Every measured duration is scaled so, as if all of it were CPU
work (the safe side), and a network round trip is added for each AWS call, which the
in-process local stack does not make. The durations were measured on x86_64; on arm64
(Graviton) they are taken as they are, which the price per GB-second then makes about 20%
cheaper: an assumption until a deployed stack's REPORT lines say otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

from infra.config import Architecture, StackConfig, load_file
from platescan.asl import DEFINITION_PATH
from platescan.contract import ENGINES

REPO_ROOT = Path(__file__).resolve().parents[2]
PRICES_PATH = Path(__file__).with_name("prices.json")
MB_PER_VCPU = 1769  # Lambda: one vCPU's worth of CPU per 1,769 MB of memory
MAX_TRANSITIONS = 6  # the happy path's budget: every state entered is billed
SECONDS_PER_MONTH = 30 * 86400
ARCHITECTURES = get_args(Architecture)
LAMBDA_PRICE_KEYS = {"arm64": "lambda_arm64_per_gb_second", "x86_64": "lambda_x86_per_gb_second"}
# The breakdown's services, in the order the table prints them.
SERVICES = (
    "rekognition",
    "step_functions",
    "lambda_compute",
    "lambda_requests",
    "dynamodb",
    "s3_requests",
    "s3_storage",
    "api_gateway",
    "cloudfront",
    "cloudwatch_logs",
    "xray",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default="onnx")
    parser.add_argument(
        "--photos", type=int, default=1000, help="photos a month (X-Ray sampling depends on it)"
    )
    parser.add_argument(
        "--stack", default="prod", help="read memory and retention from Pulumi.STACK.yaml"
    )
    parser.add_argument(
        "--from-bench",
        type=Path,
        help="a file whose last JSON line is `platescan bench` output: use its durations",
    )
    parser.add_argument(
        "--memory",
        action="append",
        default=[],
        metavar="FUNCTION=MB",
        help="override one function's memory, e.g. detect_text=1769 (repeatable)",
    )
    parser.add_argument("--photo-mb", type=float, help="size of a photo (default in prices.json)")
    parser.add_argument(
        "--architecture", choices=ARCHITECTURES, help="override the stack's Lambda architecture"
    )
    parser.add_argument(
        "--upload-retention-days", type=int, help="override how long the stack keeps photos"
    )


# -- inputs ------------------------------------------------------------------------------


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    """prices.json: `prices`, `usage` assumptions and the `measured` defaults."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def happy_path(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The states an execution enters when nothing fails: StartAt, then `Next` until `End`.

    Catches lead off the happy path and are not followed; a Choice follows its Default.
    Step Functions Standard bills one transition per state entered.
    """
    states = definition["States"]
    path: list[dict[str, Any]] = []
    name: str | None = definition["StartAt"]
    while name is not None:
        if len(path) > len(states):
            raise ValueError("the happy path loops; it cannot be priced per photo")
        state = states[name]
        path.append({"name": name, **state})
        if state.get("End") or state.get("Type") in ("Succeed", "Fail"):
            break
        name = state.get("Next") or state.get("Default")
    return path


def function_of(resource: str) -> str | None:
    """`${ReadMetadataFunctionArn}` -> `read_metadata` (the function folder's name)."""
    found = re.fullmatch(r"\$\{([A-Za-z0-9]+)FunctionArn\}", resource or "")
    if not found:
        return None
    return re.sub(r"(?<!^)(?=[A-Z])", "_", found.group(1)).lower()


def pipeline_invocations(path: list[dict[str, Any]]) -> dict[str, int]:
    """Lambda invocations per photo by function, from the happy path's Tasks."""
    counts: dict[str, int] = {}
    for state in path:
        function = function_of(str(state.get("Resource", ""))) if state["Type"] == "Task" else None
        if function:
            counts[function] = counts.get(function, 0) + 1
    return counts


def load_stack(name: str, root: Path = REPO_ROOT) -> StackConfig:
    """The stack's settings from `Pulumi.<name>.yaml`, read and checked as `pulumi up` does."""
    return load_file(name, root)


def bench_line(path: Path) -> dict[str, Any]:
    """The last line of a file that is a JSON object with durations (bench's output)."""
    for line in reversed(path.read_text(encoding="utf-8").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            data = json.loads(line)
            if "handler_p50_s" in data or "stage_p50_s" in data:
                return dict(data)
    raise ValueError(f"{path} has no bench JSON line (with handler_p50_s or stage_p50_s)")


def durations_from_bench(line: dict[str, Any], defaults: dict[str, float]) -> dict[str, float]:
    """Warm durations by function: the handlers' medians, else the stages', else defaults.

    Older bench lines only have `stage_p50_s` (no write_result); defaults fill the gaps.
    """
    found = dict(defaults)
    found.update({k: float(v) for k, v in (line.get("stage_p50_s") or {}).items()})
    found.update({k: float(v) for k, v in (line.get("handler_p50_s") or {}).items()})
    return found


# -- the model ---------------------------------------------------------------------------


def cpu_factor(memory_mb: int) -> float:
    """How much longer CPU work takes with `memory_mb` than on one full core."""
    return max(1.0, MB_PER_VCPU / memory_mb)


def xray_sampled(requests_per_s: float, reservoir: int = 1, rate: float = 0.05) -> float:
    """Fraction of requests a sampling rule records: `reservoir` a second, then `rate` of the
    rest. The defaults are X-Ray's default rule (1 a second and 5%), which is also Lambda's
    fixed rate for requests that arrive with no sampling decision."""
    if requests_per_s <= reservoir:
        return 1.0 if reservoir > 0 else rate
    return (reservoir + rate * (requests_per_s - reservoir)) / requests_per_s


@dataclass
class Estimate:
    """Cost per 1,000 photos by service, and how each number came about."""

    engine: str
    photos: int
    breakdown: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def usd_per_1000(self) -> float:
        return sum(self.breakdown.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "usd_per_1000": round(self.usd_per_1000, 4),
            "breakdown": {k: round(v, 4) for k, v in self.breakdown.items()},
            "photos": self.photos,
            "usd_for_photos": round(self.usd_per_1000 * self.photos / 1000, 4),
            **self.details,
        }


def estimate(
    engine: str,
    *,
    photos: int,
    stack: StackConfig,
    prices: dict[str, Any],
    durations_s: dict[str, float],
    cold_start_s: dict[str, float],
    definition: dict[str, Any],
    record_bytes: int | None = None,
    photo_mb: float | None = None,
) -> Estimate:
    """The cost of `photos` photos a month with `engine`, per 1,000 photos."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    price, usage = prices["prices"], prices["usage"]
    photo_mb = usage["photo_mb"] if photo_mb is None else photo_mb
    record_bytes = record_bytes or usage["record_bytes"]
    record_kb = math.ceil(record_bytes / 1024)  # write units are per started KB
    path = happy_path(definition)
    transitions = len(path)
    invocations: dict[str, float] = {**pipeline_invocations(path)}
    invocations["api"] = float(usage["api_requests_per_photo"])

    # Lambda: billed seconds per invocation, warm, plus a share of a billed cold start.
    seconds: dict[str, float] = {}
    gb_seconds = 0.0
    for function, count in invocations.items():
        memory = stack.memory_for(function)
        if function == "detect_text" and engine == "rekognition":
            warm = float(usage["rekognition_detect_text_s"])  # waiting, not computing
            cold_key = "detect_text[rekognition]"
        else:
            local = durations_s.get(function, usage["api_handler_s"] if function == "api" else 0.0)
            calls = int(usage["aws_calls"].get(function, 0))
            warm = local * cpu_factor(memory) + calls * float(usage["aws_call_s"])
            cold_key = "detect_text[onnx]" if function == "detect_text" else function
        init = cold_start_s.get(cold_key, 0.0) * cpu_factor(memory)
        billed = warm + float(usage["cold_start_fraction"]) * init
        seconds[function] = round(billed, 4)
        gb_seconds += count * billed * memory / 1024

    lambda_requests = sum(invocations.values())
    writes = 1 + 2 * record_kb  # PROCESSING item; final item; its by_plate index entry
    reads = usage["api_requests_per_photo"] * usage["dynamodb_reads_per_api_request"]
    months_kept = stack.record_retention_days / 30
    # Stored in the table and again in the by_plate index, 100 bytes of overhead each;
    # point-in-time recovery (on in every stack) bills the table's copy only.
    record_gb_months = 2 * (record_bytes + 100) / 1024**3 * months_kept
    backup_gb_months = record_gb_months / 2
    ddb = "dynamodb_ia" if stack.table_class == "STANDARD_INFREQUENT_ACCESS" else "dynamodb"
    photo_gb_months = photo_mb / 1024 * stack.upload_retention_days / 30
    site_requests = usage["site_visits_per_photo"] * usage["site_requests_per_visit"]
    site_gb = usage["site_visits_per_photo"] * usage["site_kb_per_visit"] / 1024 / 1024
    photos_per_s = photos / SECONDS_PER_MONTH
    api_per_s = photos_per_s * usage["api_requests_per_photo"]
    # Step Functions starts each execution's trace under the stack's sampling rule, and its
    # Lambda tasks follow that decision; the API function (behind an HTTP API, which X-Ray
    # does not trace) is sampled by Lambda at its fixed rate, or not traced at all.
    pipeline_traces = xray_sampled(
        photos_per_s, stack.tracing.reservoir_per_s, stack.tracing.fixed_rate
    )
    api_traces = (
        usage["api_requests_per_photo"] * xray_sampled(api_per_s) if stack.tracing.api else 0
    )
    traces = pipeline_traces + api_traces
    log_gb = lambda_requests * usage["log_bytes_per_invocation"] / 1e9

    per_photo = {
        "rekognition": price["rekognition_detect_text_per_image"] if engine == "rekognition" else 0,
        "step_functions": transitions * price["step_functions_standard_per_transition"],
        "lambda_compute": gb_seconds * price[LAMBDA_PRICE_KEYS[stack.architecture]],
        "lambda_requests": lambda_requests * price["lambda_per_request"],
        "dynamodb": writes * price[f"{ddb}_on_demand_per_write_unit"]
        + reads * price[f"{ddb}_on_demand_per_read_unit"]
        + record_gb_months * price[f"{ddb}_storage_per_gb_month"]
        + backup_gb_months * price["dynamodb_pitr_per_gb_month"],
        "s3_requests": usage["s3_puts_per_photo"] * price["s3_standard_per_put"]
        + usage["s3_gets_per_photo"] * price["s3_standard_per_get"],
        "s3_storage": photo_gb_months * price["s3_standard_per_gb_month"],
        "api_gateway": usage["api_requests_per_photo"] * price["http_api_per_request"],
        "cloudfront": site_requests * price["cloudfront_per_https_request"]
        + site_gb * price["cloudfront_per_gb_out"],
        "cloudwatch_logs": log_gb * price["cloudwatch_logs_per_gb_ingested"],
        "xray": traces * price["xray_per_trace_recorded"],
    }
    breakdown = {service: per_photo[service] * 1000 for service in SERVICES}
    fixed = (
        usage["alarms"] * price["cloudwatch_alarm_per_month"]
        + usage["kms_keys"] * price["kms_key_per_month"]
    )
    if engine == "onnx":
        fixed += usage["images_kept"] * usage["image_gb"] * price["ecr_per_gb_month"]
    details = {
        "per_photo": {
            "state_transitions": transitions,
            "transitions_within_limit": transitions <= MAX_TRANSITIONS,
            "lambda_invocations": invocations,
            "lambda_billed_s": seconds,
            "lambda_gb_s": round(gb_seconds, 4),
            "memory_mb": {f: stack.memory_for(f) for f in invocations},
            "architecture": stack.architecture,
            "xray_traces": round(traces, 4),
            "dynamodb_write_units": writes,
            "photo_mb": photo_mb,
            "upload_retention_days": stack.upload_retention_days,
            "table_class": stack.table_class,
        },
        "fixed_usd_per_month": round(fixed, 2),
        "stack": stack.stack,
        "prices_taken": prices["prices"]["taken"],
    }
    return Estimate(engine, photos, breakdown, details)


# -- the command -------------------------------------------------------------------------


def _overrides(stack: StackConfig, args: argparse.Namespace) -> StackConfig:
    """The stack with the command line's --memory, --architecture and retention applied."""
    memory = dict(stack.memory_mb)
    for item in args.memory:
        function, _, size = item.partition("=")
        if not size.isdigit() or not 128 <= int(size) <= 10240:
            raise ValueError(f"--memory expects FUNCTION=MB with 128-10240 MB; got {item!r}")
        memory[function.strip()] = int(size)
    stack = replace(stack, memory_mb=memory)
    if args.architecture:
        stack = replace(stack, architecture=args.architecture)
    if args.upload_retention_days is not None:
        if args.upload_retention_days <= 0:
            raise ValueError("--upload-retention-days must be a positive number of days")
        stack = replace(stack, upload_retention_days=args.upload_retention_days)
    return stack


def format_table(result: Estimate) -> str:
    lines = [f"{'per 1,000 photos':<20} {result.engine:>10}"]
    for service, usd in result.breakdown.items():
        lines.append(f"{service:<20} {f'${usd:.4f}':>10}")
    lines.append(f"{'total':<20} {f'${result.usd_per_1000:.3f}':>10}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    prices = load_prices()
    measured = prices["measured"]
    try:
        stack = _overrides(load_stack(args.stack), args)
        if args.from_bench:
            line = bench_line(args.from_bench)
            source = f"bench line in {args.from_bench}"
        else:
            line = measured
            source = f"prices.json measured {measured['date']} ({measured['command']})"
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    durations = durations_from_bench(line, measured["handler_p50_s"])
    result = estimate(
        args.engine,
        photos=args.photos,
        stack=stack,
        prices=prices,
        durations_s=durations,
        cold_start_s=measured["cold_start_s"],
        definition=json.loads(DEFINITION_PATH.read_text(encoding="utf-8")),
        record_bytes=line.get("record_bytes_p50"),
        photo_mb=args.photo_mb,
    )
    result.details["durations_from"] = source
    print(format_table(result))
    print(f"prices as of {prices['prices']['taken']}: {prices['prices']['source']}")
    print(json.dumps(result.as_json()))
    return 0
