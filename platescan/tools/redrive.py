"""`python -m platescan redrive`: find the pipeline's unsuccessful executions and redrive them.

An execution whose retries ran out stops FAILED at the Task that failed (TIMED_OUT or
ABORTED when it was stopped); its record says FAILED. Once the cause is fixed, an operator
redrives: on AWS, `RedriveExecution` resumes each execution at the failed step with its
original input (Step Functions allows it for 14 days, hence the default `--since 14d`).
moto has no redrive, so against the local stack each execution is run again from the start
with the same input, as `<name>-redrive-<n>`; the writes are idempotent, so re-running the
steps that had succeeded leaves the same single record.

One JSON line per execution, then a summary line; the exit status is 0 when every redriven
execution succeeded (or nothing needed it) and 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from platescan import records
from platescan.contract import ENGINES, UNSUCCESSFUL_EXECUTION_STATUSES

Mode = Literal["aws", "rerun"]

DEFAULT_SINCE = "14d"  # Step Functions redrives executions for 14 days after they stop
RERUN_MARK = "-redrive-"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_MAX_NAME = 80  # Step Functions execution names
# How long a report waits for the status-change listener to mark a failed run's record.
MARK_FAILED_SETTLE_S = 15.0


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `7d`, `1w` -> timedelta; a bare number is not accepted (which unit?)."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h, 7d or 1w")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def _duration_arg(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


@dataclass
class Outcome:
    """What happened to one unsuccessful execution; printed as one JSON line."""

    execution_arn: str
    status: str  # the status it was found in: FAILED, TIMED_OUT or ABORTED
    stopped_at: str | None
    upload_id: str | None = None
    error: str | None = None
    action: str = "none"  # redrive | rerun | would-redrive | would-rerun | skipped
    redriven_as: str | None = None  # rerun: the new execution's ARN
    result: str | None = None  # the status the redriven execution ended in
    record_status: str | None = None
    message: str | None = None
    input: str = field(default="", repr=False)

    def to_json(self) -> str:
        data = {k: v for k, v in self.__dict__.items() if v is not None and k != "input"}
        return json.dumps(data, ensure_ascii=False)


def _to_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def _base_name(name: str) -> tuple[str, int]:
    """`abc-redrive-2` -> (`abc`, 2); a name without the mark is attempt 0."""
    base, mark, number = name.rpartition(RERUN_MARK)
    if mark and number.isdigit():
        return base, int(number)
    return name, 0


def _rerun_name(base: str, attempt: int) -> str:
    suffix = f"{RERUN_MARK}{attempt}"
    return base[: _MAX_NAME - len(suffix)] + suffix


def _list(sfn: Any, state_machine_arn: str, status: str | None) -> Iterable[dict[str, Any]]:
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn}
    if status:
        kwargs["statusFilter"] = status
    for page in sfn.get_paginator("list_executions").paginate(**kwargs):
        yield from page["executions"]


def find_unsuccessful(
    sfn: Any, state_machine_arn: str, since: timedelta, mode: Mode, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Executions that stopped FAILED, TIMED_OUT or ABORTED within `since`, oldest first.

    With `rerun`, an execution counts once however often it was re-run: only its latest
    attempt is looked at, and only if that attempt did not succeed (AWS keeps one ARN per
    execution across redrives, so there it is one entry anyway).
    """
    cutoff = (now or datetime.now(UTC)) - since
    if mode == "aws":
        found = [
            e
            for status in UNSUCCESSFUL_EXECUTION_STATUSES
            for e in _list(sfn, state_machine_arn, status)
        ]
    else:
        latest: dict[str, tuple[int, dict[str, Any]]] = {}
        for execution in _list(sfn, state_machine_arn, None):
            base, attempt = _base_name(execution["name"])
            if base not in latest or attempt > latest[base][0]:
                latest[base] = (attempt, execution)
        found = [e for _, e in latest.values() if e["status"] in UNSUCCESSFUL_EXECUTION_STATUSES]

    def stopped(execution: dict[str, Any]) -> datetime:
        when = _to_datetime(execution.get("stopDate")) or _to_datetime(execution.get("startDate"))
        return when or datetime.min.replace(tzinfo=UTC)

    return sorted((e for e in found if stopped(e) >= cutoff), key=stopped)


def _upload_id(execution_input: str) -> str | None:
    try:
        key = json.loads(execution_input)["detail"]["object"]["key"]
    except (ValueError, KeyError, TypeError):
        return None
    return records.upload_id_from_key(str(key))


