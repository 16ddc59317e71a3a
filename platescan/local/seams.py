"""The places where the local runtime fills gaps in moto, each guarded by a canary test.

moto executes the real Amazon States Language but cannot run our Lambda code without
Docker, delivers EventBridge events only to SQS/logs/buses, and emits no Step Functions
status-change events. These patches close exactly those gaps and nothing else:

1. `LambdaFunction._invoke_lambda` runs the registered handler in-process;
2. `Rule.send_to_targets` also delivers to Step Functions (StartExecution), Lambda, SNS and
   API destination targets (moto raises on SNS targets, and calls an API destination with
   neither the event as body nor the connection's credentials); SNS and webhook deliveries
   are recorded in the registry and written to the console;
3. `BaseExecutionWorkerCommunication.terminated` publishes "Step Functions Execution Status
   Change" events, so the FAILED listener runs as it does in AWS;
4. the retrier's `time.sleep` can be scaled down, so tests do not wait out real backoff;
5. `AmazonStateLanguageParser.parse` keeps each definition's syntax tree and the program
   built from it: moto parses the ASL again for every execution (35 ms of CPU, holding the
   GIL) and builds the program from the tree (7 ms). Each execution gets a deep copy of
   the kept program (under 3 ms), so no execution shares a component with another;
6. moto's Lambda Task calls `lambda_client.invoke` on a boto3 client it creates for each
   invocation (about 15 ms of CPU), and the request goes through botocore and moto's HTTP
   emulation (about 3 ms more) only to reach moto's Lambda backend: `invoke_lambda_task`
   calls that backend directly and answers as the client would;
7. moto evaluates every JSONPath (InputPath, Parameters `.$`, ResultPath...) by building
   a new jsonpath_ng parser, with its parse tables, for each one: parsed paths are kept.
   A parsed path is an immutable expression tree; `find` and `update_or_create` only
   read it;
8. moto's interpreter deep-copies the state data at every step (`copy.deepcopy`, 30 to 60
   times an execution): where the data is JSON, as state data always is, `json_deepcopy`
   copies it in a fraction of the time (new containers all the way down, as JSON passed
   between states is); anything else still goes to `copy.deepcopy`;
9. `read_item` reads an item from moto's table for the local stack's own look-ups
   (`LocalStack.record`, which tests and the benchmark poll while executions run): the
   item GetItem would return, without moto's response serialiser and botocore's parser
   (about 4 ms of CPU a look-up, taken from the executions being waited on). The
   pipeline and the API still read and write through the DynamoDB API.

If moto renames any of these, `tests/statemachine/test_seams.py` fails loudly.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import logging
import queue
import sys
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from moto.awslambda import models as lambda_models
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.utilities import dynamo_to_dict
from moto.events import models as events_models
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.eval import states as states_module
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend import execution as sfn_execution

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


def read_item(
    region: str, table: str, key: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]] | None:
    """The item at `key` in attribute-value form, as a consistent GetItem returns it."""
    item = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_item(table, key)
    if item is None:
        return None
    return dict(dynamo_to_dict(item.describe_attrs(attributes=None)["Item"]))


class _NotJson(Exception):
    pass


_JSON_SCALARS = (str, int, float, bool, type(None))


def _copy_json(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _copy_json(item) for key, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    raise _NotJson


def json_deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy`, quicker for JSON values (dicts, lists, strings, numbers, booleans, null).

    Keys are strings and every scalar is immutable, so only the containers are new, as with
    `copy.deepcopy`. A value holding anything else is copied by `copy.deepcopy` whole.
    """
    if memo is None:
        try:
            return _copy_json(value)
        except (_NotJson, RecursionError):
            pass
    return copy.deepcopy(value, memo)


# The interpreter's modules that deep-copy state data; each uses `copy` for nothing else.
JSON_COPYING_MODULES = (states_module, string_expression, result_path, execute_state)


# What Lambda's Invoke API answers when a function returns more than it allows; moto's
# Invoke handler (`LambdaResponse.invoke`) checks the same size.
_RESPONSE_TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}


