"""The pipeline: S3 event -> EventBridge -> Step Functions -> four Lambda tasks -> DynamoDB.

Also the listener that marks a record FAILED when an execution fails, times out or is
aborted, and the dead-letter queue for events EventBridge could not deliver.

The state machine is rendered from `statemachine/plate_pipeline.asl.json` by the project's
one render function (`platescan.asl.render_definition`), the same one the local runtime
uses, so the deployed graph is the tested graph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra import packaging, policies
from infra.alerts import Alerts
from infra.config import StackConfig
from infra.function import Function, FunctionArgs, ImageCode, ZipCode
from infra.storage import Storage
from platescan import contract
from platescan.asl import load_template, render_definition
from platescan.contract import PIPELINE_FUNCTIONS, Env

# Lambda timeouts stay under the Task's TimeoutSeconds in the ASL, so a slow invocation
# surfaces as the function's own timeout error, which the state machine retries.
TIMEOUTS_S = {
    "read_metadata": 20,
    "detect_text": 90,
    "validate_plate": 20,
    "write_result": 20,
}
# The image platform for each Lambda architecture (the base image publishes both).
DOCKER_PLATFORMS = {
    "arm64": docker_build.Platform.LINUX_ARM64,
    "x86_64": docker_build.Platform.LINUX_AMD64,
}
# X-Ray evaluates sampling rules by priority, lowest first; the default rule comes last.
SAMPLING_RULE_PRIORITY = 1000
# How long EventBridge keeps retrying a delivery before it goes to the dead-letter queue.
DELIVERY_MAX_AGE_S = 6 * 3600
DELIVERY_MAX_ATTEMPTS = 50


def _arn(cfg: StackConfig, service: str, resource: str) -> pulumi.Output[str]:
    """An ARN in this stack's region and account, for resources named before they exist."""
    return pulumi.Output.concat(
        "arn:aws:", service, ":", cfg.region, ":", policies.account_id(), ":", resource
    )


def upload_event_pattern(bucket: str) -> str:
    """Object Created in this bucket under the uploads prefix, and nothing else."""
    return json.dumps(contract.object_created_pattern(bucket))


def failed_execution_pattern(state_machine_arn: str) -> str:
    """This state machine's executions that ended without success."""
    return json.dumps(contract.execution_unsuccessful_pattern(state_machine_arn))


@dataclass
class PipelineArgs:
    """The pipeline reads the uploads bucket, writes the results table and raises alerts."""

    config: StackConfig
    storage: Storage
    alerts: Alerts


