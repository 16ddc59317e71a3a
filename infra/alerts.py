"""Watchlists and alerts: their tables, the stack's event bus, and where alerts go.

Write Result (in the pipeline) puts a "Plate Matched" event on this stack's
own bus for every new alert. Anything may subscribe to the bus; the stack itself routes
alerts with one rule to
- an SNS topic, as a one-line e-mail (an InputTransformer shapes it), with an e-mail
  subscription when `platescan:alerts.email` is set;
- a webhook through an EventBridge API destination, when `platescan:alerts.webhookUrl` is
  set: the connection sends the stack's key in a header with each call.
Both targets retry for hours and then leave the event in this component's dead-letter
queue. The tables are keyed by owner first: every read is a query on one owner's items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import StackConfig
from platescan import alerts, contract

DELIVERY_MAX_AGE_S = 6 * 3600
DELIVERY_MAX_ATTEMPTS = 50


def _table_args(schema: dict) -> dict:
    """Pulumi's Table arguments from the schema the local stack creates its table with."""
    keys = {k["KeyType"]: k["AttributeName"] for k in schema["KeySchema"]}
    args: dict = {
        "hash_key": keys["HASH"],
        "range_key": keys["RANGE"],
        "attributes": [
            {"name": a["AttributeName"], "type": a["AttributeType"]}
            for a in schema["AttributeDefinitions"]
        ],
    }
    local = schema.get("LocalSecondaryIndexes") or []
    if local:
        args["local_secondary_indexes"] = [
            {
                "name": index["IndexName"],
                "range_key": next(
                    k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "RANGE"
                ),
                "projection_type": index["Projection"]["ProjectionType"],
            }
            for index in local
        ]
    return args


@dataclass
class AlertsArgs:
    config: StackConfig


class Alerts(pulumi.ComponentResource):
    """Watchlist and alert tables, the event bus, the alert rule and its targets."""

    watchlists: aws.dynamodb.Table
    alerts: aws.dynamodb.Table
    bus: aws.cloudwatch.EventBus
    topic: aws.sns.Topic

    def __init__(self, name: str, args: AlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platescan:infra:Alerts", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)

        for attr, suffix, schema in (
            ("watchlists", "watchlists", alerts.WATCHLISTS_SCHEMA),
            ("alerts", "alerts", alerts.ALERTS_SCHEMA),
        ):
            table = aws.dynamodb.Table(
                f"{name}-{suffix}",
                billing_mode="PAY_PER_REQUEST",
                **_table_args(schema),
                # alerts expire with the records they point at; entries never do
                ttl={"attribute_name": contract.TTL_ATTRIBUTE, "enabled": suffix == "alerts"},
                point_in_time_recovery={"enabled": True},
                deletion_protection_enabled=cfg.protect_data,
                opts=child,
            )
            setattr(self, attr, table)
        self.newest_index_arn = pulumi.Output.concat(
            self.alerts.arn, "/index/", alerts.NEWEST_INDEX
        )

        self.bus = aws.cloudwatch.EventBus(
            f"{name}-events", name=f"{cfg.prefix}-events", opts=child
        )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-plate-matched",
            description="A watchlist entry matched a reading: e-mail and webhook",
            event_bus_name=self.bus.name,
            event_pattern=json.dumps(contract.plate_matched_pattern()),
            opts=child,
        )
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-alerts-dlq",
            message_retention_seconds=14 * 24 * 3600,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.dead_letter_policy = aws.sqs.QueuePolicy(
            f"{name}-alerts-dlq-policy",
            queue_url=self.dead_letter_queue.url,
            policy=policies.document(
                [
                    {
                        "Sid": "AlertDeadLetters",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": self.dead_letter_queue.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}},
                    }
                ]
            ),
            opts=child,
        )
        self._email(name, cfg, child)
        if cfg.alerts.webhook_url:
            self._webhook(name, cfg, child)
        self.register_outputs(
            {
                "event_bus": self.bus.name,
                "alerts_topic_arn": self.topic.arn,
                "watchlists_table": self.watchlists.name,
                "alerts_table": self.alerts.name,
            }
        )

    def _delivery(self) -> dict:
        return {
            "dead_letter_config": {"arn": self.dead_letter_queue.arn},
            "retry_policy": {
                "maximum_event_age_in_seconds": DELIVERY_MAX_AGE_S,
                "maximum_retry_attempts": DELIVERY_MAX_ATTEMPTS,
            },
        }

    def _email(self, name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> None:
        # Not KMS-encrypted: EventBridge cannot publish to a topic under the AWS managed SNS
        # key, and a customer managed key costs more than the alerts it would protect here.
        self.topic = aws.sns.Topic(f"{name}-alerts", opts=child)
        self.topic_policy = aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=self.topic.arn,
            policy=policies.document(
                [
                    {
                        "Sid": "AlertRulePublishes",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": self.topic.arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}},
                    }
                ]
            ),
            opts=child,
        )
        if cfg.alerts.email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=cfg.alerts.email,
                opts=child,
            )
        transformer = contract.ALERT_EMAIL_TRANSFORMER
        self.email_target = aws.cloudwatch.EventTarget(
            f"{name}-plate-matched-email",
            rule=self.rule.name,
            event_bus_name=self.bus.name,
            arn=self.topic.arn,
            input_transformer={
                "input_paths": transformer["InputPathsMap"],
                "input_template": transformer["InputTemplate"],
            },
            **self._delivery(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.topic_policy]),
        )

    def _webhook(self, name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> None:
        settings = cfg.alerts
        if settings.webhook_url is None or settings.webhook_key is None:
            raise ValueError("a webhook needs both platescan:alerts.webhookUrl and its key")
        self.connection = aws.cloudwatch.EventConnection(
            f"{name}-webhook",
            name=f"{cfg.prefix}-webhook",
            description="The alert webhook's key, sent in a header with each call",
            authorization_type="API_KEY",
            auth_parameters={
                "api_key": {"key": settings.webhook_header, "value": settings.webhook_key}
            },
            opts=child,
        )
        self.destination = aws.cloudwatch.EventApiDestination(
            f"{name}-webhook-destination",
            name=f"{cfg.prefix}-webhook",
            description="POSTs each Plate Matched event to the configured webhook",
            connection_arn=self.connection.arn,
            invocation_endpoint=settings.webhook_url,
            http_method="POST",
            invocation_rate_limit_per_second=settings.webhook_rate_per_s,
            opts=child,
        )
        self.webhook_role = aws.iam.Role(
            f"{name}-webhook-role",
            assume_role_policy=policies.assume_role("events.amazonaws.com", self.rule.arn),
            description="Lets the alert rule call its API destination, nothing else",
            opts=child,
        )
        self.webhook_policy = aws.iam.RolePolicy(
            f"{name}-webhook-policy",
            role=self.webhook_role.id,
            policy=policies.document(
                [
                    policies.allow(
                        "InvokeWebhook",
                        ["events:InvokeApiDestination"],
                        [self.destination.arn],
                    )
                ]
            ),
            opts=child,
        )
        self.webhook_target = aws.cloudwatch.EventTarget(
            f"{name}-plate-matched-webhook",
            rule=self.rule.name,
            event_bus_name=self.bus.name,
            arn=self.destination.arn,
            role_arn=self.webhook_role.arn,
            **self._delivery(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.webhook_policy]),
        )