def _wait(
    sfn: Any,
    execution_arn: str,
    deadline: float,
    sleep: Callable[[float], None],
    redrives_before: int | None = None,
) -> dict[str, Any]:
    delay = 0.05
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        running = described["status"] in ("RUNNING", "PENDING_REDRIVE")
        # A redriven execution keeps its ARN: until its redrive count moves, a FAILED status
        # is still the old attempt's.
        not_yet = (
            redrives_before is not None
            and described["status"] in UNSUCCESSFUL_EXECUTION_STATUSES
            and int(described.get("redriveCount") or 0) <= redrives_before
        )
        if not (running or not_yet) or time.monotonic() > deadline:
            return described
        sleep(delay)
        delay = min(delay * 1.5, 2.0)


def redrive(
    sfn: Any,
    state_machine_arn: str,
    *,
    since: timedelta = timedelta(days=14),
    mode: Mode = "aws",
    dry_run: bool = False,
    wait: bool = True,
    timeout_s: float = 600.0,
    results_table: str | None = None,
    out: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Outcome], dict[str, Any]]:
    """Redrive the unsuccessful executions of `state_machine_arn`; print and return outcomes.

    `sfn` is a Step Functions client: a real account's (`mode="aws"`, RedriveExecution) or
    the local stack's (`mode="rerun"`, StartExecution with the original input). With
    `results_table`, each outcome also says what the upload's record holds afterwards.
    """
    out = out or sys.stdout
    outcomes: list[Outcome] = []

    def record_status(upload_id: str) -> str | None:
        try:
            record = records.get_record(str(results_table), upload_id)
        except (ClientError, BotoCoreError):
            return None
        return record.get("status") if record else None

    def report(outcome: Outcome) -> None:
        if results_table and outcome.upload_id:
            status = record_status(outcome.upload_id)
            # A failed run's record is marked FAILED by the status-change listener, which
            # runs after the execution has ended (an EventBridge delivery away): give it a
            # few seconds rather than report the record as it was before the listener ran.
            settle = time.monotonic() + MARK_FAILED_SETTLE_S
            while (
                outcome.result in UNSUCCESSFUL_EXECUTION_STATUSES
                and status != records.FAILED
                and time.monotonic() < settle
            ):
                sleep(0.2)
                status = record_status(outcome.upload_id)
            outcome.record_status = status
        print(outcome.to_json(), file=out, flush=True)

    found = find_unsuccessful(sfn, state_machine_arn, since, mode)
    deadline = time.monotonic() + timeout_s
    started: list[tuple[Outcome, str, int | None]] = []
    for execution in found:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        outcome = Outcome(
            execution_arn=execution["executionArn"],
            status=execution["status"],
            stopped_at=_iso(_to_datetime(execution.get("stopDate"))),
            upload_id=_upload_id(described.get("input", "")),
            error=described.get("error"),
            input=described.get("input", "{}"),
        )
        outcomes.append(outcome)
        if mode == "aws" and described.get("redriveStatus") == "NOT_REDRIVABLE":
            outcome.action = "skipped"
            outcome.message = described.get("redriveStatusReason") or "not redrivable"
        elif dry_run:
            outcome.action = "would-redrive" if mode == "aws" else "would-rerun"
        else:
            try:
                if mode == "aws":
                    sfn.redrive_execution(executionArn=outcome.execution_arn)
                    outcome.action = "redrive"
                    redrives = int(described.get("redriveCount") or 0)
                    started.append((outcome, outcome.execution_arn, redrives))
                else:
                    base, attempt = _base_name(execution["name"])
                    new = sfn.start_execution(
                        stateMachineArn=state_machine_arn,
                        name=_rerun_name(base, attempt + 1),
                        input=outcome.input,
                    )
                    outcome.action = "rerun"
                    outcome.redriven_as = new["executionArn"]
                    started.append((outcome, new["executionArn"], None))
                continue  # reported once it has run
            except (ClientError, BotoCoreError) as exc:
                outcome.action = "error"
                outcome.message = str(exc)
        report(outcome)

    # Everything is redriven first, then waited for: the executions run side by side.
    for outcome, arn, redrives_before in started:
        if not wait:
            outcome.result = "RUNNING"
        else:
            try:
                described = _wait(sfn, arn, deadline, sleep, redrives_before)
                outcome.result = described["status"]
                if described["status"] in UNSUCCESSFUL_EXECUTION_STATUSES:
                    outcome.message = described.get("error") or outcome.message
            except (ClientError, BotoCoreError) as exc:
                outcome.message = str(exc)
        report(outcome)

    summary = summarise(outcomes, mode=mode, since=since, dry_run=dry_run)
    print(json.dumps(summary), file=out, flush=True)
    return outcomes, summary


