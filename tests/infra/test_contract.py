"""The local stack is built from the deployed contract: same table, same rules.

The tests run against the local stack, so a difference between its table or rules and the
deployed ones would go untested. Both are built from `platescan.contract`; these tests hold
what each side actually created equal, not just the constants they read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from platescan import aws, contract
from platescan.local.runtime import LocalStack
from tests.infra.pulumi_harness import Deployment

TABLE = "aws:dynamodb/table:Table"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"


@pytest.fixture
def local(stack_factory: Callable[..., LocalStack]) -> LocalStack:
    return stack_factory(engine="rekognition")


def _deployed_table(deployment: Deployment, name: str = "platescan-results") -> dict[str, Any]:
    table = deployment.named(TABLE, name)
    return {
        "hash_key": table["hashKey"],
        "range_key": table.get("rangeKey"),
        "local_indexes": sorted(
            (index["name"], index["rangeKey"], index["projectionType"])
            for index in table.get("localSecondaryIndexes") or []
        ),
        "attributes": sorted((a["name"], a["type"]) for a in table["attributes"]),
        "indexes": sorted(
            (
                index["name"],
                tuple((k["attributeName"], k["keyType"]) for k in index["keySchemas"]),
                index["projectionType"],
            )
            for index in table.get("globalSecondaryIndexes") or []
        ),
        "ttl": table["ttl"]["attributeName"] if table["ttl"]["enabled"] else None,
        "billing": table["billingMode"],
    }


def _local_table(stack: LocalStack, name: str | None = None) -> dict[str, Any]:
    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=name or stack.config.table)["Table"]
    ttl = dynamodb.describe_time_to_live(TableName=name or stack.config.table)
    ttl_spec = ttl["TimeToLiveDescription"]
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    return {
        "hash_key": keys["HASH"],
        "range_key": keys.get("RANGE"),
        "local_indexes": sorted(
            (
                index["IndexName"],
                next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "RANGE"),
                index["Projection"]["ProjectionType"],
            )
            for index in table.get("LocalSecondaryIndexes", [])
        ),
        "attributes": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
        ),
        "indexes": sorted(
            (
                index["IndexName"],
                tuple((k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]),
                index["Projection"]["ProjectionType"],
            )
            for index in table.get("GlobalSecondaryIndexes", [])
        ),
        "ttl": ttl_spec.get("AttributeName") if ttl_spec["TimeToLiveStatus"] == "ENABLED" else None,
        "billing": table["BillingModeSummary"]["BillingMode"],
    }


def test_the_local_table_is_the_deployed_table(
    deployments: dict[str, Deployment], local: LocalStack
) -> None:
    deployed = _deployed_table(deployments["prod"])
    assert deployed == _deployed_table(deployments["dev"])
    assert _local_table(local) == deployed
    # And both are the contract's, index and TTL included.
    assert (contract.PLATE_INDEX, ((contract.PLATE_TEXT, "HASH"),), "ALL") in deployed["indexes"]
    assert deployed["ttl"] == contract.TTL_ATTRIBUTE


@pytest.mark.parametrize(
    ("name", "local_name"),
    [("platescan-watchlists", "watchlists_table"), ("platescan-alerts", "alerts_table")],
)
def test_the_local_watchlist_and_alert_tables_are_the_deployed_ones(
    deployments: dict[str, Deployment], local: LocalStack, name: str, local_name: str
) -> None:
    deployed = _deployed_table(deployments["prod"], name)
    assert deployed == _deployed_table(deployments["dev"], name)
    assert _local_table(local, getattr(local.config, local_name)) == deployed
    assert deployed["hash_key"] == "owner"  # every read is one owner's query


def _rule_by_target(deployment: Deployment, target_arn: str) -> dict[str, Any]:
    (target,) = deployment.where(TARGET, arn=target_arn)
    (rule,) = deployment.where(RULE, name=target["rule"])
    return dict(json.loads(rule["eventPattern"]))


def _local_rules(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Each local rule's pattern, keyed by the ARN its one target names."""
    events = aws.client("events")
    found: dict[str, dict[str, Any]] = {}
    for rule in events.list_rules()["Rules"]:
        (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        found[target["Arn"]] = json.loads(rule["EventPattern"])
    return found


def _with_names(pattern: dict[str, Any], bucket: str, state_machine: str) -> dict[str, Any]:
    """A pattern with this stack's bucket or state machine written in (they differ by stack)."""
    pattern = json.loads(json.dumps(pattern))
    detail = pattern["detail"]
    if "bucket" in detail:
        detail["bucket"]["name"] = [bucket]
    if "stateMachineArn" in detail:
        detail["stateMachineArn"] = [state_machine]
    return pattern


def test_the_local_rules_are_the_deployed_rules(
    deployments: dict[str, Deployment], local: LocalStack
) -> None:
    deployment = deployments["prod"]
    (machine,) = deployment.of_type("aws:sfn/stateMachine:StateMachine")
    (bucket,) = [b for b in deployment.of_type("aws:s3/bucket:Bucket") if "uploads" in b.name]
    listener = deployment.named("aws:lambda/function:Function", "platescan-mark-failed")
    deployed = {
        "start the pipeline": _rule_by_target(deployment, machine["arn"]),
        "mark failed": _rule_by_target(deployment, listener["arn"]),
    }
    rules = _local_rules(local)
    assert len(rules) == len(deployed) == 2
    local_rules = {
        "start the pipeline": rules[local.state_machine_arn],
        "mark failed": rules[local.function_arns["mark_failed"]],
    }
    for purpose, pattern in deployed.items():
        # Given the deployed pattern with the local bucket and state machine written in
        expected = _with_names(pattern, local.config.bucket, local.state_machine_arn)
        # Then the local rule for the same purpose matches exactly the same events
        assert local_rules[purpose] == expected, purpose
    # The deployed patterns name the deployed bucket and state machine, nothing broader.
    assert deployed["start the pipeline"]["detail"]["bucket"]["name"] == [bucket["bucket"]]
    assert deployed["mark failed"]["detail"]["stateMachineArn"] == [machine["arn"]]
    assert deployed["start the pipeline"]["detail"]["object"]["key"] == [
        {"prefix": contract.UPLOADS_PREFIX}
    ]


def test_the_functions_and_placeholders_are_the_deployed_ones(
    deployments: dict[str, Deployment], local: LocalStack
) -> None:
    deployed = {
        r["name"].removeprefix("platescan-prod-").replace("-", "_")
        for r in deployments["prod"].of_type("aws:lambda/function:Function")
    }
    assert deployed == set(contract.FUNCTIONS) == set(local.function_arns)
    assert set(contract.PLACEHOLDERS) == set(contract.PIPELINE_FUNCTIONS)


def test_the_local_history_is_encrypted_as_the_deployed_one(
    deployments: dict[str, Deployment], local: LocalStack
) -> None:
    (machine,) = deployments["prod"].of_type("aws:sfn/stateMachine:StateMachine")
    deployed = machine["encryptionConfiguration"]
    described = aws.client("stepfunctions").describe_state_machine(
        stateMachineArn=local.state_machine_arn
    )
    encryption = described["encryptionConfiguration"]
    assert (encryption["type"], encryption["kmsDataKeyReusePeriodSeconds"]) == (
        deployed["type"],
        deployed["kmsDataKeyReusePeriodSeconds"],
    )
    assert encryption["type"] == "CUSTOMER_MANAGED_KMS_KEY"
    key = aws.client("kms").describe_key(KeyId=encryption["kmsKeyId"])["KeyMetadata"]
    # Step Functions takes symmetric keys only, and a key of the stack's own.
    assert (key["KeyManager"], key["KeySpec"], key["Enabled"]) == (
        "CUSTOMER",
        "SYMMETRIC_DEFAULT",
        True,
    )
