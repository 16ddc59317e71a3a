"""The failure path and `python -m platescan redrive`, locally and against the AWS API shape.

Locally (moto has no RedriveExecution) a failed execution is run again with its input;
against AWS the command calls RedriveExecution, checked here with botocore's Stubber,
which validates every request against the real Step Functions API model.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from platescan import aws, records
from platescan.local.runtime import LocalStack
from platescan.tools import cli, redrive
from tests.reliability.conftest import PLATE, entered_states, failed_attempts, wait_executions
from tests.support import plate_photo

SM = "arn:aws:states:eu-west-1:111122223333:stateMachine:platescan-prod-pipeline"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        (" 90S ", timedelta(seconds=90)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert redrive.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "0d", "-1h", "2 days", "1.5h", "h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        redrive.parse_duration(text)


def run(stack: LocalStack, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out = io.StringIO()
    redrive.redrive(
        aws.client("stepfunctions"),
        stack.state_machine_arn,
        mode="rerun",
        results_table=stack.config.table,
        out=out,
        **kwargs,
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return lines[:-1], lines[-1]


def test_a_crash_that_exhausts_retries_fails_at_the_task_then_a_redrive_completes(
    stack: LocalStack,
) -> None:
    # Given detect_text crashes on every attempt (a bad deploy)
    def crash(event: dict[str, Any]) -> None:
        raise RuntimeError("segfault in the OCR library")

    stack.registry.faults["platescan-detect-text"] = crash
    upload_id = stack.put_photo(plate_photo(PLATE), "car.jpg", content_type="image/jpeg")
    record = stack.wait_for(upload_id, timeout=60)

    # Then retries ran out and the execution stopped at Detect Text; the record says why
    (failed,) = wait_executions(stack, upload_id, 1)
    arn = failed["executionArn"]
    assert failed["status"] == "FAILED"
    assert entered_states(arn)[-1] == "Detect Text"
    assert failed_attempts(arn) == ["RuntimeError"] * 4  # first try + 3 retries (States.ALL)
    assert record["status"] == records.FAILED
    assert record["error"] == {"type": "RuntimeError", "message": "segfault in the OCR library"}
    assert record["execution_arn"] == arn

    # When an operator lists first, nothing is started
    listed, summary = run(stack, dry_run=True)
    assert [(o["execution_arn"], o["action"]) for o in listed] == [(arn, "would-rerun")]
    assert listed[0]["upload_id"] == upload_id and listed[0]["error"] == "RuntimeError"
    assert summary["found"] == 1 and summary["redriven"] == 0 and summary["dry_run"]
    assert len(stack.executions()) == 1

    # When the cause is fixed and the operator redrives
    stack.registry.faults.clear()
    outcomes, summary = run(stack)

    # Then the execution ran again with its input, succeeded, and the record is DONE
    (outcome,) = outcomes
    assert outcome["action"] == "rerun" and outcome["result"] == "SUCCEEDED"
    assert outcome["redriven_as"].endswith(f"{failed['name']}-redrive-1")
    assert outcome["record_status"] == records.DONE
    assert summary | {"since_s": 0} == {
        "summary": True, "mode": "rerun", "since_s": 0, "dry_run": False, "found": 1,
        "redriven": 1, "succeeded": 1, "still_running": 0, "unsuccessful": 0, "skipped": 0,
        "errors": 0,
    }  # fmt: skip
    done = stack.record(upload_id)
    assert done is not None and done["status"] == records.DONE and done["plate_text"] == PLATE
    assert done["execution_arn"] == outcome["redriven_as"] and "error" not in done

    # And a second redrive finds nothing left to do
    outcomes, summary = run(stack)
    assert outcomes == [] and summary["found"] == 0 and redrive.succeeded(summary)


def test_a_redrive_that_fails_again_is_reported_and_can_be_redriven_later(
    stack: LocalStack,
) -> None:
    def crash(event: dict[str, Any]) -> None:
        raise RuntimeError("still broken")

    stack.registry.faults["platescan-validate-plate"] = crash
    upload_id = stack.put_photo(plate_photo(PLATE), "car.jpg", content_type="image/jpeg")
    stack.wait_for(upload_id, timeout=60)

    # The first redrive runs while the fault is still there: it fails again, and says so
    (outcome,), summary = run(stack)
    assert outcome["result"] == "FAILED" and outcome["record_status"] == records.FAILED
    assert summary["unsuccessful"] == 1

    # The next one, after the fix, re-runs the latest attempt (counted once) and succeeds
    stack.registry.faults.clear()
    (outcome,), summary = run(stack)
    assert outcome["redriven_as"].endswith("-redrive-2")
    assert outcome["result"] == "SUCCEEDED" and outcome["record_status"] == records.DONE


def test_an_owned_upload_that_failed_is_redriven_to_its_owners_result(stack: LocalStack) -> None:
    # Given a signed-in user's upload whose detection crashes until retries run out
    def crash(event: dict[str, Any]) -> None:
        raise RuntimeError("broken")

    owner = "2b7c1e4a-1f7e-4c36-9d2a-5e8f7a6b1c3d"
    stack.registry.faults["platescan-detect-text"] = crash
    upload_id = stack.put_photo(
        plate_photo(PLATE), "car.jpg", content_type="image/jpeg", owner=owner
    )
    assert stack.wait_for(upload_id, timeout=60)["status"] == records.FAILED

    # When the fault is fixed and the operator redrives
    stack.registry.faults.clear()
    (outcome,), _ = run(stack)

    # Then the upload is processed (not refused as a form posted twice) and stays its owner's
    assert outcome["result"] == "SUCCEEDED" and outcome["record_status"] == records.DONE
    done = stack.record(upload_id)
    assert done is not None and done["owner"] == owner and done["plate_text"] == PLATE


def test_since_limits_what_is_found(stack: LocalStack) -> None:
    def crash(event: dict[str, Any]) -> None:
        raise RuntimeError("broken")

    stack.registry.faults["platescan-write-result"] = crash
    stack.wait_for(stack.put_photo(plate_photo(PLATE), "car.jpg"), timeout=60)
    sfn = aws.client("stepfunctions")
    arn = stack.state_machine_arn
    assert len(redrive.find_unsuccessful(sfn, arn, timedelta(hours=1), "rerun")) == 1
    later = datetime.now(UTC) + timedelta(hours=2)
    assert redrive.find_unsuccessful(sfn, arn, timedelta(hours=1), "rerun", now=later) == []


# -- against the AWS API (Stubber: no network, requests checked against the API model) ---
def failed_execution(name: str, stopped: datetime) -> dict[str, Any]:
    return {
        "executionArn": f"arn:aws:states:eu-west-1:111122223333:execution:pipeline:{name}",
        "stateMachineArn": SM,
        "name": name,
        "status": "FAILED",
        "startDate": stopped - timedelta(seconds=30),
        "stopDate": stopped,
    }


def s3_event(upload_id: str) -> str:
    return json.dumps({"detail": {"object": {"key": f"uploads/{upload_id}/car.jpg"}}})


def test_on_aws_failed_executions_are_redriven_with_redrive_execution() -> None:
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    now = datetime.now(UTC)
    recent = failed_execution("recent", now - timedelta(hours=1))
    old = failed_execution("old", now - timedelta(days=20))
    gone = failed_execution("gone", now - timedelta(days=2))
    with Stubber(sfn) as stub:
        stub.add_response(
            "list_executions",
            {"executions": [recent, gone, old]},
            {"stateMachineArn": SM, "statusFilter": "FAILED"},
        )
        for status in ("TIMED_OUT", "ABORTED"):
            stub.add_response(
                "list_executions",
                {"executions": []},
                {"stateMachineArn": SM, "statusFilter": status},
            )
        described = {"stateMachineArn": SM, "startDate": now, "status": "FAILED"}
        stub.add_response(
            "describe_execution",
            {
                **described,
                "executionArn": gone["executionArn"],
                "input": s3_event("b" * 22),
                "redriveStatus": "NOT_REDRIVABLE",
                "redriveStatusReason": "Execution is SUCCEEDED or the definition changed",
            },
            {"executionArn": gone["executionArn"]},
        )
        stub.add_response(
            "describe_execution",
            {
                **described,
                "executionArn": recent["executionArn"],
                "input": s3_event("a" * 22),
                "error": "DetectorUnavailable",
                "redriveStatus": "REDRIVABLE",
            },
            {"executionArn": recent["executionArn"]},
        )
        stub.add_response(
            "redrive_execution", {"redriveDate": now}, {"executionArn": recent["executionArn"]}
        )
        # Then waited for: the old attempt's FAILED first, then running, then done
        for status, count in (("FAILED", 0), ("RUNNING", 1), ("SUCCEEDED", 1)):
            stub.add_response(
                "describe_execution",
                {**described, "executionArn": recent["executionArn"], "status": status,
                 "redriveCount": count},
                {"executionArn": recent["executionArn"]},
            )  # fmt: skip
        out = io.StringIO()
        outcomes, summary = redrive.redrive(
            sfn, SM, since=timedelta(days=14), out=out, sleep=lambda s: None
        )
        stub.assert_no_pending_responses()

    # Oldest first; the 20-day-old one is outside the window; a not-redrivable one is skipped
    assert [(o.execution_arn, o.action, o.result) for o in outcomes] == [
        (gone["executionArn"], "skipped", None),
        (recent["executionArn"], "redrive", "SUCCEEDED"),
    ]
    assert outcomes[1].upload_id == "a" * 22 and outcomes[1].error == "DetectorUnavailable"
    lines = out.getvalue().splitlines()
    assert json.loads(lines[-1]) == summary
    assert summary["redriven"] == 1 and summary["succeeded"] == 1 and summary["skipped"] == 1
    assert redrive.succeeded(summary)


def test_on_aws_a_refused_redrive_is_reported_not_raised() -> None:
    sfn = boto3.client("stepfunctions", region_name="eu-west-1")
    execution = failed_execution("x", datetime.now(UTC))
    with Stubber(sfn) as stub:
        stub.add_response("list_executions", {"executions": [execution]})
        stub.add_response("list_executions", {"executions": []})
        stub.add_response("list_executions", {"executions": []})
        stub.add_response(
            "describe_execution",
            {"executionArn": execution["executionArn"], "stateMachineArn": SM,
             "status": "FAILED", "startDate": datetime.now(UTC), "input": "{}"},
        )  # fmt: skip
        stub.add_client_error(
            "redrive_execution", "ExecutionNotRedrivable", "redrive window has passed"
        )
        outcomes, summary = redrive.redrive(sfn, SM, out=io.StringIO())
    assert outcomes[0].action == "error" and "redrive window" in (outcomes[0].message or "")
    assert summary["errors"] == 1 and not redrive.succeeded(summary)


def test_the_command_needs_a_state_machine(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    assert cli.main(["redrive", "--dry-run"]) == 2
    assert "--state-machine-arn" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(["redrive", "--since", "fortnight"])
    assert exited.value.code == 2
