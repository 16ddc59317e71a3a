"""Alerts as deployed: tables keyed by owner, the bus and its rule, the topic, the webhook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from platescan import alerts, contract
from tests.infra.pulumi_harness import ACCOUNT, Deployment, deploy

TABLE = "aws:dynamodb/table:Table"
# How Pulumi marks a secret value in resource properties (pulumi.runtime.rpc).
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
WEBHOOK = {
    "platescan:alerts": {
        "email": "alerts@example.com",
        "webhookUrl": "https://hooks.example.com/platescan",
        "webhookHeader": "X-Hook-Key",
        "webhookRatePerSecond": 5,
    },
    "platescan:alertWebhookKey": "s3cret-key",
}


@pytest.fixture(scope="module")
def with_webhook(build_dir: Path) -> Deployment:
    return deploy("dev", WEBHOOK)


def _bus(deployment: Deployment) -> dict:
    return deployment.named("aws:cloudwatch/eventBus:EventBus", "platescan-events").state


def test_watchlist_and_alert_tables_are_keyed_by_owner(deployment: Deployment) -> None:
    watchlists = deployment.named(TABLE, "platescan-watchlists")
    assert (watchlists["hashKey"], watchlists["rangeKey"]) == ("owner", "entry_id")
    table = deployment.named(TABLE, "platescan-alerts")
    assert (table["hashKey"], table["rangeKey"]) == ("owner", "alert_id")
    (index,) = table["localSecondaryIndexes"]
    assert (index["name"], index["rangeKey"]) == (alerts.NEWEST_INDEX, "alerted_at")
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}
    protect = deployment.config["platescan:protectData"]
    for each in (watchlists, table):
        assert each["billingMode"] == "PAY_PER_REQUEST"
        assert each["deletionProtectionEnabled"] is protect
        assert each["pointInTimeRecovery"] == {"enabled": True}


def test_write_result_publishes_plate_matched_events_that_the_rule_takes_from_the_bus(
    deployment: Deployment,
) -> None:
    bus = _bus(deployment)
    assert bus["name"] == f"platescan-{deployment.stack}-events"
    assert deployment.outputs["event_bus"] == bus["name"]
    rule = deployment.named(RULE, "platescan-plate-matched")
    assert rule["eventBusName"] == bus["name"]
    assert json.loads(rule["eventPattern"]) == {
        "source": ["platescan"],
        "detail-type": ["Plate Matched"],
    }
    check = deployment.named("aws:lambda/function:Function", "platescan-write-result")
    env = check["environment"]["variables"]
    assert env["EVENT_BUS_NAME"] == bus["name"]
    assert env["WATCHLISTS_TABLE"] == deployment.named(TABLE, "platescan-watchlists")["name"]
    assert env["ALERTS_TABLE"] == deployment.named(TABLE, "platescan-alerts")["name"]
    assert env["REVIEW_THRESHOLD"] == str(deployment.config.get("platescan:reviewThreshold", 0.8))


def test_alerts_reach_the_topic_as_a_readable_email(deployment: Deployment) -> None:
    rule = deployment.named(RULE, "platescan-plate-matched")
    topic = deployment.named("aws:sns/topic:Topic", "platescan-alerts")
    assert deployment.outputs["alerts_topic_arn"] == topic["arn"]
    (target,) = [t for t in deployment.where(TARGET, rule=rule["name"]) if t["arn"] == topic["arn"]]
    assert target["eventBusName"] == _bus(deployment)["name"]
    transformer = contract.ALERT_EMAIL_TRANSFORMER
    assert target["inputTransformer"] == {
        "inputPaths": transformer["InputPathsMap"],
        "inputTemplate": transformer["InputTemplate"],
    }
    dlq = deployment.named("aws:sqs/queue:Queue", "platescan-alerts-dlq")
    assert target["deadLetterConfig"] == {"arn": dlq["arn"]}
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    (policy,) = deployment.where("aws:sns/topicPolicy:TopicPolicy", arn=topic["arn"])
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == topic["arn"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule["arn"]}}


def test_without_a_webhook_nothing_calls_out(deployment: Deployment) -> None:
    assert not deployment.of_type("aws:cloudwatch/eventApiDestination:EventApiDestination")
    assert not deployment.of_type("aws:cloudwatch/eventConnection:EventConnection")
    rule = deployment.named(RULE, "platescan-plate-matched")
    assert len(deployment.where(TARGET, rule=rule["name"])) == 1


def test_the_webhook_is_an_api_destination_with_a_keyed_connection(
    with_webhook: Deployment,
) -> None:
    (connection,) = with_webhook.of_type("aws:cloudwatch/eventConnection:EventConnection")
    assert connection["authorizationType"] == "API_KEY"
    # the key came from secret config and stays a secret in the stack's state
    auth = connection["authParameters"]
    assert auth[SECRET_SIG] == SECRET_VALUE
    assert auth["value"]["apiKey"] == {"key": "X-Hook-Key", "value": "s3cret-key"}
    (destination,) = with_webhook.of_type("aws:cloudwatch/eventApiDestination:EventApiDestination")
    assert destination["connectionArn"] == connection["arn"]
    assert destination["invocationEndpoint"] == "https://hooks.example.com/platescan"
    assert destination["httpMethod"] == "POST"
    assert destination["invocationRateLimitPerSecond"] == 5
    rule = with_webhook.named(RULE, "platescan-plate-matched")
    (target,) = [
        t for t in with_webhook.where(TARGET, rule=rule["name"]) if t["arn"] == destination["arn"]
    ]
    assert "inputTransformer" not in target.inputs  # the whole event is the body
    dlq = with_webhook.named("aws:sqs/queue:Queue", "platescan-alerts-dlq")
    assert target["deadLetterConfig"] == {"arn": dlq["arn"]}
    # the role may call this destination only, and only this rule may use it
    role = with_webhook.by_arn(target["roleArn"])
    trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {
        "ArnEquals": {"aws:SourceArn": rule["arn"]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    statements = [
        s
        for p in with_webhook.of_type("aws:iam/rolePolicy:RolePolicy")
        if p["role"] == role["name"]
        for s in json.loads(p["policy"])["Statement"]
    ]
    assert statements == [
        {
            "Sid": "InvokeWebhook",
            "Effect": "Allow",
            "Action": ["events:InvokeApiDestination"],
            "Resource": [destination["arn"]],
        }
    ]


def test_the_alert_email_is_subscribed_only_when_configured(with_webhook: Deployment) -> None:
    topic = with_webhook.named("aws:sns/topic:Topic", "platescan-alerts")
    subscriptions = with_webhook.where(
        "aws:sns/topicSubscription:TopicSubscription", topic=topic["arn"]
    )
    assert [(s["protocol"], s["endpoint"]) for s in subscriptions] == [
        ("email", "alerts@example.com")
    ]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"platescan:alerts": {"webhookUrl": "https://hooks.example.com/x"}}, "--secret"),
        (
            {
                "platescan:alerts": {"webhookUrl": "http://hooks.example.com/x"},
                "platescan:alertWebhookKey": "k",
            },
            "https://",
        ),
        ({"platescan:alerts": {"sms": "+1555"}}, "unknown keys: sms"),
        ({"platescan:reviewThreshold": 1.5}, "reviewThreshold"),
    ],
)
def test_bad_alert_settings_are_refused(build_dir: Path, overrides: dict, match: str) -> None:
    with pytest.raises(Exception, match=match):
        deploy("dev", overrides)
