"""Canaries for the gaps in moto that the local stack closes (platescan.local.gaps).

If a moto upgrade renames what a patch replaces, or closes the gap itself (then the patch
would act twice), these fail first and say which.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction
from moto.events import models as events_models
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

from platescan import aws
from platescan.local.runtime import LocalStack
from tests.support import detections, line, plate_photo


def test_lambda_invoke_patch_has_the_signature_we_replace() -> None:
    params = list(inspect.signature(LambdaFunction._invoke_lambda).parameters)
    assert params == ["self", "event"]
    assert "docker" in inspect.getsource(LambdaFunction._invoke_lambda)


def test_rule_send_to_targets_patch_has_the_signature_we_wrap() -> None:
    params = list(inspect.signature(events_models.Rule.send_to_targets).parameters)
    assert params == ["self", "original_event", "transform_input"]


def test_moto_still_cannot_deliver_to_step_functions_by_itself() -> None:
    # If moto learns to start executions from rules, our patch would start each one twice.
    with mock_aws():
        rule = events_models.Rule(
            name="r", account_id="123456789012", region_name="us-east-1", description=None,
            event_pattern=json.dumps({"source": ["aws.s3"]}), schedule_exp=None, role_arn=None,
            event_bus_name="default", state="ENABLED",
            targets=[{"Id": "t", "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}],
        )  # fmt: skip
        with pytest.raises(NotImplementedError):
            rule.send_to_targets({"source": "aws.s3", "detail": {}}, transform_input=False)


def test_status_change_patch_exists() -> None:
    assert callable(BaseExecutionWorkerCommunication.terminated)
    assert "_reflect_execution_status" in inspect.getsource(BaseExecutionWorkerCommunication)


def test_an_upload_starts_an_execution_through_eventbridge(
    rekognition_stack: LocalStack, rekognition_returns: Callable[[Any], None]
) -> None:
    # Given a photo put into the bucket, with no call to any handler or to StartExecution
    rekognition_returns(detections(line("8ABC123", 99.0, 0.4, 0.6, 0.2, 0.08)))
    upload_id = rekognition_stack.put_photo(plate_photo("8ABC123"), "car.jpg")

    # Then EventBridge started an execution whose input is the S3 event
    record = rekognition_stack.wait_for(upload_id, timeout=60)
    (execution,) = rekognition_stack.executions()
    described = aws.client("stepfunctions").describe_execution(
        executionArn=execution["executionArn"]
    )
    event = json.loads(described["input"])
    assert event["source"] == "aws.s3" and event["detail-type"] == "Object Created"
    assert event["detail"]["object"]["key"].startswith(f"uploads/{upload_id}/")
    assert record["execution_arn"] == execution["executionArn"]
    assert rekognition_stack.registry.invocations["platescan-read-metadata"] >= 1


def test_a_failed_execution_publishes_a_status_change_to_the_listener(
    rekognition_stack: LocalStack,
) -> None:
    def crash(event: dict[str, Any]) -> None:
        raise RuntimeError("disk on fire")

    rekognition_stack.registry.faults["platescan-validate-plate"] = crash
    upload_id = rekognition_stack.put_photo(plate_photo("8ABC123"), "car.jpg")
    record = rekognition_stack.wait_for(upload_id, timeout=60)
    assert record["status"] == "FAILED"
    assert record["error"] == {"type": "RuntimeError", "message": "disk on fire"}
    assert rekognition_stack.registry.invocations["platescan-mark-failed"] == 1


def test_moto_still_publishes_no_execution_status_change_by_itself() -> None:
    # If moto starts publishing them, our patch would mark each failure twice.
    config = {"stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config):
        aws.reset()
        sqs, events, sfn = aws.client("sqs"), aws.client("events"), aws.client("stepfunctions")
        queue_url = sqs.create_queue(QueueName="status-changes")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(Name="all-states", EventPattern=json.dumps({"source": ["aws.states"]}))
        events.put_targets(Rule="all-states", Targets=[{"Id": "q", "Arn": queue_arn}])
        machine = sfn.create_state_machine(
            name="fails",
            definition=json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail"}}}),
            roleArn="arn:aws:iam::123456789012:role/r",
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        deadline = time.monotonic() + 10
        while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not end"
            time.sleep(0.05)
        assert sfn.describe_execution(executionArn=execution)["status"] == "FAILED"
        assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    aws.reset()
