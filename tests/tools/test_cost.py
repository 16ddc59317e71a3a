"""The cost model's arithmetic: the happy path counted from the ASL, stack settings read from
Pulumi.<stack>.yaml, durations from a bench line, and every service line of the breakdown."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from infra.config import Tracing
from platescan.asl import DEFINITION_PATH
from platescan.tools import cli, cost


def _definition() -> dict:
    return json.loads(DEFINITION_PATH.read_text(encoding="utf-8"))


def test_the_happy_path_runs_each_stage_once_within_the_transition_budget() -> None:
    path = cost.happy_path(_definition())
    assert path[0]["name"] == "Read Metadata" and path[-1].get("End")
    assert len(path) <= cost.MAX_TRANSITIONS  # every state entered is billed
    invocations = cost.pipeline_invocations(path)
    for function in ("read_metadata", "detect_text", "validate_plate", "write_result"):
        assert invocations[function] == 1
    assert "Write Rejection" not in [s["name"] for s in path]  # a Catch is not the happy path


def test_a_looping_definition_is_refused() -> None:
    looping = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    with pytest.raises(ValueError, match="loops"):
        cost.happy_path(looping)


@pytest.mark.parametrize(
    ("resource", "function"),
    [
        ("${ReadMetadataFunctionArn}", "read_metadata"),
        ("${DetectTextFunctionArn}", "detect_text"),
        ("arn:aws:states:::dynamodb:putItem", None),
    ],
)
def test_task_resources_map_to_function_folders(resource: str, function: str | None) -> None:
    assert cost.function_of(resource) == function


def test_stack_settings_come_from_the_committed_stack_files() -> None:
    prod = cost.load_stack("prod")
    assert prod.memory_for("detect_text") == 1769
    assert prod.memory_for("validate_plate") == 256  # the default
    assert prod.upload_retention_days == 14  # Step Functions' redrive window
    assert prod.architecture == "arm64"
    assert prod.tracing == Tracing(reservoir_per_s=0, fixed_rate=0.05, api=False)
    assert prod.table_class == "STANDARD_INFREQUENT_ACCESS"
    dev = cost.load_stack("dev")
    assert dev.memory_for("detect_text") == 512
    assert dev.tracing == Tracing(reservoir_per_s=1, fixed_rate=0.05, api=True)
    assert dev.table_class == "STANDARD"
    with pytest.raises(ValueError, match="no stack settings"):
        cost.load_stack("nowhere")


def test_cpu_share_and_xray_sampling() -> None:
    assert cost.cpu_factor(3008) == 1.0
    assert cost.cpu_factor(1769) == 1.0
    assert cost.cpu_factor(256) == pytest.approx(1769 / 256)
    assert cost.xray_sampled(0.5) == 1.0
    assert cost.xray_sampled(21.0) == pytest.approx((1 + 0.05 * 20) / 21)
    # No reservoir: the fixed rate alone, at any volume.
    assert cost.xray_sampled(0.001, reservoir=0, rate=0.05) == 0.05
    assert cost.xray_sampled(50.0, reservoir=0, rate=0.01) == pytest.approx(0.01)


def _prices() -> dict:
    """Round prices and usage, so every line of the breakdown can be checked by hand."""
    prices = cost.load_prices()
    usage = dict(prices["usage"])
    usage.update(
        photo_mb=1024.0,  # 1 GB
        api_requests_per_photo=2,
        api_handler_s=0.1,
        rekognition_detect_text_s=1.0,
        aws_call_s=0.0,
        cold_start_fraction=0.0,
        s3_gets_per_photo=3,
        s3_puts_per_photo=1,
        dynamodb_reads_per_api_request=1,
        site_visits_per_photo=0.0,
        log_bytes_per_invocation=0,
        alarms=0,
    )
    price = {key: 0.0 for key, value in prices["prices"].items() if isinstance(value, float)}
    price.update(taken="test", source="test")
    return {"prices": price, "usage": usage}


def _estimate(
    engine: str, prices: dict, stack_settings: dict[str, Any] | None = None, **durations: float
) -> cost.Estimate:
    stack = replace(
        cost.load_stack("dev"),
        stack="test",
        memory_mb={"default": 1024, "detect_text": 2048},
        upload_retention_days=30,
        record_retention_days=30,
        architecture="x86_64",
        tracing=Tracing(),
        table_class="STANDARD",
    )
    stack = replace(stack, **(stack_settings or {}))
    return cost.estimate(
        engine,
        photos=1000,
        stack=stack,
        prices=prices,
        durations_s=durations,
        cold_start_s={},
        definition=_definition(),
        record_bytes=1000,
    )


def test_each_service_line_is_usage_times_price() -> None:
    prices = _prices()
    prices["prices"].update(
        rekognition_detect_text_per_image=0.001,
        step_functions_standard_per_transition=0.000025,
        lambda_per_request=0.0000002,
        s3_standard_per_get=0.0000004,
        s3_standard_per_gb_month=0.023,
        http_api_per_request=0.000001,
        dynamodb_on_demand_per_write_unit=0.000001,
    )
    result = _estimate("rekognition", prices)
    b = result.breakdown
    assert b["rekognition"] == pytest.approx(1.0)
    assert b["step_functions"] == pytest.approx(4 * 0.025)  # four transitions
    assert b["lambda_requests"] == pytest.approx(6 * 0.0002)  # four tasks, two API calls
    assert b["s3_requests"] == pytest.approx(3 * 0.0004)
    assert b["s3_storage"] == pytest.approx(0.023 * 1000)  # 1 GB kept a month
    assert b["api_gateway"] == pytest.approx(2 * 0.001)
    assert b["dynamodb"] == pytest.approx(3 * 0.001)  # PROCESSING, item, index (1 KB each)
    assert result.usd_per_1000 == pytest.approx(sum(b.values()))
    assert list(b) == list(cost.SERVICES)


def test_lambda_seconds_scale_with_memory_below_one_vcpu() -> None:
    prices = _prices()
    prices["prices"]["lambda_x86_per_gb_second"] = 1.0
    result = _estimate("onnx", prices, detect_text=0.5, read_metadata=0.2)
    # detect_text: 0.5 s at 2 GB; read_metadata: 0.2 s x 1769/1024 at 1 GB; two API calls
    # of 0.1 s x 1769/1024 at 1 GB; the stages not given took no time.
    expected = 0.5 * 2 + 0.2 * 1769 / 1024 + 2 * 0.1 * 1769 / 1024
    assert result.breakdown["lambda_compute"] == pytest.approx(expected * 1000)
    assert result.breakdown["rekognition"] == 0


def test_lambda_compute_is_priced_for_the_stacks_architecture() -> None:
    prices = _prices()
    prices["prices"].update(lambda_x86_per_gb_second=1.0, lambda_arm64_per_gb_second=0.8)
    x86 = _estimate("onnx", prices, detect_text=0.5)
    arm = _estimate("onnx", prices, {"architecture": "arm64"}, detect_text=0.5)
    # The same measured seconds, at Graviton's price.
    assert arm.breakdown["lambda_compute"] == pytest.approx(0.8 * x86.breakdown["lambda_compute"])
    assert arm.details["per_photo"]["architecture"] == "arm64"


def test_xray_counts_sampled_executions_and_traced_api_requests() -> None:
    prices = _prices()
    prices["prices"]["xray_per_trace_recorded"] = 0.001
    # 1,000 photos a month is far below a request a second: the default rule records all,
    # one trace per execution and one per API request (two here).
    default = _estimate("onnx", prices)
    assert default.breakdown["xray"] == pytest.approx(3 * 1.0)
    # A rule with no reservoir and 5% for the executions; the API function not traced.
    sampled = _estimate(
        "onnx", prices, {"tracing": Tracing(reservoir_per_s=0, fixed_rate=0.05, api=False)}
    )
    assert sampled.breakdown["xray"] == pytest.approx(0.05 * 1.0)
    # The rule does not reach the API function: Lambda samples it at its own fixed rate.
    api_on = _estimate("onnx", prices, {"tracing": Tracing(reservoir_per_s=0, fixed_rate=0.05)})
    assert api_on.breakdown["xray"] == pytest.approx((0.05 + 2) * 1.0)


def test_dynamodb_by_table_class_with_point_in_time_recovery() -> None:
    prices = _prices()
    prices["prices"].update(
        dynamodb_on_demand_per_write_unit=1e-6,
        dynamodb_ia_on_demand_per_write_unit=1.25e-6,
        dynamodb_storage_per_gb_month=0.25,
        dynamodb_ia_storage_per_gb_month=0.10,
        dynamodb_pitr_per_gb_month=0.20,
    )
    # A 30-day record of 1,000 bytes: two copies stored (table and index) for a month, one
    # backed up; three write units (PROCESSING, the item, the index entry).
    gb = (1000 + 100) / 1024**3
    standard = _estimate("onnx", prices).breakdown["dynamodb"]
    assert standard == pytest.approx(1000 * (3e-6 + 2 * gb * 0.25 + gb * 0.20))
    ia = _estimate("onnx", prices, {"table_class": "STANDARD_INFREQUENT_ACCESS"})
    assert ia.breakdown["dynamodb"] == pytest.approx(
        1000 * (3 * 1.25e-6 + 2 * gb * 0.10 + gb * 0.2)
    )


def test_durations_prefer_the_handlers_then_the_stages_then_defaults(tmp_path: Path) -> None:
    bench = tmp_path / "bench.txt"
    line = {"stage_p50_s": {"detect_text": 0.4}, "handler_p50_s": {"detect_text": 0.5}}
    bench.write_text("table line\n" + json.dumps(line) + "\n")
    found = cost.durations_from_bench(cost.bench_line(bench), {"write_result": 0.01})
    assert found == {"detect_text": 0.5, "write_result": 0.01}
    bench.write_text("no json here\n")
    with pytest.raises(ValueError, match="no bench JSON line"):
        cost.bench_line(bench)


def test_prices_say_when_and_where_they_were_taken() -> None:
    prices = cost.load_prices()["prices"]
    assert prices["taken"] and "pricing page" in prices["source"]
    assert cost.load_prices()["measured"]["date"]


@pytest.mark.parametrize("engine", ["onnx", "rekognition"])
def test_the_command_ends_with_one_json_line(
    engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["cost", "--engine", engine, "--photos", "5000"]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["engine"] == engine
    assert set(last["breakdown"]) == set(cost.SERVICES)
    assert last["usd_per_1000"] == pytest.approx(sum(last["breakdown"].values()), abs=1e-3)
    assert last["per_photo"]["state_transitions"] <= cost.MAX_TRANSITIONS


def test_the_command_takes_durations_from_a_bench_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow, fast = tmp_path / "slow.json", tmp_path / "fast.json"
    slow.write_text(json.dumps({"handler_p50_s": {"detect_text": 2.0}}))
    fast.write_text(json.dumps({"handler_p50_s": {"detect_text": 0.2}}))
    totals = []
    for path in (slow, fast):
        assert cli.main(["cost", "--engine", "onnx", "--from-bench", str(path)]) == 0
        totals.append(json.loads(capsys.readouterr().out.splitlines()[-1])["usd_per_1000"])
    assert totals[0] > totals[1]


def test_a_bad_memory_override_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cost", "--memory", "detect_text=64"]) == 2
    assert "--memory" in capsys.readouterr().err


def _last_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert cli.main(["cost", "--engine", "onnx", *argv]) == 0
    return dict(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))


def test_architecture_and_retention_can_be_tried_from_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    prod = _last_json(capsys)
    x86 = _last_json(capsys, "--architecture", "x86_64")
    assert x86["per_photo"]["architecture"] == "x86_64"
    assert x86["breakdown"]["lambda_compute"] > prod["breakdown"]["lambda_compute"]
    month = _last_json(capsys, "--upload-retention-days", "28")  # prod keeps them 14
    assert month["breakdown"]["s3_storage"] == pytest.approx(
        2 * prod["breakdown"]["s3_storage"], rel=0.01
    )
    assert cli.main(["cost", "--upload-retention-days", "0"]) == 2


def test_the_monthly_fixed_cost_counts_the_alarms_and_the_history_key() -> None:
    prices = _prices()
    prices["prices"].update(cloudwatch_alarm_per_month=0.1, kms_key_per_month=1.0)
    prices["usage"].update(alarms=9, kms_keys=1)
    estimate = _estimate("rekognition", prices, read_metadata=0.1)
    assert estimate.details["fixed_usd_per_month"] == pytest.approx(0.9 + 1.0)
