"""The stack settings: one loader, whether Pulumi or a tool reads `Pulumi.<stack>.yaml`."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pytest

from infra import config
from tests.infra.pulumi_harness import ROOT, RecordingMocks, config_strings, stack_config


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_tools_read_a_stack_as_the_program_does(stack: str) -> None:
    # Given the stack's file handed to Pulumi as `pulumi up` would hand it
    values = stack_config(stack)
    pulumi.runtime.set_mocks(
        RecordingMocks(region=str(values["aws:region"])), project="platescan", stack=stack
    )
    pulumi.runtime.set_all_config(config_strings(values))
    # When the program reads it through Pulumi and a tool reads the file itself
    # Then both get the same settings, defaults included
    assert config.load_file(stack, ROOT) == config.load()


def test_a_tool_gets_the_programs_errors(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: platescan\n")
    (tmp_path / "Pulumi.odd.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  platescan:uploadRetentionDays: 0\n"
        "  platescan:recordRetentionDays: 30\n"
    )
    with pytest.raises(ValueError, match="uploadRetentionDays must be a positive"):
        config.load_file("odd", tmp_path)
    (tmp_path / "Pulumi.short.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    with pytest.raises(ValueError, match="must set platescan:uploadRetentionDays"):
        config.load_file("short", tmp_path)
    with pytest.raises(ValueError, match="no stack settings"):
        config.load_file("nowhere", tmp_path)
