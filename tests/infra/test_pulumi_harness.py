"""The harness names resources as the Pulumi engine does, aliases included.

The URN pins in test_infra_stacks.py are only as good as the URNs the harness computes, so
they are checked here on a small program: a resource moved to another parent with an alias
to its old place answers to its old URN, and without one it does not.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from tests.infra.pulumi_harness import EngineUrns, RecordingMocks

OLD = "urn:pulumi:test::platescan::my:Old$aws:s3/bucket:Bucket::photos"


def _urns(program: Callable[[], None]) -> dict[str, list[str]]:
    mocks = RecordingMocks(region="eu-west-1")
    monitor = EngineUrns(mocks)
    pulumi.runtime.set_mocks(mocks, project="platescan", stack="test", monitor=monitor)
    pulumi.runtime.test(program)()
    return monitor.aliases


def test_a_child_urn_carries_its_parents_types() -> None:
    def program() -> None:
        outer = pulumi.ComponentResource("my:Outer", "outer")
        inner = pulumi.ComponentResource("my:Old", "old", opts=pulumi.ResourceOptions(parent=outer))
        aws.s3.Bucket("photos", opts=pulumi.ResourceOptions(parent=inner))

    urns = _urns(program)
    assert "urn:pulumi:test::platescan::my:Outer$my:Old$aws:s3/bucket:Bucket::photos" in urns


def test_a_moved_resource_answers_to_its_old_urn_only_through_an_alias() -> None:
    def moved(aliases: list[pulumi.Alias]) -> Callable[[], None]:
        def program() -> None:
            old = pulumi.ComponentResource("my:Old", "old")
            new = pulumi.ComponentResource("my:New", "new")
            aws.s3.Bucket("photos", opts=pulumi.ResourceOptions(parent=new, aliases=[*aliases]))
            del old

        return program

    new_urn = "urn:pulumi:test::platescan::my:New$aws:s3/bucket:Bucket::photos"
    with_alias = _urns(moved([pulumi.Alias(parent="urn:pulumi:test::platescan::my:Old::old")]))
    assert OLD in with_alias[new_urn]
    # (pulumi_aws adds aliases of its own to a Bucket: its former type names.)
    assert OLD not in _urns(moved([]))[new_urn]
