"""Monitoring: alarms that tell an operator something needs a redrive or a look.

Failed and timed-out executions (redrive them), messages in the dead-letter queue (events
that never reached the pipeline or the FAILED listener) and errors of any function, all to
one SNS topic, with an e-mail subscription when the stack configures an address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig

PERIOD_S = 300


@dataclass
class MonitoringArgs:
    """What to watch."""

    config: StackConfig
    state_machine_arn: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]
    function_names: Mapping[str, pulumi.Input[str]]


class Monitoring(pulumi.ComponentResource):
    """An SNS topic and the alarms that publish to it."""

    topic: aws.sns.Topic
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("platescan:infra:Monitoring", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)

        # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS managed SNS
        # key, and alarms carry no personal data.
        self.topic = aws.sns.Topic(f"{name}-alarms", opts=child)
        self.subscription = (
            aws.sns.TopicSubscription(
                f"{name}-alarms-email",
                topic=self.topic.arn,
                protocol="email",
                endpoint=cfg.alarm_email,
                opts=child,
            )
            if cfg.alarm_email
            else None
        )

        def alarm(
            key: str,
            description: str,
            namespace: str,
            metric: str,
            dimensions: Mapping[str, pulumi.Input[str]],
            statistic: str = "Sum",
        ) -> aws.cloudwatch.MetricAlarm:
            return aws.cloudwatch.MetricAlarm(
                f"{name}-{key}",
                name=f"{cfg.prefix}-{key}",
                alarm_description=description,
                namespace=namespace,
                metric_name=metric,
                dimensions=dict(dimensions),
                statistic=statistic,
                period=PERIOD_S,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                # No data means nothing happened, which is healthy.
                treat_missing_data="notBreaching",
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                opts=child,
            )

        sfn = {"StateMachineArn": args.state_machine_arn}
        self.alarms = [
            alarm(
                "executions-failed",
                "Pipeline executions failed: redrive them once the cause is fixed",
                "AWS/States",
                "ExecutionsFailed",
                sfn,
            ),
            alarm(
                "executions-timed-out",
                "Pipeline executions timed out: redrive them once the cause is fixed",
                "AWS/States",
                "ExecutionsTimedOut",
                sfn,
            ),
            alarm(
                "dead-letters",
                "Events EventBridge could not deliver are waiting in the dead-letter queue",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": args.dead_letter_queue_name},
                statistic="Maximum",
            ),
        ]
        for function, function_name in sorted(args.function_names.items()):
            self.alarms.append(
                alarm(
                    f"{function.replace('_', '-')}-errors",
                    f"The {function} function raised errors",
                    "AWS/Lambda",
                    "Errors",
                    {"FunctionName": function_name},
                )
            )
        self.register_outputs({"topic_arn": self.topic.arn})
