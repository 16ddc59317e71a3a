"""Canaries for the local stack's speed-ups (platescan.local.speedups).

If a moto upgrade renames what a speed-up replaces, these fail first and say which; the
others check that the faster way gives what moto's own way gives.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from platescan import aws
from platescan.local.runtime import LocalStack
from tests.support import detections, line, plate_photo


def test_retry_wait_patch_is_a_time_sleep_in_the_retrier() -> None:
    assert retrier_decl.time is time
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl)


def test_parse_patch_is_where_executions_get_their_program() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend import execution_worker

    assert list(inspect.signature(AmazonStateLanguageParser.parse).parameters) == ["definition"]
    assert "AmazonStateLanguageParser.parse(" in inspect.getsource(execution_worker)


def test_executions_get_their_own_copy_of_the_kept_program() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from platescan.local import speedups

    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    with speedups.installed():
        first_program, first_tree = AmazonStateLanguageParser.parse(definition)
        second_program, second_tree = AmazonStateLanguageParser.parse(definition)
    assert first_tree is second_tree
    assert first_program is not second_program
    # Not a shallow copy: no component is shared between executions.
    first_state, second_state = first_program.states.states["A"], second_program.states.states["A"]
    assert first_state is not second_state
    assert first_state.input_path is not second_state.input_path
    assert first_state.input_path.string_sampler.json_path == "$"


def test_the_pipeline_program_deep_copies() -> None:
    import copy

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    from platescan import asl
    from platescan.contract import PLACEHOLDERS

    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    definition = asl.render_definition(
        asl.load_template(), dict.fromkeys(PLACEHOLDERS.values(), arn)
    )
    program, _ = AmazonStateLanguageParser.parse(definition)
    copied = copy.deepcopy(program)
    assert copied.states.states.keys() == program.states.states.keys()


def test_lambda_tasks_invoke_through_the_function_we_replace() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.responses import LambdaResponse
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    assert list(inspect.signature(lambda_eval_utils._invoke_lambda_function).parameters) == [
        "parameters",
        "region",
        "state_credentials",
    ]
    task = inspect.getsource(lambda_eval_utils.execute_lambda_function_integration)
    assert "_invoke_lambda_function(" in task
    # The client call we stand in for, and the backend call moto's Invoke handler makes.
    assert "lambda_client.invoke(**parameters)" in inspect.getsource(
        lambda_eval_utils._invoke_lambda_function
    )
    assert list(inspect.signature(LambdaBackend.invoke).parameters) == [
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ]
    handler = inspect.getsource(LambdaResponse.invoke)
    assert "self.backend.invoke(" in handler and "6000000" in handler


def test_invoke_lambda_task_answers_as_the_lambda_client_does(
    rekognition_stack: LocalStack,
) -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import InvocationResponse
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.utilities.collections import select_from_typed_dict

    from platescan.local import speedups

    def original(parameters: dict[str, Any], region: str, _: Any) -> dict[str, Any]:
        # What moto's `_invoke_lambda_function` does, through moto's Lambda API.
        response = aws.session().create_client("lambda", region_name=region).invoke(**parameters)
        response["Payload"] = lambda_eval_utils._from_payload(response["Payload"])
        return dict(response)

    arn = rekognition_stack.function_arns["validate_plate"]
    rekognition_stack.registry.handlers["platescan-validate-plate"] = lambda event, _: {
        "echo": event,
        "n": 1.5,
    }

    def both(parameters: dict[str, Any]) -> tuple[Any, Any]:
        ours = speedups.invoke_lambda_task(dict(parameters), "us-east-1")
        theirs = original(dict(parameters), "us-east-1", None)
        return ours, select_from_typed_dict(typed_dict=InvocationResponse, obj=theirs)

    ours, theirs = both({"FunctionName": arn, "Payload": b'{"a": [1, "b"]}'})
    assert ours == theirs == {"StatusCode": 200, "Payload": {"echo": {"a": [1, "b"]}, "n": 1.5}}

    def crash(event: dict[str, Any]) -> None:
        raise RuntimeError("disk on fire")

    rekognition_stack.registry.faults["platescan-validate-plate"] = crash
    ours, theirs = both({"FunctionName": arn, "Payload": b"{}"})
    assert ours == theirs
    assert ours["FunctionError"] and ours["Payload"]["errorMessage"] == "disk on fire"

    missing = arn.replace("validate-plate", "no-such-function")
    with pytest.raises(ClientError) as ours_error:
        speedups.invoke_lambda_task({"FunctionName": missing, "Payload": b"{}"}, "us-east-1")
    with pytest.raises(ClientError) as theirs_error:
        original({"FunctionName": missing, "Payload": b"{}"}, "us-east-1", None)
    assert ours_error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    for field in ("Code", "Message"):
        assert (
            ours_error.value.response["Error"][field] == theirs_error.value.response["Error"][field]
        )


def test_json_paths_are_parsed_by_the_names_we_cache() -> None:
    from jsonpath_ng import parse as plain_parse
    from jsonpath_ng.ext import parse as ext_parse
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    assert json_path.parse is ext_parse and result_path.parse is plain_parse
    assert "parse(path)" in inspect.getsource(json_path.extract_json)
    assert "parse(self.result_path_src)" in inspect.getsource(result_path.ResultPath)


def test_parsed_json_paths_are_kept_and_still_evaluate() -> None:
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    from platescan.local import speedups

    with speedups.installed():
        assert json_path.parse("$.a.b") is json_path.parse("$.a.b")
        assert result_path.parse("$.r") is result_path.parse("$.r")
        assert json_path.extract_json("$.a.b", {"a": {"b": [1, 2]}}) == [1, 2]
        updated = result_path.parse("$.r").update_or_create({"x": 1}, {"y": 2})
    assert updated == {"x": 1, "r": {"y": 2}}
    assert json_path.parse("$.a.b") is not json_path.parse("$.a.b")


def test_read_item_returns_what_get_item_returns() -> None:
    from platescan.local import speedups

    item = {
        "pk": {"S": "k"},
        "n": {"N": "12.5"},
        "b": {"B": b"\x00\xffbytes"},
        "bs": {"BS": [b"a", b"b"]},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2"]},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "m": {"M": {"inner": {"L": [{"N": "1"}, {"S": "s"}, {"B": b"\x01"}]}}},
    }
    with mock_aws():
        ddb = aws.session().create_client("dynamodb", region_name="eu-west-1")
        ddb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )
        ddb.put_item(TableName="t", Item=item)
        expected = ddb.get_item(TableName="t", Key={"pk": {"S": "k"}}, ConsistentRead=True)
        assert speedups.read_item("eu-west-1", "t", {"pk": {"S": "k"}}) == expected["Item"]
        assert speedups.read_item("eu-west-1", "t", {"pk": {"S": "nope"}}) is None


def test_the_stacks_record_is_the_record_get_record_reads(
    rekognition_stack: LocalStack, rekognition_returns: Callable[[Any], None]
) -> None:
    from platescan import records

    rekognition_returns(detections(line("8ABC123", 99.0, 0.4, 0.6, 0.2, 0.08)))
    upload_id = rekognition_stack.put_photo(plate_photo("8ABC123"), "car.jpg")
    record = rekognition_stack.wait_for(upload_id, timeout=60)
    assert record["plates"] and record["status"] == "DONE"
    assert record == records.get_record(rekognition_stack.config.table, upload_id)
    assert rekognition_stack.record("no-such-upload") is None


def test_the_modules_that_copy_state_data_use_copy_only_for_deepcopy() -> None:
    import copy
    import re

    from platescan.local import speedups

    for module in speedups.JSON_COPYING_MODULES:
        source = inspect.getsource(module)
        assert module.copy is copy, module.__name__
        uses = set(re.findall(r"\bcopy\.(\w+)", source))
        assert uses == {"deepcopy"}, (module.__name__, uses)


def test_json_deepcopy_copies_as_deepcopy_does() -> None:
    import copy
    import datetime

    from platescan.local import speedups

    value = {"a": [1, 2.5, "x", None, True, {"b": []}], "c": {"d": {"e": "f"}}}
    copied = speedups.json_deepcopy(value)
    assert copied == value == copy.deepcopy(value)
    assert copied is not value and copied["a"] is not value["a"]
    assert copied["a"][5] is not value["a"][5] and copied["c"]["d"] is not value["c"]["d"]
    # Anything that is not JSON goes to copy.deepcopy, whole
    shared = [1]
    other = {"when": datetime.date(2024, 1, 2), "twice": [shared, shared], "set": {1, 2}}
    copied_other = speedups.json_deepcopy(other)
    assert copied_other == other
    assert copied_other["twice"][0] is copied_other["twice"][1] is not shared


def test_executions_copy_state_data_with_json_deepcopy() -> None:
    import copy

    from moto.stepfunctions.parser.asl.eval import states

    from platescan.local import speedups

    with speedups.installed():
        assert states.copy.deepcopy is speedups.json_deepcopy
    assert states.copy is copy
