"""`pulumi up` runs in a small environment: requirements-deploy.txt is enough, and pinned.

The program (both committed stacks) and the deploy commands are run in a fresh interpreter;
every third-party module they import must come from a distribution that
requirements-deploy.txt installs (its names and their dependencies), so the deploy
environment never needs the test, browser or OCR stack. Each name's version comes from
requirements.txt, the one place versions are pinned.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "requirements-deploy.txt"
LOCAL_PACKAGES = {"platescan", "infra", "functions", "tests", "__main__"}
# Imported only when installed: botocore takes certifi's CA bundle if it is there and its
# own otherwise (botocore.httpsession).
OPTIONAL = {"certifi"}

_PROBE = """
import sys
before = set(sys.modules)  # the interpreter's own start-up (site, .pth hooks)
import json, os, pathlib, tempfile
sys.path.insert(0, os.getcwd())
os.environ["BUILDX_NO_DEFAULT_ATTESTATIONS"] = "1"
from infra import packaging
packaging.BUILD_DIR = pathlib.Path(tempfile.mkdtemp())
def stub(requirements, target, architecture):
    (target / "stub").mkdir(parents=True)
packaging.pip_install = stub
from tests.infra.pulumi_harness import deploy
for stack in ("dev", "prod"):
    deploy(stack)
import platescan.tools.cli, platescan.tools.preflight, platescan.tools.replay_dlq
print(json.dumps(sorted({name.split(".")[0] for name in set(sys.modules) - before})))
"""


def _names(path: Path) -> list[str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("-")]


def _closure(names: list[str]) -> set[str]:
    """The distributions `names` install: themselves and what they require, recursively."""
    found: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        found.add(name)
        for requirement in metadata.requires(name) or []:
            parsed = Requirement(requirement)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                todo.append(parsed.name)
    return found


def test_the_program_and_the_deploy_commands_need_only_the_deploy_requirements() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    imported = set(json.loads(probe.stdout.strip().splitlines()[-1]))
    third_party = {
        name
        for name in imported
        if name not in sys.stdlib_module_names
        and name not in LOCAL_PACKAGES | OPTIONAL
        and name.isidentifier()
    }
    owners = metadata.packages_distributions()
    allowed = _closure(_names(DEPLOY))
    outside = {
        name: owners.get(name)
        for name in third_party
        if owners.get(name) and not {canonicalize_name(d) for d in owners[name]} & allowed
    }
    assert not outside, f"imported but not installed by requirements-deploy.txt: {outside}"
    assert {"pulumi", "pulumi_aws", "pulumi_docker_build"} <= third_party


def test_the_deploy_environment_is_small() -> None:
    # Nothing of the test, browser or OCR stack comes with it.
    allowed = _closure(_names(DEPLOY))
    for heavy in ("pytest", "playwright", "moto", "mypy", "onnxruntime", "rapidocr", "numpy"):
        assert canonicalize_name(heavy) not in allowed, heavy


def test_every_deploy_requirement_is_pinned_in_requirements_txt() -> None:
    text = DEPLOY.read_text()
    assert re.search(r"^-c requirements\.txt$", text, re.M), "versions come from requirements.txt"
    pinned = {
        canonicalize_name(line.split("==")[0])
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line
    }
    for name in _names(DEPLOY):
        assert canonicalize_name(name) in pinned, name


def test_pulumi_runs_the_program_in_the_deploy_environment() -> None:
    import yaml

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["virtualenv"] == ".venv-deploy"
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements-deploy.txt" in makefile and ".venv-deploy" in makefile
