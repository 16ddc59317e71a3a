"""Fixtures of the reliability suite: one local stack per module, Rekognition told what to say.

Tests in a module share a stack (starting one costs more than most of these tests), so
each finds its own executions by upload id and leaves no fault behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from platescan import aws
from platescan.local.runtime import LocalConfig, LocalStack
from tests.support import FakeRekognition, detections, line

PLATE = "7ABC123"


def plate_answer(text: str = PLATE) -> dict[str, Any]:
    """DetectText's answer for a photo with one plate on it."""
    return detections(line(text, 98.0, 0.4, 0.6, 0.2, 0.08))


@pytest.fixture(scope="module")
def rekognition() -> Iterator[FakeRekognition]:
    """moto's Rekognition, reading PLATE until a test says otherwise."""
    with FakeRekognition(plate_answer()).installed() as fake:
        yield fake


@pytest.fixture(scope="module")
def shared_stack(rekognition: FakeRekognition) -> Iterator[LocalStack]:
    """One stack for the module, Rekognition engine, retry waits scaled down 1000x."""
    with LocalStack(LocalConfig(engine="rekognition", retry_time_scale=0.001)) as started:
        yield started


@pytest.fixture
def stack(shared_stack: LocalStack, rekognition: FakeRekognition) -> Iterator[LocalStack]:
    """The module's stack, with no fault injected and Rekognition reading PLATE."""
    rekognition.reset()
    shared_stack.registry.faults.clear()
    yield shared_stack
    shared_stack.registry.faults.clear()
    rekognition.reset()


def describe(execution_arn: str) -> dict[str, Any]:
    return dict(aws.client("stepfunctions").describe_execution(executionArn=execution_arn))


def executions_of(stack: LocalStack, upload_id: str) -> list[dict[str, Any]]:
    """The executions started for one upload (found through their input), oldest first."""
    found = []
    for execution in stack.executions():
        key = json.loads(describe(execution["executionArn"])["input"])["detail"]["object"]["key"]
        if key.split("/")[1:2] == [upload_id]:
            found.append(execution)
    return sorted(found, key=lambda e: e["startDate"])


def wait_executions(
    stack: LocalStack, upload_id: str, count: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Wait until `count` executions of the upload exist and none is running."""
    deadline = time.monotonic() + timeout
    while True:
        found = executions_of(stack, upload_id)
        if len(found) >= count and all(e["status"] != "RUNNING" for e in found):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{upload_id}: {[e['status'] for e in found]} of {count}")
        time.sleep(0.05)


def history(execution_arn: str) -> list[dict[str, Any]]:
    sfn = aws.client("stepfunctions")
    return list(sfn.get_execution_history(executionArn=execution_arn)["events"])


def entered_states(execution_arn: str) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(execution_arn)
        if e["type"] == "TaskStateEntered"
    ]


def failed_attempts(execution_arn: str) -> list[str]:
    return [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in history(execution_arn)
        if e["type"] == "LambdaFunctionFailed"
    ]


def once(error: Exception) -> Callable[[dict[str, Any]], None]:
    """A fault that raises `error` on its first call only."""
    state = {"raised": False}

    def fault(event: dict[str, Any]) -> None:
        if not state["raised"]:
            state["raised"] = True
            raise error

    return fault
