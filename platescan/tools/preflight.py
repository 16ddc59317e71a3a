"""preflight: check, before `pulumi up`, what a stack's deploy will need, and say what to fix.

    python -m platescan preflight --stack prod

Reads `Pulumi.<stack>.yaml` through the program's own checks, then looks at this machine and
the AWS account: the Pulumi CLI and the deploy environment, AWS credentials, Rekognition in
the region (Rekognition stacks), Docker running and the attestation setting (ONNX stacks,
whose detect_text is a container image), QEMU for an arm64 image built on x86_64, the
account's Lambda concurrency for detect_text's reservation, and a real alarm address.

Each check prints one line: OK, WARN (the deploy works, but something is not as it should
be) or FAIL (`pulumi up` would stop, or deploy something broken), with what to do. The exit
status is 1 if anything FAILed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import yaml

from infra.config import NO_ATTESTATIONS_ENV, REPO_ROOT, StackConfig, load_file

Status = Literal["OK", "WARN", "FAIL"]
# Lambda keeps this much of an account's concurrency unreserved: a reservation that would
# leave less is refused (UpdateFunctionConcurrency / reserved_concurrent_executions).
MIN_UNRESERVED = 100


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4}  {self.name}: {self.detail}"
        return f"{text}\n      fix: {self.fix}" if self.fix else text


def _run(command: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


def _caller_identity(region: str) -> dict[str, Any]:
    from platescan import aws

    return dict(aws.session().create_client("sts", region_name=region).get_caller_identity())


def _account_settings(region: str) -> dict[str, Any]:
    from platescan import aws

    return dict(aws.session().create_client("lambda", region_name=region).get_account_settings())


def _has_credentials() -> bool:
    from platescan import aws

    return aws.session().get_credentials() is not None


def _regions(service: str) -> list[str]:
    from platescan import aws

    return list(aws.session().get_available_regions(service))


@dataclass
class Machine:
    """What preflight looks at; tests give their own."""

    which: Callable[[str], str | None] = shutil.which
    run: Callable[[list[str]], tuple[int, str]] = _run
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    arch: str = field(default_factory=platform.machine)
    binfmt: Path = Path("/proc/sys/fs/binfmt_misc")
    has_credentials: Callable[[], bool] = _has_credentials
    caller_identity: Callable[[str], dict[str, Any]] = _caller_identity
    account_settings: Callable[[str], dict[str, Any]] = _account_settings
    regions: Callable[[str], list[str]] = _regions


def _deploy_environment(root: Path, machine: Machine) -> Check:
    project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
    venv = str(project.get("runtime", {}).get("options", {}).get("virtualenv", ""))
    python = root / venv / "bin" / "python"
    if not venv or not python.is_file():
        return Check(
            "deploy environment",
            "FAIL",
            f"Pulumi runs the program in {venv or '(none set)'}, which does not exist",
            f"python3 -m venv {venv} && {venv}/bin/pip install -r requirements-deploy.txt",
        )
    code, _ = machine.run([str(python), "-c", "import pulumi, pulumi_aws, pulumi_docker_build"])
    if code != 0:
        return Check(
            "deploy environment",
            "FAIL",
            f"{venv} lacks the Pulumi packages",
            f"{venv}/bin/pip install -r requirements-deploy.txt",
        )
    return Check("deploy environment", "OK", f"{venv} has the pinned Pulumi packages")


def _aws(cfg: StackConfig, machine: Machine) -> list[Check]:
    if not machine.has_credentials():
        return [
            Check(
                "AWS credentials",
                "FAIL",
                "none found (environment, ~/.aws, SSO or instance role)",
                "aws configure, or aws sso login --profile NAME and export AWS_PROFILE=NAME",
            )
        ]
    try:
        identity = machine.caller_identity(cfg.region)
    except Exception as exc:
        return [
            Check(
                "AWS credentials",
                "FAIL",
                f"STS refused them or could not be reached: {exc}",
                "renew the credentials (aws sso login) and check the network",
            )
        ]
    checks = [Check("AWS credentials", "OK", f"account {identity.get('Account')}")]
    try:
        settings = machine.account_settings(cfg.region)
    except Exception as exc:
        checks.append(
            Check("Lambda concurrency", "WARN", f"could not read the account's settings: {exc}")
        )
        return checks
    unreserved = int(settings.get("AccountLimit", {}).get("UnreservedConcurrentExecutions", 0))
    left = unreserved - cfg.detect_text_concurrency
    if left < MIN_UNRESERVED:
        checks.append(
            Check(
                "Lambda concurrency",
                "FAIL",
                f"reserving {cfg.detect_text_concurrency} for detect_text would leave {left} "
                f"unreserved in {cfg.region}; Lambda requires {MIN_UNRESERVED}",
                "ask for a higher 'Concurrent executions' quota in Service Quotas, or lower "
                "platescan:detectTextConcurrency",
            )
        )
    else:
        checks.append(
            Check(
                "Lambda concurrency",
                "OK",
                f"{unreserved} unreserved; detect_text reserves {cfg.detect_text_concurrency}",
            )
        )
    return checks


def _engine(cfg: StackConfig, machine: Machine) -> list[Check]:
    if cfg.detector_engine == "rekognition":
        if cfg.region in machine.regions("rekognition"):
            return [Check("Rekognition", "OK", f"offered in {cfg.region}")]
        return [
            Check(
                "Rekognition",
                "FAIL",
                f"not offered in {cfg.region}",
                "pulumi config set aws:region <a region with Rekognition, e.g. eu-west-1>, "
                "or platescan:detectorEngine onnx",
            )
        ]
    checks = []
    if machine.which("docker") is None:
        checks.append(
            Check(
                "Docker",
                "FAIL",
                "not installed; the ONNX engine's image is built by `pulumi up`",
                "install Docker (Engine or Desktop) and start it",
            )
        )
    else:
        code, output = machine.run(["docker", "info", "--format", "{{.ServerVersion}}"])
        checks.append(
            Check("Docker", "OK", f"daemon {output.splitlines()[-1] if output else 'running'}")
            if code == 0
            else Check(
                "Docker",
                "FAIL",
                f"the daemon does not answer: {output.splitlines()[-1] if output else code}",
                "start Docker (systemctl start docker, or open Docker Desktop)",
            )
        )
    if machine.env.get(NO_ATTESTATIONS_ENV) == "1":
        checks.append(Check("image attestations", "OK", f"{NO_ATTESTATIONS_ENV}=1"))
    else:
        checks.append(
            Check(
                "image attestations",
                "FAIL",
                "Docker would push an image index with a provenance attestation, which Lambda "
                "refuses; the program stops without this setting",
                f"export {NO_ATTESTATIONS_ENV}=1 in the shell that runs pulumi",
            )
        )
    native = {"arm64": ("aarch64", "arm64"), "x86_64": ("x86_64", "amd64")}[cfg.architecture]
    if machine.arch.lower() not in native:
        emulator = "qemu-aarch64" if cfg.architecture == "arm64" else "qemu-x86_64"
        platform_name = "arm64" if cfg.architecture == "arm64" else "amd64"
        other = "x86_64" if cfg.architecture == "arm64" else "arm64"
        if (machine.binfmt / emulator).exists():
            checks.append(
                Check("emulation", "OK", f"{emulator} registered for the image's RUN steps")
            )
        else:
            checks.append(
                Check(
                    "emulation",
                    "WARN",
                    f"the image is {cfg.architecture} and this machine {machine.arch}; no "
                    f"{emulator} is registered, so the build's RUN steps may fail",
                    "docker run --privileged --rm tonistiigi/binfmt --install "
                    f"{platform_name} (once), or set platescan:architecture {other}",
                )
            )
    return checks


def checks(stack: str, root: Path = REPO_ROOT, machine: Machine | None = None) -> list[Check]:
    """Every check for `stack`, in the order a deployer would fix them."""
    machine = machine or Machine()
    found: list[Check] = []
    try:
        cfg = load_file(stack, root)
    except ValueError as exc:
        # A placeholder alarm address, an unknown setting...: the preview would stop here.
        return [Check(f"Pulumi.{stack}.yaml", "FAIL", str(exc), "edit the setting it names")]
    found.append(
        Check(
            f"Pulumi.{stack}.yaml",
            "OK",
            f"{cfg.detector_engine} engine, {cfg.architecture}, region {cfg.region}",
        )
    )
    if cfg.alarm_email:
        found.append(
            Check(
                "alarm address",
                "OK",
                f"{cfg.alarm_email} (confirm the subscription e-mail AWS sends after the deploy)",
            )
        )
    else:
        found.append(
            Check(
                "alarm address",
                "WARN",
                "none: alarms reach only the SNS topic, no person",
                "pulumi config set platescan:alarmEmail you@your-domain",
            )
        )
    if machine.which("pulumi") is None:
        found.append(
            Check(
                "Pulumi CLI",
                "FAIL",
                "not on PATH",
                "install it (https://www.pulumi.com/docs/install/), then pulumi login",
            )
        )
    else:
        found.append(Check("Pulumi CLI", "OK", str(machine.which("pulumi"))))
    found.append(_deploy_environment(root, machine))
    found += _aws(cfg, machine)
    found += _engine(cfg, machine)
    if machine.which("python3.12") is None or machine.run(["python3.12", "-c", "pass"])[0] != 0:
        found.append(
            Check(
                "python3.12",
                "WARN",
                "not found: the dependency layer ships without bytecode (slower cold starts)",
                "install Python 3.12 (the Lambda runtime's version) before the first deploy",
            )
        )
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--stack", required=True, help="the stack to check (Pulumi.<stack>.yaml)")


def main(args: argparse.Namespace, out: TextIO = sys.stdout, machine: Machine | None = None) -> int:
    found = checks(args.stack, machine=machine)
    for check in found:
        out.write(check.line() + "\n")
    failed = sum(check.status == "FAIL" for check in found)
    warned = sum(check.status == "WARN" for check in found)
    verdict = "ready for pulumi up" if not failed else "fix the FAIL lines before pulumi up"
    out.write(f"{args.stack}: {failed} to fix, {warned} to look at: {verdict}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m platescan.tools.preflight")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
