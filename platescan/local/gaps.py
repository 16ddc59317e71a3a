"""Where moto falls short of AWS for this pipeline, and the patches that close the gaps.

moto executes the real Amazon States Language, but it cannot run our Lambda code without
Docker, delivers EventBridge events only to SQS, logs and buses, and emits no Step
Functions status-change events. These patches close exactly those gaps, so the local stack
behaves as the deployed one does:

1. `LambdaFunction._invoke_lambda` runs the registered handler in-process;
2. `Rule.send_to_targets` also delivers to Step Functions (StartExecution), Lambda, SNS and
   API destination targets (moto raises on SNS targets, and calls an API destination with
   neither the event as body nor the connection's credentials); SNS and webhook deliveries
   are recorded in the registry and written to the console;
3. `BaseExecutionWorkerCommunication.terminated` publishes "Step Functions Execution Status
   Change" events, so the FAILED listener runs as it does in AWS.

What only makes the local stack faster is in `speedups`. Each patch has a canary in
tests/local/test_gaps.py that fails loudly if moto renames what it replaces, or closes
the gap itself.
"""

from __future__ import annotations

import copy
import json
import logging
import queue
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda import models as lambda_models
from moto.events import models as events_models
from moto.stepfunctions.parser.backend import execution as sfn_execution

from platescan.contract import UNSUCCESSFUL_EXECUTION_STATUSES

log = logging.getLogger("platescan.local")

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The parts of the Lambda context object that Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Registry:
    """Handlers by function name, plus a hook the tests use to inject faults."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    # function name -> callable run before the handler; it may raise to simulate a fault.
    faults: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)
    invocations: dict[str, int] = field(default_factory=dict)
    # None: every event starts its execution at once (moto's own behaviour).
    admission: Admission | None = None
    # Bumped after every invocation and when an execution ends, so waiters wake when
    # something may have changed instead of polling (polling steals the GIL from the
    # executions it waits on).
    generation: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)
    # What rules delivered to SNS topics and API destinations (alerts), in order.
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def bump(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def wait_change(self, seen: int, timeout: float) -> int:
        """Block until the generation moves past `seen` (or timeout); return the current one."""
        with self.changed:
            self.changed.wait_for(lambda: self.generation != seen, timeout=timeout)
            return self.generation


class Admission:
    """At most `limit` event-started executions run at once; later events wait, in order.

    In AWS every Lambda invocation gets its own CPU. Here all of them share this machine's
    cores, so a burst of uploads would start hundreds of executions that each get a sliver
    of CPU, and their Tasks would run past `TimeoutSeconds` while waiting for it. Events
    wait here instead (EventBridge would hold them on throttling too), and each execution
    starts when a slot frees up, so its Task timeouts measure its own work.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.Semaphore(limit)
        self._admitted: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._backlog: queue.SimpleQueue[Callable[[], str] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="platescan-admission", daemon=True)
        self._thread.start()

    def submit(self, start: Callable[[], str]) -> None:
        """Queue a StartExecution; `start` returns the execution's ARN."""
        self._backlog.put(start)

    def finished(self, execution_arn: str) -> None:
        """An execution ended; free its slot if it was one of ours."""
        with self._lock:
            if execution_arn in self._admitted:
                self._admitted.discard(execution_arn)
                self._slots.release()

    def close(self) -> None:
        """Stop admitting: events still waiting are dropped with the stack."""
        self._closed = True
        self._backlog.put(None)
        self._slots.release()  # wakes the dispatcher if it waits for a slot
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while (start := self._backlog.get()) is not None and not self._closed:
            self._slots.acquire()
            if self._closed:
                return
            # Held while starting so that an execution ending at once finds itself admitted.
            with self._lock:
                try:
                    self._admitted.add(start())
                except Exception:
                    log.exception("starting an execution failed")
                    self._slots.release()


REGISTRY = Registry()