def summarise(
    outcomes: list[Outcome], *, mode: Mode, since: timedelta, dry_run: bool
) -> dict[str, Any]:
    acted = [o for o in outcomes if o.action in ("redrive", "rerun")]
    return {
        "summary": True,
        "mode": mode,
        "since_s": int(since.total_seconds()),
        "dry_run": dry_run,
        "found": len(outcomes),
        "redriven": len(acted),
        "succeeded": sum(o.result == "SUCCEEDED" for o in acted),
        "still_running": sum(o.result == "RUNNING" for o in acted),
        "unsuccessful": sum(o.result in UNSUCCESSFUL_EXECUTION_STATUSES for o in acted),
        "skipped": sum(o.action == "skipped" for o in outcomes),
        "errors": sum(o.action == "error" for o in outcomes),
    }


def succeeded(summary: dict[str, Any]) -> bool:
    return not (summary["unsuccessful"] or summary["errors"] or summary["still_running"])


# -- the command ------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Redrive the pipeline's FAILED, TIMED_OUT and ABORTED executions (RedriveExecution "
        "on AWS). --local runs a self-contained demo on the local stack instead."
    )
    parser.add_argument(
        "--since",
        type=_duration_arg,
        default=parse_duration(DEFAULT_SINCE),
        metavar="DURATION",
        help=f"executions that stopped within this long: 30m, 2h, 7d (default {DEFAULT_SINCE})",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be redriven")
    parser.add_argument(
        "--state-machine-arn",
        default=os.environ.get("STATE_MACHINE_ARN"),
        help="the pipeline's ARN (default: $STATE_MACHINE_ARN; `pulumi stack output`)",
    )
    parser.add_argument(
        "--table",
        default=os.environ.get("RESULTS_TABLE"),
        help="results table, to report each record's status afterwards (default: $RESULTS_TABLE)",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="do not wait for the redriven executions to end"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for them (default 600)"
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="demo on the local stack: make an upload fail, then redrive it",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="onnx",
        help="--local only: the text detector of the local stack",
    )


def main(args: argparse.Namespace) -> int:
    if args.local:
        return local_demo(args)
    arn = args.state_machine_arn
    if not arn:
        print(
            "error: give --state-machine-arn or set STATE_MACHINE_ARN "
            "(pulumi stack output state_machine_arn); --local runs the local demo",
            file=sys.stderr,
        )
        return 2
    import boto3

    sfn = boto3.client("stepfunctions", region_name=arn.split(":")[3])
    try:
        _, summary = redrive(
            sfn,
            arn,
            since=args.since,
            mode="aws",
            dry_run=args.dry_run,
            wait=not args.no_wait,
            timeout_s=args.timeout,
            results_table=args.table,
        )
    except (ClientError, BotoCoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if succeeded(summary) else 1


def local_demo(args: argparse.Namespace) -> int:
    """Fail an upload on the local stack, show its FAILED record, then redrive it.

    The local stack lives in this process, so the demo builds one, breaks text detection
    (a fault injected before the handler, as if a bad deploy crashed it), uploads a photo,
    lets the retries run out, "fixes the deploy" and redrives.
    """
    from platescan.local.runtime import LocalConfig, LocalStack
    from platescan.tools.load import render_photo

    def say(text: str) -> None:
        print(f"# {text}", file=sys.stderr, flush=True)

    if not getattr(args, "verbose", False):
        # moto logs each failed Task attempt at ERROR with its whole parse tree; the demo
        # says what failed in one line instead.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    with LocalStack(LocalConfig(engine=args.engine, retry_time_scale=0.01)) as stack:
        function = "platescan-detect-text"

        def crash(event: dict[str, Any]) -> None:
            raise RuntimeError("detect_text crashed: simulated bad deploy")

        stack.registry.faults[function] = crash
        say(f"text detection is broken; uploading a photo (engine {args.engine})")
        upload_id = stack.put_photo(render_photo(0), "demo car.jpg", content_type="image/jpeg")
        record = stack.wait_for(upload_id, timeout=args.timeout)
        say(
            f"record {upload_id}: {record['status']} "
            f"({record.get('error', {}).get('type')}: {record.get('error', {}).get('message')})"
        )
        stack.registry.faults.pop(function)
        say("fault fixed; redriving" + (" (dry run)" if args.dry_run else ""))
        from platescan import aws

        _, summary = redrive(
            aws.client("stepfunctions"),
            stack.state_machine_arn,
            since=args.since,
            mode="rerun",
            dry_run=args.dry_run,
            wait=not args.no_wait,
            timeout_s=args.timeout,
            results_table=stack.config.table,
        )
        after = stack.record(upload_id) or {}
        plates = [p["text"] for p in after.get("plates", [])]
        say(f"record {upload_id} is now {after.get('status')} {plates}")
    return 0 if succeeded(summary) else 1