def invoke_lambda_task(
    parameters: dict[str, Any], region: str, state_credentials: Any = None
) -> dict[str, Any]:
    """A Lambda Task's invocation, answered as moto's Lambda API answers it, minus the HTTP.

    moto's interpreter calls `lambda_client.invoke(**parameters)`; the request then goes
    through botocore (serialise, sign), moto's request matching and its Invoke handler,
    only to reach `LambdaBackend.invoke`. This calls that backend method directly and
    shapes the answer as the client would return it: status, `FunctionError` when the
    function raised, and the payload parsed as moto parses it.
    """
    function = parameters["FunctionName"]
    parts = function.split(":")
    account = parts[4] if function.startswith("arn:") and len(parts) > 4 else DEFAULT_ACCOUNT_ID
    backend = lambda_models.lambda_backends[account][region]
    body = parameters.get("Payload") or b""
    response_headers: dict[str, str] = {}
    try:
        payload = backend.invoke(
            function,
            parameters.get("Qualifier"),
            body.decode("utf-8") if isinstance(body, bytes) else body,
            {},
            response_headers,
        )
    except JsonRESTError as exc:  # what the client raises for the API's error responses
        error = {"Code": exc.error_type, "Message": exc.message}
        raise ClientError({"Error": error}, "Invoke") from exc  # type: ignore[typeddict-item]
    if payload is None:  # moto's handler answers 404
        message = f"Function not found: {function}"
        raise ClientError(
            {"Error": {"Code": "ResourceNotFoundException", "Message": message}}, "Invoke"
        )
    if sys.getsizeof(payload) > 6000000:
        response_headers["x-amz-function-error"] = "Unhandled"
        payload = json.dumps(_RESPONSE_TOO_LARGE)
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    response: dict[str, Any] = {
        "StatusCode": 200,
        "Payload": lambda_eval_utils._from_payload(io.BytesIO(data)),
    }
    if "x-amz-function-error" in response_headers:
        response["FunctionError"] = response_headers["x-amz-function-error"]
    return response


EXTRA_TARGET_SERVICES = ("states", "lambda", "sns")
WEBHOOK_TIMEOUT_S = 5


def _is_ours(arn: str) -> bool:
    """Targets these seams deliver: moto delivers the others (SQS, logs, buses)."""
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
    if status not in ("FAILED", "TIMED_OUT", "ABORTED"):
        return
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": int(execution.start_date.timestamp() * 1000),
        "stopDate": int(execution.stop_date.timestamp() * 1000) if execution.stop_date else None,
        "input": json.dumps(execution.input_data),
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
def installed(retry_time_scale: float = 1.0) -> Iterator[Registry]:
    """Install the seams for the duration of the block."""
    original_invoke = lambda_models.LambdaFunction._invoke_lambda
    original_send = events_models.Rule.send_to_targets
    original_terminated = sfn_execution.BaseExecutionWorkerCommunication.terminated
    original_time = retrier_decl.time
    original_parse = asl_parser.AmazonStateLanguageParser.parse
    original_invoke_task = lambda_eval_utils._invoke_lambda_function
    original_json_path_parse = json_path.parse
    original_result_path_parse = result_path.parse
    original_copies = {module: module.copy for module in JSON_COPYING_MODULES}
    json_copy = types.SimpleNamespace(deepcopy=json_deepcopy)
    programs: dict[str, tuple[Any, Any]] = {}

    def parse(definition: str) -> tuple[Any, Any]:
        kept = programs.get(definition)
        if kept is None:
            _, tree = original_parse(definition)  # syntax errors still raise here
            # Built here, never evaluated: its copies are, one per execution.
            kept = programs[definition] = (Preprocessor().visit(tree), tree)
        program, tree = kept
        return copy.deepcopy(program), tree

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

    cached_json_path_parse = functools.lru_cache(maxsize=1024)(original_json_path_parse)
    cached_result_path_parse = functools.lru_cache(maxsize=1024)(original_result_path_parse)

    scaled_time = types.SimpleNamespace(
        sleep=lambda seconds: time.sleep(seconds * retry_time_scale),
        time=time.time,
        monotonic=time.monotonic,
        perf_counter=time.perf_counter,
    )
    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    events_models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
    sfn_execution.BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    retrier_decl.time = scaled_time  # type: ignore[assignment]
    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    lambda_eval_utils._invoke_lambda_function = invoke_lambda_task
    json_path.parse = cached_json_path_parse
    result_path.parse = cached_result_path_parse
    for module in JSON_COPYING_MODULES:
        module.copy = json_copy  # type: ignore[attr-defined]
    try:
        yield REGISTRY
    finally:
        lambda_models.LambdaFunction._invoke_lambda = original_invoke  # type: ignore[method-assign]
        events_models.Rule.send_to_targets = original_send  # type: ignore[method-assign]
        sfn_execution.BaseExecutionWorkerCommunication.terminated = original_terminated  # type: ignore[method-assign]
        retrier_decl.time = original_time
        asl_parser.AmazonStateLanguageParser.parse = staticmethod(original_parse)  # type: ignore[method-assign]
        lambda_eval_utils._invoke_lambda_function = original_invoke_task
        json_path.parse = original_json_path_parse
        result_path.parse = original_result_path_parse
        for module, original_copy in original_copies.items():
            module.copy = original_copy  # type: ignore[attr-defined]