class Pipeline(pulumi.ComponentResource):
    """The Lambda tasks, the state machine, the EventBridge rules and their DLQ."""

    functions: dict[str, Function]
    state_machine: aws.sfn.StateMachine
    dead_letter_queue: aws.sqs.Queue

    def __init__(self, name: str, args: PipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platescan:infra:Pipeline", name, None, opts)
        cfg = args.config
        storage = args.storage
        child = pulumi.ResourceOptions(parent=self)
        bucket = storage.uploads.bucket
        uploads_objects = pulumi.Output.concat(bucket.arn, "/", contract.UPLOADS_PREFIX, "*")
        table = storage.table

        self.layer = aws.lambda_.LayerVersion(
            f"{name}-dependencies",
            layer_name=f"{cfg.prefix}-dependencies",
            description="platescan's pinned Python dependencies (infra/requirements-lambda.txt)",
            code=pulumi.FileArchive(
                str((layer := packaging.build_layer(architecture=cfg.architecture)).path)
            ),
            source_code_hash=layer.sha256,
            compatible_runtimes=[packaging.LAMBDA_RUNTIME],
            compatible_architectures=[cfg.architecture],
            opts=child,
        )
        read_objects = ["s3:GetObject", "s3:GetObjectVersion"]
        # Both readers of uploads may list uploads/: S3 then tells a deleted photo (404) from
        # a refused read (403), and the deleted photo ends REJECTED instead of FAILED.
        list_uploads = policies.list_prefix("ListUploads", bucket.arn, contract.UPLOADS_PREFIX)

        detect_statements = [
            policies.allow("ReadUploads", read_objects, [uploads_objects]),
            list_uploads,
        ]
        detect_env: dict[str, pulumi.Input[str]] = {Env.DETECTOR_ENGINE: cfg.detector_engine}
        if cfg.detector_engine == "rekognition":
            # Rekognition reads the photo from S3 with this role's permissions (above).
            detect_statements.append(
                policies.allow_unscoped("DetectText", policies.REKOGNITION_DETECT_TEXT)
            )
            detect_code: ZipCode | ImageCode = self._zip("detect_text")
        else:
            detect_env["OCR_WORKERS"] = str(cfg.ocr_workers())
            detect_env["HOME"] = "/tmp"  # onnxruntime's cache; only /tmp is writable
            detect_code = self._image(name, "detect_text", cfg)

        specs: dict[str, tuple[list[policies.Statement], dict[str, pulumi.Input[str]], str]] = {
            "read_metadata": (
                [
                    policies.allow("ReadUploads", read_objects, [uploads_objects]),
                    list_uploads,
                    # An update: the record the API wrote (owner, file name) stays on it.
                    policies.allow("MarkProcessing", ["dynamodb:UpdateItem"], [table.arn]),
                ],
                {
                    Env.RESULTS_TABLE: table.name,
                    Env.RETENTION_DAYS: str(cfg.record_retention_days),
                },
                "HeadObject and image checks; marks the record PROCESSING",
            ),
            "detect_text": (
                detect_statements,
                detect_env,
                f"Text detection with the {cfg.detector_engine} engine",
            ),
            "validate_plate": (
                [],  # pure computation: logs and traces only
                {Env.REGION_HINT: cfg.region_hint or ""},
                "Matches detected text against regional plate formats",
            ),
            "write_result": (
                [
                    policies.allow(
                        "WriteResult", ["dynamodb:UpdateItem", "dynamodb:GetItem"], [table.arn]
                    ),
                    # then the owner's watchlist, and one claimed alert per entry matched
                    policies.allow(
                        "ReadWatchlists", ["dynamodb:Query"], [args.alerts.watchlists.arn]
                    ),
                    policies.allow(
                        "ClaimAlerts",
                        ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
                        [args.alerts.alerts.arn],
                    ),
                    policies.allow("PublishAlerts", ["events:PutEvents"], [args.alerts.bus.arn]),
                ],
                {
                    Env.RESULTS_TABLE: table.name,
                    Env.RETENTION_DAYS: str(cfg.record_retention_days),
                    Env.WATCHLISTS_TABLE: args.alerts.watchlists.name,
                    Env.ALERTS_TABLE: args.alerts.alerts.name,
                    Env.EVENT_BUS_NAME: args.alerts.bus.name,
                    Env.REVIEW_THRESHOLD: str(cfg.alerts.review_threshold),
                },
                "Idempotent write of the result record, then the owner's watchlist",
            ),
        }

        self.functions = {}
        for function in PIPELINE_FUNCTIONS:
            statements, env, description = specs[function]
            self.functions[function] = Function(
                f"{name}-{function.replace('_', '-')}",
                FunctionArgs(
                    function=function,
                    config=cfg,
                    code=detect_code if function == "detect_text" else self._zip(function),
                    statements=statements,
                    environment=env,
                    timeout_s=TIMEOUTS_S[function],
                    description=description,
                    # A burst of uploads must not become a burst of DetectText calls (throttled,
                    # retried, then FAILED) or of OCR compute: Lambda throttles above the cap,
                    # and the state machine retries Lambda.TooManyRequestsException with backoff.
                    reserved_concurrency=(
                        cfg.detect_text_concurrency if function == "detect_text" else None
                    ),
                ),
                opts=child,
            )

        self._state_machine(name, cfg, child)
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-events-dlq",
            message_retention_seconds=14 * 24 * 3600,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self._upload_rule(name, bucket.bucket, child)
        self._failure_listener(name, cfg, table, child)

        # EventBridge may write to the DLQ only on behalf of this stack's two rules; the
        # listener's function may send its own failed invocations there too.
        self.queue_policy = aws.sqs.QueuePolicy(
            f"{name}-events-dlq-policy",
            queue_url=self.dead_letter_queue.url,
            policy=policies.document(
                [
                    {
                        "Sid": "EventBridgeDeadLetters",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": self.dead_letter_queue.arn,
                        "Condition": {
                            "ArnEquals": {
                                "aws:SourceArn": [self.upload_rule.arn, self.failure_rule.arn]
                            }
                        },
                    }
                ]
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "state_machine_arn": self.state_machine.arn,
                "dead_letter_queue": self.dead_letter_queue.name,
            }
        )

    # -- code ----------------------------------------------------------------------------

    def _zip(self, function: str) -> ZipCode:
        return ZipCode(package=packaging.build_function(function), layer_arn=self.layer.arn)

    def _image(self, name: str, function: str, cfg: StackConfig) -> ImageCode:
        """Build and push the ONNX engine image; Lambda runs it by `repository@digest`."""
        child = pulumi.ResourceOptions(parent=self)
        context = packaging.stage_image_context(function)
        self.repository = aws.ecr.Repository(
            f"{name}-{function.replace('_', '-')}-images",
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="IMMUTABLE",
            force_delete=not cfg.protect_data,
            opts=child,
        )
        self.repository_lifecycle = aws.ecr.LifecyclePolicy(
            f"{name}-{function.replace('_', '-')}-images-lifecycle",
            repository=self.repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "keep the last 5 images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": 5,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=child,
        )
        token = aws.ecr.get_authorization_token_output(registry_id=self.repository.registry_id)
        self.image = docker_build.Image(
            f"{name}-{function.replace('_', '-')}-image",
            context={"location": str(context)},
            dockerfile={"location": str(context / "Dockerfile")},
            # The stack's architecture; Lambda refuses image indexes: one platform, and the
            # deploy doc has BUILDX_NO_DEFAULT_ATTESTATIONS=1 to keep provenance out.
            platforms=[DOCKER_PLATFORMS[cfg.architecture]],
            push=True,
            # `pulumi preview` needs no Docker; the image is built by `pulumi up` only.
            build_on_preview=False,
            tags=[
                self.repository.repository_url.apply(
                    lambda url: f"{url}:{packaging.context_digest(context)}"
                )
            ],
            registries=[
                {
                    "address": self.repository.repository_url,
                    "username": token.user_name,
                    "password": token.password,
                }
            ],
            opts=child,
        )
        # Lambda accepts `repository:tag` or `repository@sha256:...`, never the provider's
        # `ref` (`repository:tag@sha256:...`); the digest pins exactly what was pushed.
        return ImageCode(
            image_uri=pulumi.Output.concat(self.repository.repository_url, "@", self.image.digest)
        )

    # -- state machine -------------------------------------------------------------------

    def _state_machine(self, name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> None:
        arns = {fn: self.functions[fn].function.arn for fn in PIPELINE_FUNCTIONS}
        # The state machine's ARN is known from its name before it exists: the trust policy
        # and the key grants name it without waiting for it.
        self.machine_arn = _arn(cfg, "states", f"stateMachine:{cfg.prefix}-pipeline")
        self._history_key(name, cfg, child)
        self.state_machine_role = aws.iam.Role(
            f"{name}-state-machine-role",
            assume_role_policy=policies.assume_role(
                "states.amazonaws.com", source_arn_like=self.machine_arn
            ),
            description="Invokes the four pipeline tasks; writes its logs and traces",
            opts=child,
        )
        self.state_machine_logs = aws.cloudwatch.LogGroup(
            f"{name}-state-machine-logs",
            # The vendedlogs prefix keeps CloudWatch's resource policy small (AWS advice).
            name=f"/aws/vendedlogs/states/{cfg.prefix}-pipeline",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        self.state_machine_policy = aws.iam.RolePolicy(
            f"{name}-state-machine-policy",
            role=self.state_machine_role.id,
            policy=policies.document(
                [
                    policies.allow(
                        "InvokePipelineTasks",
                        ["lambda:InvokeFunction"],
                        [arns[fn] for fn in PIPELINE_FUNCTIONS],
                    ),
                    self.use_history_key("UseHistoryKey", ["kms:Decrypt", "kms:GenerateDataKey"]),
                    policies.allow_unscoped("DeliverExecutionLogs", policies.LOG_DELIVERY),
                    # Logs of an encrypted state machine are delivered with a data key of
                    # its own key, asked for on behalf of this account's log groups.
                    policies.allow(
                        "EncryptDeliveredLogs",
                        ["kms:GenerateDataKey"],
                        [self.history_key.arn],
                        # IAM types encryption context keys as strings.
                        {"StringLike": {"kms:EncryptionContext:SourceArn": _arn(cfg, "logs", "*")}},
                    ),
                    policies.allow_unscoped("WriteTraces", policies.XRAY_WRITE),
                ]
            ),
            opts=child,
        )
        definition = pulumi.Output.all(*(arns[fn] for fn in PIPELINE_FUNCTIONS)).apply(
            lambda resolved: render_definition(
                load_template(),
                contract.placeholder_values(dict(zip(PIPELINE_FUNCTIONS, resolved, strict=True))),
            )
        )
        self.state_machine = aws.sfn.StateMachine(
            name,
            name=f"{cfg.prefix}-pipeline",
            type="STANDARD",
            role_arn=self.state_machine_role.arn,
            definition=definition,
            logging_configuration={
                "log_destination": pulumi.Output.concat(self.state_machine_logs.arn, ":*"),
                # States' input and output hold plates read and detected text: personal
                # data, kept out of the logs unless the stack asks for it (debugging).
                "include_execution_data": cfg.log_personal_data,
                "level": cfg.execution_log_level,
            },
            tracing_configuration={"enabled": True},
            encryption_configuration={
                "type": contract.HISTORY_ENCRYPTION,
                "kms_key_id": self.history_key.arn,
                "kms_data_key_reuse_period_seconds": contract.HISTORY_DATA_KEY_REUSE_S,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.state_machine_policy]),
        )
        self._trace_sampling(name, cfg, child)

    def _history_key(self, name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> None:
        """The stack's own key for the execution history, which holds every reading.

        Its key policy is KMS's default: the account's IAM policies decide who may use it.
        Only the roles granted `use_history_key` below (and operators whose own policies
        allow kms:Decrypt, needed to open an execution or redrive it) can read the history;
        a role with states:GetExecutionHistory alone gets an access error, not plates.
        """
        self.history_key = aws.kms.Key(
            f"{name}-history-key",
            description=f"{cfg.prefix}: the pipeline's execution history (readings of plates)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        self.history_key_alias = aws.kms.Alias(
            f"{name}-history-key-alias",
            name=f"alias/{cfg.prefix}-execution-history",
            target_key_id=self.history_key.key_id,
            opts=child,
        )

    def use_history_key(self, sid: str, actions: list[str]) -> policies.Statement:
        """A grant on the history key for this state machine's data only.

        Step Functions names the state machine in the encryption context of every KMS call
        it makes for it, so the grant cannot decrypt anything else under the key.
        """
        return policies.allow(
            sid,
            actions,
            [self.history_key.arn],
            {
                "StringEquals": {
                    "kms:EncryptionContext:aws:states:stateMachineArn": self.machine_arn
                }
            },
        )

    def _trace_sampling(self, name: str, cfg: StackConfig, child: pulumi.ResourceOptions) -> None:
        """How many executions X-Ray records: one rule for this state machine only.

        Step Functions honours X-Ray sampling rules for the executions it starts (no upstream
        service passes a trace header here: EventBridge starts them), and the Lambda tasks
        follow the execution's decision through the trace header Step Functions passes on
        (AWS docs: "Configuring sampling rules" in the X-Ray guide; "Visualize Lambda function
        invocations using AWS X-Ray"). So this rule sets the X-Ray cost of the whole pipeline.
        Matched by the state machine's name, which is unique to the stack.
        """
        self.sampling_rule = aws.xray.SamplingRule(
            f"{name}-trace-sampling",
            rule_name=f"{cfg.prefix}-pipeline"[:32],
            priority=SAMPLING_RULE_PRIORITY,
            version=1,
            reservoir_size=cfg.tracing.reservoir_per_s,
            fixed_rate=cfg.tracing.fixed_rate,
            service_name=f"{cfg.prefix}-pipeline",
            service_type="*",
            resource_arn="*",
            host="*",
            http_method="*",
            url_path="*",
            opts=child,
        )

    # -- events --------------------------------------------------------------------------

    def _upload_rule(
        self, name: str, bucket: pulumi.Output[str], child: pulumi.ResourceOptions
    ) -> None:
        self.upload_rule = aws.cloudwatch.EventRule(
            f"{name}-uploads",
            description="A photo landed under uploads/: start the pipeline",
            event_pattern=bucket.apply(upload_event_pattern),
            opts=child,
        )
        self.start_role = aws.iam.Role(
            f"{name}-start-role",
            assume_role_policy=policies.assume_role("events.amazonaws.com", self.upload_rule.arn),
            description="Lets the uploads rule start this pipeline, nothing else",
            opts=child,
        )
        self.start_policy = aws.iam.RolePolicy(
            f"{name}-start-policy",
            role=self.start_role.id,
            policy=policies.document(
                [
                    policies.allow(
                        "StartPipeline", ["states:StartExecution"], [self.state_machine.arn]
                    ),
                    # StartExecution encrypts the execution's input under the history key
                    # with the caller's permissions.
                    self.use_history_key("EncryptInput", ["kms:GenerateDataKey", "kms:Decrypt"]),
                ]
            ),
            opts=child,
        )
        # The S3 event itself is the execution input: the ASL reads $.detail.bucket.name and
        # $.detail.object.key.
        self.upload_target = aws.cloudwatch.EventTarget(
            f"{name}-uploads-target",
            rule=self.upload_rule.name,
            arn=self.state_machine.arn,
            role_arn=self.start_role.arn,
            dead_letter_config={"arn": self.dead_letter_queue.arn},
            retry_policy={
                "maximum_event_age_in_seconds": DELIVERY_MAX_AGE_S,
                "maximum_retry_attempts": DELIVERY_MAX_ATTEMPTS,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.start_policy]),
        )

    def _failure_listener(
        self,
        name: str,
        cfg: StackConfig,
        table: aws.dynamodb.Table,
        child: pulumi.ResourceOptions,
    ) -> None:
        self.failure_rule = aws.cloudwatch.EventRule(
            f"{name}-failed-executions",
            description="An execution failed, timed out or was aborted: mark its record FAILED",
            event_pattern=self.state_machine.arn.apply(failed_execution_pattern),
            opts=child,
        )
        listener = Function(
            f"{name}-mark-failed",
            FunctionArgs(
                function="mark_failed",
                config=cfg,
                code=self._zip("mark_failed"),
                statements=[
                    policies.allow("MarkFailed", ["dynamodb:UpdateItem"], [table.arn]),
                    # An input the event leaves out is read back from the execution.
                    policies.allow(
                        "ReadFailedInput",
                        ["states:DescribeExecution"],
                        # AWS lists Express executions as this action's other resource
                        # type; a Standard state machine has none, so naming them grants
                        # nothing, and it keeps the policy checker's tables satisfied.
                        [
                            _arn(cfg, "states", f"execution:{cfg.prefix}-pipeline:*"),
                            _arn(cfg, "states", f"express:{cfg.prefix}-pipeline:*:*"),
                        ],
                    ),
                    self.use_history_key("DecryptFailedInput", ["kms:Decrypt"]),
                    # Lambda's on-failure destination sends with the function's own role.
                    policies.allow(
                        "SendFailedInvocations", ["sqs:SendMessage"], [self.dead_letter_queue.arn]
                    ),
                ],
                environment={
                    Env.RESULTS_TABLE: table.name,
                    Env.RETENTION_DAYS: str(cfg.record_retention_days),
                },
                timeout_s=20,
                description="Marks the record of a failed execution FAILED",
            ),
            opts=child,
        )
        self.functions["mark_failed"] = listener
        self.listener_permission = aws.lambda_.Permission(
            f"{name}-mark-failed-invoke",
            action="lambda:InvokeFunction",
            function=listener.function.name,
            principal="events.amazonaws.com",
            source_arn=self.failure_rule.arn,
            opts=child,
        )
        self.failure_target = aws.cloudwatch.EventTarget(
            f"{name}-failed-executions-target",
            rule=self.failure_rule.name,
            arn=listener.function.arn,
            dead_letter_config={"arn": self.dead_letter_queue.arn},
            retry_policy={
                "maximum_event_age_in_seconds": DELIVERY_MAX_AGE_S,
                "maximum_retry_attempts": DELIVERY_MAX_ATTEMPTS,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.listener_permission]),
        )
        # EventBridge invokes asynchronously: if the function itself keeps failing, keep
        # the event in the DLQ rather than dropping it after Lambda's own retries.
        self.listener_invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-mark-failed-async",
            function_name=listener.function.name,
            maximum_retry_attempts=2,
            destination_config={"on_failure": {"destination": self.dead_letter_queue.arn}},
            opts=child,
        )
