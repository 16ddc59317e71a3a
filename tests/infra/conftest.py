"""Fixtures of the infra tests: the program run under Pulumi mocks, once per configuration.

Four runs: both committed stacks as they are (dev on Rekognition, prod on ONNX), and each
with the other engine, so both engines are proved on both stacks' settings. Packaging writes
to a temporary build folder, and the dependency layer is "installed" by a stub: pip for the
Lambda platform is a deploy-time step, too slow and too networked for a unit test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.infra.pulumi_harness import Deployment, deploy

CONFIGURATIONS = {
    "dev": ("dev", {}),
    "prod": ("prod", {}),
    "dev-onnx": ("dev", {"platescan:detectorEngine": "onnx"}),
    "prod-rekognition": ("prod", {"platescan:detectorEngine": "rekognition"}),
}


def _stub_installer(requirements: Path, target: Path, architecture: str) -> None:
    package = target / "stub_dependency"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"# stands in for {requirements.name} ({architecture})\n")


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Packaging goes to a temporary folder, never to the real build/ cache."""
    path = tmp_path_factory.mktemp("build")
    with pytest.MonkeyPatch.context() as patch:
        # As a deployer of an ONNX stack must (docs/deploy.md): no attestations, no index.
        patch.setenv("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")
        patch.setattr("infra.packaging.BUILD_DIR", path)
        patch.setattr("infra.packaging.pip_install", _stub_installer)
        yield path


@pytest.fixture(scope="session")
def deployments(build_dir: Path) -> dict[str, Deployment]:
    """Each configuration's recorded resources, computed once for the session."""
    return {key: deploy(stack, overrides) for key, (stack, overrides) in CONFIGURATIONS.items()}


@pytest.fixture(params=sorted(CONFIGURATIONS))
def deployment(request: pytest.FixtureRequest, deployments: dict[str, Deployment]) -> Deployment:
    """One configuration at a time, for tests that hold for all of them."""
    return deployments[request.param]


def pytest_configure(config: pytest.Config) -> None:
    # pulumi_aws warns about its own deprecated classes when a module is imported; the
    # program uses none of them (aws.s3.Bucket, not BucketV2).
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:pulumi_aws.*")
