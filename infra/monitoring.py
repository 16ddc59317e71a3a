"""Monitoring: alarms that tell an operator something needs a redrive or a look.

Failed, timed-out and aborted executions (redrive them), throttled executions, messages in
the dead-letter queue (events that never reached the pipeline or the FAILED listener),
events EventBridge could not even put in that queue (lost), and functions that keep
raising errors, all to one SNS topic, with an e-mail subscription when the stack configures
an address.

Each alarm fires on something an operator must act on, never on one transient error that a
retry absorbed: the pipeline's functions are retried by the state machine, the listener by
Lambda, so their Errors alarms wait for errors that persist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import StackConfig

PERIOD_S = 300
# A function's Errors alarm: at least this many errors in each of this many consecutive
# periods. One retried transient error (or a short burst a retry absorbed) stays quiet; a
# function that keeps failing for ten minutes does not.
ERRORS_THRESHOLD = 5
ERRORS_PERIODS = 2


@dataclass
class MonitoringArgs:
    """What to watch."""

    config: StackConfig
    state_machine_arn: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]
    # Plate Matched events their targets (e-mail, webhook) could not take.
    alerts_dead_letter_queue_name: pulumi.Input[str]
    function_names: Mapping[str, pulumi.Input[str]]
    # EventBridge rules whose targets have the dead-letter queue, by a short key.
    rule_names: Mapping[str, pulumi.Input[str]]


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
            threshold: int = 1,
            periods: int = 1,
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
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                threshold=threshold,
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
                "executions-aborted",
                "Pipeline executions were stopped before they ended: redrive them if unintended",
                "AWS/States",
                "ExecutionsAborted",
                sfn,
            ),
            alarm(
                "executions-throttled",
                "Step Functions keeps throttling this pipeline's executions: raise the quota",
                "AWS/States",
                "ExecutionThrottled",
                sfn,
                periods=ERRORS_PERIODS,
            ),
            alarm(
                "dead-letters",
                "Events EventBridge could not deliver are waiting in the dead-letter queue",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": args.dead_letter_queue_name},
                statistic="Maximum",
            ),
            alarm(
                "alert-dead-letters",
                "Alerts their e-mail or webhook target did not take are waiting in the alerts' "
                "dead-letter queue: fix the target, then python -m platescan replay-dlq",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": args.alerts_dead_letter_queue_name},
                statistic="Maximum",
            ),
        ]
        for rule, rule_name in sorted(args.rule_names.items()):
            self.alarms.append(
                alarm(
                    f"{rule}-events-lost",
                    f"EventBridge could not put {rule} events in the dead-letter queue: "
                    "they are lost (check the queue's policy and that it exists)",
                    "AWS/Events",
                    "InvocationsFailedToBeSentToDlq",
                    {"RuleName": rule_name},
                )
            )
        if "mark_failed" in args.function_names:
            # mark_failed's own failures go to the queue through its on-failure destination;
            # when Lambda cannot deliver there either, the notice of a failed upload is lost.
            self.alarms.append(
                alarm(
                    "mark-failed-notices-lost",
                    "Lambda could not put mark_failed's failed invocations in the dead-letter "
                    "queue: those uploads' records may still say PROCESSING",
                    "AWS/Lambda",
                    "DestinationDeliveryFailures",
                    {"FunctionName": args.function_names["mark_failed"]},
                )
            )
        for function, function_name in sorted(args.function_names.items()):
            self.alarms.append(
                alarm(
                    f"{function.replace('_', '-')}-errors",
                    f"The {function} function keeps raising errors (at least "
                    f"{ERRORS_THRESHOLD} in each of {ERRORS_PERIODS} periods of 5 minutes)",
                    "AWS/Lambda",
                    "Errors",
                    {"FunctionName": function_name},
                    threshold=ERRORS_THRESHOLD,
                    periods=ERRORS_PERIODS,
                )
            )
        self.register_outputs({"topic_arn": self.topic.arn})
