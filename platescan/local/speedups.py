"""Patches that only make the local stack faster; without them it behaves the same.

Executions here share a couple of CPU cores, so moto's per-step costs decide how long the
tests and the benchmark take. Each patch below replaces work whose result does not change
with a cheaper way to the same result:

1. the retrier's `time.sleep` can be scaled down, so tests do not wait out real backoff;
2. `AmazonStateLanguageParser.parse` keeps each definition's syntax tree and the program
   built from it: moto parses the ASL again for every execution (35 ms of CPU, holding the
   GIL) and builds the program from the tree (7 ms). Each execution gets a deep copy of
   the kept program (under 3 ms), so no execution shares a component with another;
3. moto's Lambda Task calls `lambda_client.invoke` on a boto3 client it creates for each
   invocation (about 15 ms of CPU), and the request goes through botocore and moto's HTTP
   emulation (about 3 ms more) only to reach moto's Lambda backend: `invoke_lambda_task`
   calls that backend directly and answers as the client would;
4. moto evaluates every JSONPath (InputPath, Parameters `.$`, ResultPath...) by building
   a new jsonpath_ng parser, with its parse tables, for each one: parsed paths are kept.
   A parsed path is an immutable expression tree; `find` and `update_or_create` only
   read it;
5. moto's interpreter deep-copies the state data at every step (`copy.deepcopy`, 30 to 60
   times an execution): where the data is JSON, as state data always is, `json_deepcopy`
   copies it in a fraction of the time (new containers all the way down, as JSON passed
   between states is); anything else still goes to `copy.deepcopy`;
6. `read_item` reads an item from moto's table for the local stack's own look-ups
   (`LocalStack.record`, which tests and the benchmark poll while executions run): the
   item GetItem would return, without moto's response serialiser and botocore's parser
   (about 4 ms of CPU a look-up, taken from the executions being waited on). The
   pipeline and the API still read and write through the DynamoDB API.

Each has a canary in tests/local/test_speedups.py: it fails loudly if moto renames what is
replaced, and checks that the faster way gives what moto's own way gives.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import sys
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError
from moto.awslambda import models as lambda_models
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.utilities import dynamo_to_dict
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.eval import states as states_module
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import json_path


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


@contextmanager
def installed(retry_time_scale: float = 1.0) -> Iterator[None]:
    """Install the speed-ups for the duration of the block."""
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

    cached_json_path_parse = functools.lru_cache(maxsize=1024)(original_json_path_parse)
    cached_result_path_parse = functools.lru_cache(maxsize=1024)(original_result_path_parse)

    scaled_time = types.SimpleNamespace(
        sleep=lambda seconds: time.sleep(seconds * retry_time_scale),
        time=time.time,
        monotonic=time.monotonic,
        perf_counter=time.perf_counter,
    )
    retrier_decl.time = scaled_time  # type: ignore[assignment]
    asl_parser.AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]
    lambda_eval_utils._invoke_lambda_function = invoke_lambda_task
    json_path.parse = cached_json_path_parse
    result_path.parse = cached_result_path_parse
    for module in JSON_COPYING_MODULES:
        module.copy = json_copy  # type: ignore[attr-defined]
    try:
        yield
    finally:
        retrier_decl.time = original_time
        asl_parser.AmazonStateLanguageParser.parse = staticmethod(original_parse)  # type: ignore[method-assign]
        lambda_eval_utils._invoke_lambda_function = original_invoke_task
        json_path.parse = original_json_path_parse
        result_path.parse = original_result_path_parse
        for module, original_copy in original_copies.items():
            module.copy = original_copy  # type: ignore[attr-defined]
