"""IAM policy documents, built as JSON once every ARN in them is known.

Every document is produced by `json.dumps` inside `Output.all(...).apply(...)`, never by
string formatting, so an ARN can never break the JSON. Statements name exact ARNs and
actions. `Resource: "*"` appears only for actions that AWS authorises on no narrower
resource; each has a constant here saying why, and the infra tests hold the list closed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

Statement = dict[str, Any]

# Rekognition DetectText takes the image inline or from S3 and has no resource type to
# scope to (Service Authorization Reference: no resource types for DetectText).
REKOGNITION_DETECT_TEXT = ("rekognition:DetectText",)
# X-Ray accepts trace segments only on "*": the API has no resource-level permissions.
XRAY_WRITE = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)
# Step Functions delivers execution logs through CloudWatch Logs' vended log delivery,
# whose actions are authorised on "*" only (AWS documents exactly this statement).
LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
# The only actions allowed on Resource "*", each for the reason above.
UNSCOPABLE_ACTIONS = frozenset(REKOGNITION_DETECT_TEXT + XRAY_WRITE + LOG_DELIVERY)


def allow(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[pulumi.Input[str]],
    condition: dict[str, Any] | None = None,
) -> Statement:
    """An Allow statement on exact resources (Outputs allowed), optionally conditioned."""
    if not resources:
        raise ValueError(f"statement {sid} names no resource")
    statement: Statement = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": list(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def list_prefix(sid: str, bucket_arn: pulumi.Input[str], prefix: str) -> Statement:
    """s3:ListBucket on one bucket, for keys under `prefix` only.

    Without it S3 answers 403 AccessDenied, not 404, for a key that does not exist, and a
    photo deleted before processing would look like a permission error to be retried.
    """
    return allow(
        sid, ["s3:ListBucket"], [bucket_arn], {"StringLike": {"s3:prefix": [f"{prefix}*"]}}
    )


def allow_unscoped(sid: str, actions: Sequence[str]) -> Statement:
    """An Allow on Resource "*", only for actions that cannot be scoped (see above)."""
    extra = set(actions) - UNSCOPABLE_ACTIONS
    if extra:
        raise ValueError(f"{sorted(extra)} can be scoped to resources: name them")
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": "*"}


def document(statements: Sequence[Statement]) -> pulumi.Output[str]:
    """A policy document from statements whose values may be Outputs."""
    return pulumi.Output.all(*statements).apply(
        lambda resolved: json.dumps({"Version": "2012-10-17", "Statement": list(resolved)})
    )


def account_id() -> pulumi.Output[str]:
    """The AWS account the stack deploys into (the credentials' account)."""
    return aws.get_caller_identity_output().account_id


def assume_role(
    service: str,
    source_arn: pulumi.Input[str] | None = None,
    *,
    source_arn_like: pulumi.Input[str] | None = None,
) -> pulumi.Output[str]:
    """Trust policy letting one AWS service assume a role, for this account only.

    Confused-deputy guard: the service may use the role only on behalf of this account
    (`aws:SourceAccount`) and, where the service passes one, of the named resource
    (`aws:SourceArn`, exactly or by pattern). Lambda passes no source ARN when it assumes an
    execution role, so a function's role is conditioned on the account alone.
    """
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id()}}
    if source_arn is not None:
        condition["ArnEquals"] = {"aws:SourceArn": source_arn}
    if source_arn_like is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn_like}
    statement: Statement = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": condition,
    }
    return document([statement])


def deny_insecure_transport(bucket_arn: pulumi.Input[str]) -> Statement:
    """Refuse any request to the bucket that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
