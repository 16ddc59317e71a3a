"""The cold-start measurement's shape: which functions it starts, with what environment,
how it attributes import time, and how it sizes packages. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

from platescan.tools import startup

IMPORTTIME_LOG = """\
import time: self [us] | cumulative | imported package
import time:    120000 |     120000 |   botocore.compat
import time:    300000 |     420000 | botocore
import time:     50000 |      50000 |   aws_xray_sdk.core
import time:     10000 |      60000 | aws_xray_sdk
some other stderr line
"""


def test_every_function_is_started_and_detect_text_once_per_engine() -> None:
    labels = [t.label for t in startup.targets()]
    for name in ("read_metadata", "validate_plate", "write_result", "mark_failed", "api"):
        assert name in labels
    assert "detect_text[onnx]" in labels and "detect_text[rekognition]" in labels
    assert [t.label for t in startup.targets() if t.runs_ocr] == ["detect_text[onnx]"]


def test_the_child_sees_a_lambda_environment_without_the_callers_settings() -> None:
    target = startup.Target("detect_text", "onnx")
    env = startup.lambda_environment(
        target, {"HOME": "/home/x", "AWS_PROFILE": "mine", "POWERTOOLS_TRACE_DISABLED": "1"}
    )
    assert env["HOME"] == "/home/x"
    assert "AWS_PROFILE" not in env and "POWERTOOLS_TRACE_DISABLED" not in env
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "platescan-detect-text"
    assert env["DETECTOR_ENGINE"] == "onnx"
    assert env["LAMBDA_TASK_ROOT"] and env["PYTHONPATH"] == str(startup.REPO_ROOT)


def test_import_time_is_summed_by_top_level_package() -> None:
    heaviest = startup.heaviest_imports(IMPORTTIME_LOG, top=2)
    assert heaviest == {"botocore": 0.42, "aws_xray_sdk": 0.06}


def test_requirement_names_follow_includes(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("# comment\nboto3\nAWS_Lambda_Powertools==3.0\n")
    (tmp_path / "more.txt").write_text("-r base.txt\nnumpy ; python_version > '3'\n")
    names = startup.requirement_names(tmp_path / "more.txt")
    assert names == ["boto3", "aws-lambda-powertools", "numpy"]


def test_the_layer_is_sized_from_installed_distributions_and_their_dependencies() -> None:
    layer = startup.requirements_size(startup.LAYER_REQUIREMENTS)
    assert {"botocore", "boto3", "aws-lambda-powertools", "pillow"} <= set(
        layer["distributions_mb"]
    )
    assert "jmespath" in layer["distributions_mb"]  # a dependency, not named in the file
    assert layer["unzipped_mb"] > 0


def test_a_function_zip_is_sized_as_packaging_builds_it() -> None:
    size = startup.function_zip_size("validate_plate")
    assert 0 < size["zip_mb"] <= size["unzipped_mb"]


def test_one_cold_import_reports_its_numbers() -> None:
    target = startup.Target("validate_plate")
    result = startup._run_child(target, bytecode=True, importtime=True)
    assert result["import_s"] > 0 and result["modules"] > 0
    # Its peak memory, which must fit the memory size Lambda gives the function.
    memory_mb = int(startup.lambda_environment(target)["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    assert 10 < result["peak_rss_mb"] < memory_mb
    assert result["heaviest"]
    assert "model_load_s" not in result  # only the ONNX engine loads models
