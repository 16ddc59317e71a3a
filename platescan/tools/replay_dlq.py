"""replay-dlq: put what waits in the stack's dead-letter queues back where it belongs.

The pipeline's queue receives three kinds of message, and each needs its own replay:

- an S3 `Object Created` event EventBridge could not deliver to the state machine: start
  the pipeline with it (named after the event, so replaying it twice starts one execution);
- a Step Functions `Execution Status Change` event it could not deliver to `mark_failed`:
  invoke `mark_failed` with it, so the upload's record says FAILED;
- a Lambda destination record, written when `mark_failed` itself kept failing on such an
  event: invoke `mark_failed` again with the event inside it (`requestPayload`).

A message replayed successfully is deleted; one that failed, or whose shape is unknown, is
left in the queue (visible again at once) and reported, so the alarm stays until a person
has looked. `--dry-run` reads and classifies without acting or deleting.

    export DEAD_LETTER_QUEUE_URL=$(pulumi stack output dead_letter_queue_url)
    export STATE_MACHINE_ARN=$(pulumi stack output state_machine_arn)
    export MARK_FAILED_FUNCTION=$(pulumi stack output mark_failed_function)
    export ALERTS_DEAD_LETTER_QUEUE_URL=$(pulumi stack output alerts_dead_letter_queue_url)
    export EVENT_BUS=$(pulumi stack output event_bus)
    python -m platescan replay-dlq --dry-run
    python -m platescan replay-dlq

One JSON line per message, then a summary line; exit status 0 when every message was
replayed (or there was none), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from platescan import aws, contract, records

S3_EVENT = "s3-object-created"
STATUS_CHANGE = "execution-status-change"
DESTINATION = "lambda-destination"
PLATE_MATCHED = "plate-matched"
UNKNOWN = "unknown"
# Results after which a message is deleted: it reached where it belongs.
DONE_RESULTS = ("started", "already-started", "marked", "put")
# What a dry run says it would do, by kind.
WOULD = {
    S3_EVENT: "would-start-execution",
    STATUS_CHANGE: "would-invoke-mark-failed",
    DESTINATION: "would-invoke-mark-failed",
    PLATE_MATCHED: "would-put-event",
}
# How long a received message stays hidden while it is replayed.
VISIBILITY_S = 120
_NAME_UNSAFE = re.compile(r"[^0-9A-Za-z_-]")


@dataclass
class Targets:
    """Where each kind of message is replayed to."""

    queue_url: str
    state_machine_arn: str
    mark_failed_function: str
    alerts_queue_url: str
    event_bus: str

    def queues(self) -> list[tuple[str, str]]:
        """Each queue to read, with the short name its lines carry."""
        return [("pipeline", self.queue_url), ("alerts", self.alerts_queue_url)]


@dataclass
class Summary:
    dry_run: bool
    found: int = 0
    replayed: int = 0
    left: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    # Executions this run started: Step Functions answers a second start of a running
    # execution (same name, same input) with the same execution, not an error.
    started: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {
            "summary": True,
            "dry_run": self.dry_run,
            "found": self.found,
            "replayed": self.replayed,
            "left": self.left,
            "by_kind": dict(sorted(self.by_kind.items())),
        }


def classify(body: Any) -> tuple[str, dict[str, Any] | None]:
    """The kind of a dead letter and the event to replay (None when unknown)."""
    if not isinstance(body, dict):
        return UNKNOWN, None
    if "requestContext" in body and "requestPayload" in body:
        kind, event = classify(body["requestPayload"])
        return (DESTINATION, event) if kind == STATUS_CHANGE else (UNKNOWN, None)
    source, detail_type = body.get("source"), body.get("detail-type")
    if source == "aws.s3" and detail_type == "Object Created" and "detail" in body:
        return S3_EVENT, body
    if source == "aws.states" and detail_type == "Step Functions Execution Status Change":
        return STATUS_CHANGE, body
    if (
        source == contract.PLATE_MATCHED_SOURCE
        and detail_type == contract.PLATE_MATCHED_DETAIL_TYPE
        and isinstance(body.get("detail"), dict)
    ):
        return PLATE_MATCHED, body
    return UNKNOWN, None


def _upload_id(kind: str, event: dict[str, Any] | None) -> str | None:
    try:
        if kind == S3_EVENT and event:
            return records.upload_id_from_key(event["detail"]["object"]["key"])
        if kind in (STATUS_CHANGE, DESTINATION) and event:
            started_with = json.loads(event["detail"].get("input") or "{}")
            return records.upload_id_from_key(started_with["detail"]["object"]["key"])
        if kind == PLATE_MATCHED and event:
            return str(event["detail"]["upload_id"])
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _execution_name(event: dict[str, Any]) -> str:
    """A name unique to the event: Step Functions refuses a second start with the same name."""
    ident = str(event.get("id") or "")
    if not ident:
        ident = records.upload_id_from_key(str(event["detail"]["object"]["key"]))
    return ("replay-" + _NAME_UNSAFE.sub("-", ident))[:80]


def replay_one(kind: str, event: dict[str, Any], targets: Targets) -> tuple[str, str, str]:
    """Replay one event; returns (action, result, message)."""
    if kind == S3_EVENT:
        sfn = aws.client("stepfunctions")
        try:
            started = sfn.start_execution(
                stateMachineArn=targets.state_machine_arn,
                name=_execution_name(event),
                input=json.dumps(event),
            )
        except sfn.exceptions.ExecutionAlreadyExists:
            return "start-execution", "already-started", "this event was replayed before"
        return "start-execution", "started", str(started["executionArn"])
    if kind == PLATE_MATCHED:
        return _put_event(event, targets.event_bus)
    answer = aws.client("lambda").invoke(
        FunctionName=targets.mark_failed_function,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    payload = answer["Payload"].read().decode("utf-8", "replace")
    if answer.get("FunctionError"):
        return "invoke-mark-failed", "error", payload[:500]
    return "invoke-mark-failed", "marked", payload[:500]


def _put_event(event: dict[str, Any], bus: str) -> tuple[str, str, str]:
    """Put a dead-lettered event back on the bus as it was first put there."""
    put = aws.client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
                "Resources": list(event.get("resources") or []),
                "EventBusName": bus,
            }
        ]
    )
    (entry,) = put["Entries"]
    # PutEvents answers 200 with the entry's own error when that entry was refused.
    if put.get("FailedEntryCount") or "EventId" not in entry:
        return "put-event", "error", f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
    return "put-event", "put", str(entry["EventId"])


def replay(
    targets: Targets,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    out: TextIO = sys.stdout,
) -> Summary:
    """Read every message once, replay (or only classify) it, print a line per message."""
    summary = Summary(dry_run=dry_run)
    for name, url in targets.queues():
        _replay_queue(name, url, targets, dry_run, limit, summary, out)
    out.write(json.dumps(summary.as_json()) + "\n")
    return summary


def _replay_queue(
    name: str,
    url: str,
    targets: Targets,
    dry_run: bool,
    limit: int | None,
    summary: Summary,
    out: TextIO,
) -> None:
    sqs = aws.client("sqs")
    seen: set[str] = set()
    to_release: list[str] = []  # receipt handles to make visible again at the end
    while limit is None or summary.found < limit:
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=VISIBILITY_S,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            if limit is not None and summary.found >= limit:
                to_release.append(message["ReceiptHandle"])
                continue
            seen.add(message["MessageId"])
            summary.found += 1
            line = {"queue": name, **_handle(message, targets, dry_run, summary)}
            if line.get("result") in DONE_RESULTS:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                summary.replayed += 1
            else:
                summary.left += 1
                to_release.append(message["ReceiptHandle"])
            out.write(json.dumps(line) + "\n")
    for handle in to_release:
        # Visible again now: the next run, or a person, sees it without waiting.
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)


def _handle(
    message: dict[str, Any], targets: Targets, dry_run: bool, summary: Summary
) -> dict[str, Any]:
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        body = None
    kind, event = classify(body)
    summary.by_kind[kind] = summary.by_kind.get(kind, 0) + 1
    line: dict[str, Any] = {"message_id": message["MessageId"], "kind": kind}
    upload_id = _upload_id(kind, event)
    if upload_id:
        line["upload_id"] = upload_id
    attributes = message.get("MessageAttributes") or {}
    if "ERROR_CODE" in attributes:  # EventBridge says why it could not deliver
        line["delivery_error"] = attributes["ERROR_CODE"].get("StringValue")
    if "TARGET_ARN" in attributes:  # which of the rule's targets it did not reach
        line["target"] = attributes["TARGET_ARN"].get("StringValue")
    if event is None:
        line.update(action="left", result="unknown", message="not a shape this queue receives")
        return line
    if dry_run:
        line.update(action=WOULD[kind], result="dry-run")
        return line
    try:
        action, result, detail = replay_one(kind, event, targets)
    except Exception as exc:  # a refused call is reported, and the message kept
        line.update(action="left", result="error", message=f"{type(exc).__name__}: {exc}")
        return line
    if result == "started" and detail in summary.started:
        result = "already-started"
    summary.started.add(detail)
    line.update(action=action, result=result, message=detail)
    return line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--dry-run", action="store_true", help="classify and report only")
    parser.add_argument(
        "--queue-url",
        default=os.environ.get("DEAD_LETTER_QUEUE_URL"),
        help="the pipeline's dead-letter queue (pulumi stack output dead_letter_queue_url)",
    )
    parser.add_argument(
        "--state-machine-arn",
        default=os.environ.get("STATE_MACHINE_ARN"),
        help="where S3 events are replayed (pulumi stack output state_machine_arn)",
    )
    parser.add_argument(
        "--mark-failed-function",
        default=os.environ.get("MARK_FAILED_FUNCTION"),
        help="where status changes are replayed (pulumi stack output mark_failed_function)",
    )
    parser.add_argument(
        "--alerts-queue-url",
        default=os.environ.get("ALERTS_DEAD_LETTER_QUEUE_URL"),
        help="the alerts' dead-letter queue (pulumi stack output alerts_dead_letter_queue_url)",
    )
    parser.add_argument(
        "--event-bus",
        default=os.environ.get("EVENT_BUS"),
        help="where Plate Matched events are put back (pulumi stack output event_bus)",
    )
    parser.add_argument("--max", type=int, default=None, help="replay at most this many")


def main(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    missing = [
        flag
        for flag, value in (
            ("--queue-url / DEAD_LETTER_QUEUE_URL", args.queue_url),
            ("--state-machine-arn / STATE_MACHINE_ARN", args.state_machine_arn),
            ("--mark-failed-function / MARK_FAILED_FUNCTION", args.mark_failed_function),
            ("--alerts-queue-url / ALERTS_DEAD_LETTER_QUEUE_URL", args.alerts_queue_url),
            ("--event-bus / EVENT_BUS", args.event_bus),
        )
        if not value
    ]
    if missing:
        print(f"replay-dlq needs {', '.join(missing)} (see docs/deploy.md)", file=sys.stderr)
        return 2
    if args.max is not None and args.max < 1:
        print("--max must be 1 or more", file=sys.stderr)
        return 2
    summary = replay(
        Targets(
            args.queue_url,
            args.state_machine_arn,
            args.mark_failed_function,
            args.alerts_queue_url,
            args.event_bus,
        ),
        dry_run=args.dry_run,
        limit=args.max,
        out=out,
    )
    return 0 if summary.left == 0 else 1


def _cli() -> int:
    parser = argparse.ArgumentParser(prog="python -m platescan.tools.replay_dlq")
    add_arguments(parser)
    return main(parser.parse_args())


if __name__ == "__main__":
    sys.exit(_cli())
