"""preflight on both committed stacks, on a machine described by the test."""

from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from platescan.tools import preflight
from platescan.tools.preflight import Machine

ROOT = Path(__file__).resolve().parents[2]


def ready_machine(tmp_path: Path, **changes: Any) -> Machine:
    """A deployer's machine with everything in place (the test changes one thing)."""
    binfmt = tmp_path / "binfmt"
    binfmt.mkdir(exist_ok=True)
    (binfmt / "qemu-aarch64").write_text("enabled\n")
    machine = Machine(
        which=lambda name: f"/usr/bin/{name}",
        run=lambda command: (0, "27.3.1"),
        env={"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"},
        arch="x86_64",
        binfmt=binfmt,
        has_credentials=lambda: True,
        caller_identity=lambda region: {"Account": "123456789012"},
        account_settings=lambda region: {"AccountLimit": {"UnreservedConcurrentExecutions": 1000}},
        regions=lambda service: ["eu-west-1", "us-east-1"],
    )
    for name, value in changes.items():
        setattr(machine, name, value)
    return machine


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the stack files with the deploy environment present."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml"):
        shutil.copy(ROOT / name, copy / name)
    python = copy / ".venv-deploy" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    return copy


def run(stack: str, root: Path, machine: Machine) -> tuple[int, str]:
    out = io.StringIO()
    found = preflight.checks(stack, root=root, machine=machine)
    for check in found:
        out.write(check.line() + "\n")
    return (1 if any(c.status == "FAIL" for c in found) else 0), out.getvalue()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_ready_machine_passes_with_the_missing_alarm_address_said(
    stack: str, root: Path, tmp_path: Path
) -> None:
    status, text = run(stack, root, ready_machine(tmp_path))
    assert status == 0, text
    # Both committed stacks leave the alarm address to the deployer: said, with the fix.
    assert "WARN  alarm address: none" in text
    assert "pulumi config set platescan:alarmEmail" in text


def test_prod_without_docker_or_the_attestation_setting_says_what_to_fix(
    root: Path, tmp_path: Path
) -> None:
    machine = ready_machine(
        tmp_path, run=lambda command: (1, "Cannot connect to the Docker daemon"), env={}
    )
    status, text = run("prod", root, machine)
    assert status == 1
    assert "FAIL  Docker: the daemon does not answer: Cannot connect" in text
    assert "FAIL  image attestations" in text
    assert "export BUILDX_NO_DEFAULT_ATTESTATIONS=1" in text


def test_dev_needs_no_docker_but_rekognition_in_its_region(root: Path, tmp_path: Path) -> None:
    machine = ready_machine(tmp_path, which=lambda name: None if name == "docker" else "/x")
    assert "Docker" not in run("dev", root, machine)[1]
    machine = ready_machine(tmp_path, regions=lambda service: ["us-east-1"])
    status, text = run("dev", root, machine)
    assert status == 1 and "FAIL  Rekognition: not offered in eu-west-1" in text


def test_no_credentials_no_pulumi_no_deploy_environment(root: Path, tmp_path: Path) -> None:
    (root / ".venv-deploy" / "bin" / "python").unlink()
    machine = ready_machine(
        tmp_path,
        has_credentials=lambda: False,
        which=lambda name: None if name == "pulumi" else f"/usr/bin/{name}",
    )
    status, text = run("dev", root, machine)
    assert status == 1
    assert "FAIL  Pulumi CLI: not on PATH" in text
    assert "FAIL  AWS credentials: none found" in text
    assert "pip install -r requirements-deploy.txt" in text


def test_too_little_lambda_concurrency_for_the_reservation(root: Path, tmp_path: Path) -> None:
    # A new account starts with a concurrency quota of 10: nothing can be reserved.
    machine = ready_machine(
        tmp_path,
        account_settings=lambda region: {"AccountLimit": {"UnreservedConcurrentExecutions": 10}},
    )
    status, text = run("prod", root, machine)
    assert status == 1 and "FAIL  Lambda concurrency" in text and "Service Quotas" in text


def test_an_arm64_image_on_x86_64_without_qemu_is_a_warning(root: Path, tmp_path: Path) -> None:
    machine = ready_machine(tmp_path, binfmt=tmp_path / "nowhere")
    status, text = run("prod", root, machine)
    assert status == 0 and "WARN  emulation" in text and "tonistiigi/binfmt" in text
    assert "emulation" not in run("prod", root, ready_machine(tmp_path, arch="aarch64"))[1]


def test_a_placeholder_alarm_address_fails_with_the_programs_own_message(
    root: Path, tmp_path: Path
) -> None:
    stack = root / "Pulumi.dev.yaml"
    stack.write_text(stack.read_text().replace('alarmEmail: ""', "alarmEmail: ops@example.com"))
    status, text = run("dev", root, ready_machine(tmp_path))
    assert status == 1
    assert "FAIL  Pulumi.dev.yaml" in text and "example.com is reserved" in text


def test_the_command_prints_a_verdict_and_exits_1_on_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    machine = ready_machine(tmp_path, has_credentials=lambda: False)
    status = preflight.main(argparse.Namespace(stack="dev"), out=out, machine=machine)
    assert status == 1
    assert out.getvalue().splitlines()[-1].startswith("dev: ")
    assert "fix the FAIL lines before pulumi up" in out.getvalue()