def invoke_registered(function: Any, event: Any) -> tuple[str, bool, str]:
    """Run a Lambda function's handler in-process; the (payload, errored, logs) moto expects."""
    name = function.function_name
    handler = REGISTRY.handlers.get(name)
    if handler is None:
        message = f"no local handler registered for Lambda function {name!r}"
        return json.dumps({"errorType": "HandlerNotFound", "errorMessage": message}), True, ""
    if isinstance(event, str | bytes):
        event = json.loads(event or "{}")
    REGISTRY.invocations[name] = REGISTRY.invocations.get(name, 0) + 1
    context = LambdaContext(
        function_name=name,
        memory_limit_in_mb=int(function.memory_size or 1024),
        invoked_function_arn=function.function_arn,
    )
    try:
        fault = REGISTRY.faults.get(name)
        if fault is not None:
            fault(event)
        result = handler(event, context)
    except Exception as exc:  # the Lambda runtime's contract: report, don't crash
        payload = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-5:],
        }
        log.info("function %s raised %s: %s", name, type(exc).__name__, exc)
        return json.dumps(payload), True, ""
    finally:
        REGISTRY.bump()
    return json.dumps(result, default=str), False, ""


def _invoke_lambda(self: Any, event: str | None = None) -> tuple[str, bool, str]:
    return invoke_registered(self, event)


EXTRA_TARGET_SERVICES = ("states", "lambda", "sns")
WEBHOOK_TIMEOUT_S = 5


def _is_ours(arn: str) -> bool:
    """Targets these patches deliver: moto delivers the others (SQS, logs, buses)."""
    parts = arn.split(":")
    return parts[2] in EXTRA_TARGET_SERVICES or (
        parts[2] == "events" and parts[5].startswith("api-destination/")
    )


def _json_path(event: dict[str, Any], path: str) -> Any:
    """The value at a `$.a.b` path of an event (the only paths InputPathsMap needs here)."""
    value: Any = event
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def transform_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """What EventBridge sends a target: the event as JSON, or its InputTransformer's output.

    As EventBridge documents it: each `<name>` is replaced by the value at its path (text
    as is, other values as JSON, a missing value as nothing); a template that is one
    quoted string sends that string's text.
    """
    transformer = target.get("InputTransformer")
    if not transformer:
        return json.dumps(event, default=str)
    text = str(transformer["InputTemplate"])
    for name, path in (transformer.get("InputPathsMap") or {}).items():
        value = _json_path(event, path)
        shown = "" if value is None else value if isinstance(value, str) else json.dumps(value)
        text = text.replace(f"<{name}>", shown)
    if text.startswith('"') and text.endswith('"'):
        return str(json.loads(text))
    return text


def _publish_to_topic(rule: Any, topic_arn: str, message: str) -> None:
    from moto.sns.models import sns_backends

    sns_backends[rule.account_id][rule.region_name].publish(message=message, arn=topic_arn)
    REGISTRY.deliveries.append({"kind": "sns", "target": topic_arn, "message": message})
    # The console stands in for the e-mail the topic sends in AWS.
    log.warning("SNS %s: %s", topic_arn.rsplit(":", 1)[-1], message)


