"""The ASL definition: placeholders, rendering, lint, and the retry/catch rules it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from platescan import asl, contract

ARNS = {
    "ReadMetadataFunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:read-metadata",
    "DetectTextFunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:detect-text",
    "ValidatePlateFunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:validate-plate",
    "WriteResultFunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:write-result",
}
TRANSIENT_LAMBDA = "Lambda.TooManyRequestsException"


@pytest.fixture(scope="module")
def definition() -> dict:
    return json.loads(asl.render_definition(asl.load_template(), ARNS))


def test_template_uses_exactly_the_four_function_placeholders() -> None:
    assert asl.placeholders(asl.load_template()) == set(ARNS)
    assert set(contract.PLACEHOLDERS.values()) == set(ARNS)


# Each Task's input shape in the contract; its keys are the Task's `Parameters`.
TASK_INPUTS = {
    "Read Metadata": contract.ReadMetadataInput,
    "Detect Text": contract.DetectTextInput,
    "Validate Plate": contract.ValidatePlateInput,
    "Write Result": contract.WriteResultInput,
    "Write Rejection": contract.WriteRejectionInput,
}


def test_each_task_passes_exactly_the_contracts_input_shape(definition: dict) -> None:
    tasks = {name for name, state in definition["States"].items() if state["Type"] == "Task"}
    assert tasks == set(TASK_INPUTS)
    for name, shape in TASK_INPUTS.items():
        parameters = definition["States"][name]["Parameters"]
        assert {key.removesuffix(".$") for key in parameters} == set(shape.__annotations__), name
    # Write Result's detection summary is built in the ASL from Detect Text's output.
    summary = definition["States"]["Write Result"]["Parameters"]["detection"]
    assert {key.removesuffix(".$") for key in summary} == set(
        contract.DetectionSummary.__annotations__
    )


def test_each_task_calls_the_function_the_contract_names(definition: dict) -> None:
    by_arn = {
        arn: function
        for function, arn in (
            (f, ARNS[contract.PLACEHOLDERS[f]]) for f in contract.PIPELINE_FUNCTIONS
        )
    }
    called = {
        name: by_arn[state["Resource"]]
        for name, state in definition["States"].items()
        if state["Type"] == "Task"
    }
    assert called == {
        "Read Metadata": "read_metadata",
        "Detect Text": "detect_text",
        "Validate Plate": "validate_plate",
        "Write Result": "write_result",
        "Write Rejection": "write_result",
    }


def test_render_refuses_unknown_and_missing_names() -> None:
    template = asl.load_template()
    with pytest.raises(ValueError, match="unknown placeholders"):
        asl.render_definition(template, {**ARNS, "Bogus": "x"})
    missing = dict(ARNS)
    missing.pop("DetectTextFunctionArn")
    with pytest.raises(ValueError, match="without a value: \\['DetectTextFunctionArn'\\]"):
        asl.render_definition(template, missing)


def test_render_keeps_context_paths_intact(definition: dict) -> None:
    # string.Template would have eaten the `$$` of the context object paths
    params = definition["States"]["Read Metadata"]["Parameters"]
    assert params["execution_arn.$"] == "$$.Execution.Id"
    assert definition["States"]["Detect Text"]["Resource"] == ARNS["DetectTextFunctionArn"]


def test_rendered_definition_passes_statelint(tmp_path: Path, definition: dict) -> None:
    path = tmp_path / "rendered.asl.json"
    path.write_text(json.dumps(definition))
    statelint = Path(sys.executable).with_name("statelint")
    result = subprocess.run([str(statelint), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_catches_a_broken_graph(tmp_path: Path, definition: dict) -> None:
    broken = json.loads(json.dumps(definition))
    broken["States"]["Detect Text"]["Next"] = "No Such State"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    statelint = Path(sys.executable).with_name("statelint")
    result = subprocess.run([str(statelint), str(path)], capture_output=True, text=True)
    assert result.returncode != 0


def test_every_task_retries_transient_errors_with_backoff_and_jitter(definition: dict) -> None:
    for name, state in definition["States"].items():
        if state["Type"] == "Succeed":
            continue
        assert state["Type"] == "Task", name
        retries = state["Retry"]
        lambda_retry = next(r for r in retries if TRANSIENT_LAMBDA in r["ErrorEquals"])
        assert lambda_retry["BackoffRate"] >= 2 and lambda_retry["JitterStrategy"] == "FULL"
        assert retries[-1]["ErrorEquals"] == ["States.ALL"], name
        assert "TimeoutSeconds" in state, name


def test_unsupported_image_is_never_retried_and_always_caught(definition: dict) -> None:
    for name in ("Read Metadata", "Detect Text"):
        state = definition["States"][name]
        first = state["Retry"][0]
        assert first["ErrorEquals"][0] == "UnsupportedImage" and first["MaxAttempts"] == 0
        catch = state["Catch"][0]
        assert catch["ErrorEquals"] == ["UnsupportedImage"]
        assert catch["Next"] == "Write Rejection"


def test_a_used_upload_ends_at_once_without_retry_or_write(definition: dict) -> None:
    # One upload, one processed photo: a second photo posted with the same form, or an event
    # delivered again, ends the execution successfully before any detection or write.
    state = definition["States"]["Read Metadata"]
    assert "UploadAlreadyUsed" in state["Retry"][0]["ErrorEquals"]
    assert state["Retry"][0]["MaxAttempts"] == 0
    (catch,) = [c for c in state["Catch"] if c["ErrorEquals"] == ["UploadAlreadyUsed"]]
    assert definition["States"][catch["Next"]]["Type"] == "Succeed"


def test_no_fail_state_so_a_redrive_resumes_at_the_failed_task(definition: dict) -> None:
    assert not any(s["Type"] == "Fail" for s in definition["States"].values())
    # only named, permanent errors are caught: others fail the execution at their Task
    for state in definition["States"].values():
        for catch in state.get("Catch", []):
            assert "States.ALL" not in catch["ErrorEquals"]


def test_happy_path_is_four_transitions(definition: dict) -> None:
    states, name = definition["States"], definition["StartAt"]
    path = []
    while True:
        path.append(name)
        if states[name].get("End"):
            break
        name = states[name]["Next"]
    assert path == ["Read Metadata", "Detect Text", "Validate Plate", "Write Result"]
