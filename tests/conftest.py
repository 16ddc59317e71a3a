"""Fixtures shared by every suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from platescan.local.runtime import LocalConfig, LocalStack
from tests.support import FakeRekognition

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "artifacts"


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account, whatever the developer's shell holds."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def rekognition_returns() -> Iterator[Callable[[Any], None]]:
    """Make moto's Rekognition DetectText answer with a given response (or raise)."""
    with FakeRekognition().installed() as fake:
        yield fake.say


@pytest.fixture
def stack_factory() -> Iterator[Callable[..., LocalStack]]:
    """Start local stacks (retry waits scaled down); all are stopped after the test, and
    each puts back the environment it set."""
    started: list[LocalStack] = []

    def start(**overrides: Any) -> LocalStack:
        config = LocalConfig(**{"engine": "rekognition", "retry_time_scale": 0.001, **overrides})
        stack = LocalStack(config)
        stack.start()
        started.append(stack)
        return stack

    yield start
    for stack in reversed(started):
        stack.stop()


@pytest.fixture
def rekognition_stack(
    stack_factory: Callable[..., LocalStack], rekognition_returns: Callable[[Any], None]
) -> LocalStack:
    """A local stack whose detector is Rekognition (moto, answering as the test says)."""
    return stack_factory(engine="rekognition")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