def _call_api_destination(rule: Any, arn: str, body: str) -> None:
    """POST the event to the destination's endpoint with its connection's credentials."""
    import base64
    import urllib.error
    import urllib.request

    backend = events_models.events_backends[rule.account_id][rule.region_name]
    destination = backend.destinations[arn.split(":")[5].split("/")[1]]
    connection = next(
        c for c in backend.connections.values() if c.arn == destination.connection_arn
    )
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Amazon/EventBridge/ApiDestinations",
    }
    auth = connection.auth_parameters
    if connection.authorization_type == "API_KEY":
        key = auth["ApiKeyAuthParameters"]
        headers[key["ApiKeyName"]] = key["ApiKeyValue"]
    elif connection.authorization_type == "BASIC":
        basic = auth["BasicAuthParameters"]
        pair = f"{basic['Username']}:{basic['Password']}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    request = urllib.request.Request(
        destination.invocation_endpoint,
        data=body.encode("utf-8"),
        headers=headers,
        method=destination.http_method,
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as answer:
            status = int(answer.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    REGISTRY.deliveries.append(
        {"kind": "webhook", "target": destination.invocation_endpoint, "status": status}
    )
    log.warning("webhook %s answered %s", destination.invocation_endpoint, status)


def _deliver_extra_targets(rule: Any, targets: list[dict[str, Any]], event: dict[str, Any]) -> None:
    for target in targets:
        arn = target["Arn"]
        service = arn.split(":")[2]
        try:
            if service == "sns":
                _publish_to_topic(rule, arn, transform_input(target, event))
            elif service == "events":
                _call_api_destination(rule, arn, transform_input(target, event))
            elif service == "states":
                _start_execution(rule, arn, event)
            elif service == "lambda":
                function = lambda_models.lambda_backends[rule.account_id][rule.region_name]
                fn = function.get_function(arn)
                payload, errored, _ = invoke_registered(fn, event)
                if errored:
                    log.error("target %s failed on event %s: %s", arn, event.get("id"), payload)
        except Exception:
            # EventBridge would retry and then dead-letter; locally we make it loud instead.
            log.exception("delivering event %s to %s failed", event.get("id"), arn)


def _start_execution(rule: Any, state_machine_arn: str, event: dict[str, Any]) -> None:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    backend = stepfunctions_parser_backends[rule.account_id][rule.region_name]

    def start() -> str:
        # EventBridge names each execution randomly: a duplicate event starts a second one.
        execution = backend.start_execution(
            state_machine_arn,
            name=str(uuid.uuid4()),
            execution_input=json.dumps(event, default=str),
        )
        return str(execution.exec_arn)

    if REGISTRY.admission is None:
        start()
    else:
        REGISTRY.admission.submit(start)


def _publish_status_change(execution: Any) -> None:
    status = str(execution.exec_status.value if execution.exec_status else "")
    if status not in UNSUCCESSFUL_EXECUTION_STATUSES:
        return
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": int(execution.start_date.timestamp() * 1000),
        "stopDate": int(execution.stop_date.timestamp() * 1000) if execution.stop_date else None,
        "input": json.dumps(execution.input_data),
        "inputDetails": {"included": True},
        "error": execution.error,
        "cause": execution.cause,
    }
    backend = events_models.events_backends[execution.account_id][execution.region_name]
    backend.put_events(
        [
            {
                "Source": "aws.states",
                "DetailType": "Step Functions Execution Status Change",
                "Detail": json.dumps(detail, default=str),
                "Resources": [execution.exec_arn],
                "EventBusName": "default",
            }
        ]
    )


@contextmanager
def installed() -> Iterator[Registry]:
    """Close the gaps for the duration of the block."""
    original_invoke = lambda_models.LambdaFunction._invoke_lambda
    original_send = events_models.Rule.send_to_targets
    original_terminated = sfn_execution.BaseExecutionWorkerCommunication.terminated

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        # moto raises on target types it does not know: give it only the ones it does.
        ours = [t for t in self.targets if _is_ours(t["Arn"])]
        if len(ours) < len(self.targets):
            theirs = copy.copy(self)
            theirs.targets = [t for t in self.targets if t not in ours]
            original_send(theirs, event, transform_input)
        if ours and self.event_pattern.matches_event(event):
            _deliver_extra_targets(self, ours, event)

    def terminated(self: Any) -> None:
        original_terminated(self)
        REGISTRY.bump()  # waiters may be waiting for the execution to end
        if REGISTRY.admission is not None:
            REGISTRY.admission.finished(self.execution.exec_arn)
        try:
            _publish_status_change(self.execution)
        except Exception:
            log.exception("publishing the status change of %s failed", self.execution.exec_arn)

    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    events_models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
    sfn_execution.BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    try:
        yield REGISTRY
    finally:
        lambda_models.LambdaFunction._invoke_lambda = original_invoke  # type: ignore[method-assign]
        events_models.Rule.send_to_targets = original_send  # type: ignore[method-assign]
        sfn_execution.BaseExecutionWorkerCommunication.terminated = original_terminated  # type: ignore[method-assign]
