"""One Lambda function with its own role, log group and nothing else.

Every function in platescan is built through this component so that each gets exactly the
same hardening (own role, X-Ray, JSON logs with a retention period, Powertools settings) and
differs only in the statements it is granted and the environment it reads. Every function runs
on the stack's one architecture (`platescan:architecture`), the one its layer or image is
built for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import StackConfig
from infra.packaging import LAMBDA_RUNTIME, Package


@dataclass
class ZipCode:
    """A zip package run on the managed Python runtime, with the dependency layer."""

    package: Package
    layer_arn: pulumi.Input[str]


@dataclass
class ImageCode:
    """A container image in ECR (its reference includes the digest)."""

    image_uri: pulumi.Input[str]


@dataclass
class FunctionArgs:
    """What distinguishes one function from another."""

    function: str  # the folder name under functions/
    config: StackConfig
    code: ZipCode | ImageCode
    statements: Sequence[policies.Statement]
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    timeout_s: int = 30
    description: str = ""
    # Active: Lambda traces what upstream sampled, and samples requests that arrive without
    # a decision at its own fixed rate. False: PassThrough (only what upstream sampled, which
    # nothing upstream of the API does) with Powertools' Tracer off.
    traced: bool = True
    # Reserved concurrency: the most instances that may run at once (None: unreserved).
    reserved_concurrency: int | None = None


class Function(pulumi.ComponentResource):
    """A Lambda function, its execution role (one per function) and its log group."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    policy: aws.iam.RolePolicy

    def __init__(self, name: str, args: FunctionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platescan:infra:Function", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        physical = f"{cfg.prefix}-{args.function.replace('_', '-')}"

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{physical}",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=policies.assume_role("lambda.amazonaws.com"),
            description=f"Execution role of {physical} only",
            opts=child,
        )
        statements = [
            policies.allow(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [pulumi.Output.concat(self.log_group.arn, ":*")],
            ),
            # Active tracing: the function sends its own segments (see policies.XRAY_WRITE).
            policies.allow_unscoped("WriteTraces", policies.XRAY_WRITE),
            *args.statements,
        ]
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=policies.document(statements),
            opts=child,
        )

        environment = {
            "POWERTOOLS_SERVICE_NAME": cfg.project,
            "POWERTOOLS_LOG_LEVEL": cfg.log_level,
            "POWERTOOLS_METRICS_NAMESPACE": f"{cfg.project.capitalize()}/{cfg.stack}",
            **({} if args.traced else {"POWERTOOLS_TRACE_DISABLED": "true"}),
            # Tracer records each traced function's return value in the trace, and ours
            # carry plates and file names: off, unless the stack asks for it (debugging).
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "true" if cfg.log_personal_data else "false",
            "LOG_PERSONAL_DATA": "true" if cfg.log_personal_data else "false",
            **args.environment,
        }
        zipped = args.code if isinstance(args.code, ZipCode) else None
        image = args.code if isinstance(args.code, ImageCode) else None

        self.function = aws.lambda_.Function(
            name,
            name=physical,
            description=args.description,
            role=self.role.arn,
            architectures=[cfg.architecture],
            memory_size=cfg.memory_for(args.function),
            timeout=args.timeout_s,
            environment={"variables": environment},
            tracing_config={"mode": "Active" if args.traced else "PassThrough"},
            logging_config={
                "log_format": "JSON",
                "log_group": self.log_group.name,
                "application_log_level": cfg.lambda_log_level,
                "system_log_level": "WARN",
            },
            package_type="Zip" if zipped else "Image",
            runtime=LAMBDA_RUNTIME if zipped else None,
            handler="app.lambda_handler" if zipped else None,
            code=pulumi.FileArchive(str(zipped.package.path)) if zipped else None,
            source_code_hash=zipped.package.sha256 if zipped else None,
            layers=[zipped.layer_arn] if zipped else None,
            image_uri=image.image_uri if image else None,
            reserved_concurrent_executions=args.reserved_concurrency,
            # The role must hold its permissions before Lambda checks them at creation.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )
        self.register_outputs({"arn": self.function.arn, "name": self.function.name})
