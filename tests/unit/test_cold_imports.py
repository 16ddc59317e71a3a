"""What each Lambda function imports at cold start, checked in a fresh process.

Each handler is imported as `platescan bench --startup` imports it: a new interpreter with
the environment Lambda gives it, so Powertools' Tracer is on and patches at import. A
function must import what it uses, at init, and nothing else: Validate Plate calls no AWS
API (no boto3), only Read Metadata looks at pixels (Pillow), no function but Detect Text
runs OCR (numpy), and Tracer patches botocore alone, not every library the X-Ray SDK finds
installed (requests, sqlite3). The functions that call S3 or DynamoDB do so through
botocore's clients: none of them imports boto3 (nor s3transfer, which boto3 always imports),
about 80 ms of every cold start. The API routes with Powertools' event handler, but without
its validation and without building its OpenAPI schema at init: pydantic (which both need)
is never imported in Lambda; the local server builds the schema.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from platescan.tools import startup

_CHILD = r"""
import importlib, json, sys
importlib.import_module(f"functions.{sys.argv[1]}.app")
import_names = [name for name in sys.argv[2:] if name in sys.modules]
botocore = sys.modules.get("botocore.client")
print(json.dumps({
    "imported": import_names,
    "botocore_traced": bool(botocore and getattr(botocore, "_xray_enabled", False)),
}))
"""

# Not the bare `botocore` package: Powertools imports it (1 ms) to tag its user agent.
HEAVY = [
    "boto3",
    "boto3.dynamodb",
    "s3transfer",
    "multiprocessing.managers",
    "botocore.client",
    "PIL",
    "numpy",
    "cv2",
    "onnxruntime",
    "platescan.plates",
    "requests",
    "aws_lambda_powertools.event_handler",
    "pydantic",
    "joserfc",
]
EXPECTED = {
    "validate_plate": ({"platescan.plates"}, False),
    "read_metadata": ({"botocore.client", "PIL"}, True),
    "write_result": ({"botocore.client"}, True),
    "mark_failed": ({"botocore.client"}, True),
    "api": ({"botocore.client", "aws_lambda_powertools.event_handler"}, True),
    # The engine (and with ONNX, numpy and onnxruntime) is imported on the first photo.
    "detect_text": ({"botocore.client"}, True),
}


def cold_import(function: str) -> tuple[set[str], bool]:
    """The watched modules a cold import of the handler imported; whether botocore is traced."""
    target = startup.Target(function)
    env = startup.lambda_environment(target)
    interpreter, env["PYTHONPATH"] = startup.child_command(target, None)
    done = subprocess.run(
        [*interpreter, "-c", _CHILD, function, *HEAVY, "sqlite3"],
        cwd=startup.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return set(result["imported"]), bool(result["botocore_traced"])


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_a_function_imports_what_it_uses_and_tracer_patches_botocore_only(function: str) -> None:
    wanted, traced = EXPECTED[function]
    imported, botocore_traced = cold_import(function)
    assert imported - {"sqlite3"} == wanted
    assert "sqlite3" not in imported
    assert botocore_traced is traced
