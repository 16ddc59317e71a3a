"""The local stack: S3, EventBridge, Step Functions, Lambda and DynamoDB on moto, in-process.

A photo put into the local uploads bucket flows exactly as in AWS: S3 sends `Object
Created` to EventBridge, the rule starts the state machine (the same ASL file, rendered by
the same function as in deployment), moto's States Language interpreter runs it and calls
the Lambda functions, whose real handlers run here (see `gaps`), and the result lands in
DynamoDB. Nothing calls a handler directly. `speedups` only makes moto quicker.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import secrets
import sys
import time
import warnings
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platescan import alerts, asl, auth, aws, contract, dynamo, records, web
from platescan.contract import Env
from platescan.local import gaps, speedups, store, webhook
from platescan.settings import get_settings

log = logging.getLogger("platescan.local")

ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class LocalConfig:
    engine: str = "onnx"
    region: str = "us-east-1"
    bucket: str = "platescan-uploads"
    table: str = "platescan-results"
    watchlists_table: str = "platescan-watchlists"
    alerts_table: str = "platescan-alerts"
    event_bus: str = "platescan-events"
    alerts_topic: str = "platescan-alerts"
    # Readings less sure than this are marked "needs review" (the stack's reviewThreshold).
    review_threshold: float = 0.8
    # Where "Plate Matched" events are POSTed, as the stack's API destination does; None:
    # no webhook (the local server points it at its own test webhook).
    webhook_url: str | None = None
    state_machine: str = "platescan-pipeline"
    site_origin: str = "http://127.0.0.1:8000"
    # Multiplies the state machine's Retry waits; tests use a small value.
    retry_time_scale: float = 1.0
    region_hint: str | None = None
    # How long records are kept before DynamoDB's TTL deletes them.
    retention_days: int = 90
    # Where browsers reach the S3 stand-in, when a web server fronts the stack.
    s3_public_endpoint: str | None = None
    # Executions started by uploads that run at once; later uploads wait their turn (see
    # gaps.Admission). 0: four per OCR worker with the ONNX engine, unlimited otherwise.
    max_running_executions: int = 0
    daily_upload_quota: int = 200
    # Where photos and records are kept between runs (`serve --data`); None: memory only.
    data_dir: str | None = None


class LocalStack:
    """Start with `with LocalStack(config) as stack:`; everything stops with the block."""

    def __init__(self, config: LocalConfig | None = None) -> None:
        self.config = config or LocalConfig()
        self._exit = ExitStack()
        self.handlers: dict[str, Any] = {}
        self.function_arns: dict[str, str] = {}
        self.state_machine_arn = ""
        self.alerts_topic_arn = ""
        self.registry = gaps.REGISTRY
        self._started = False
        self.data = store.DataFolder(Path(self.config.data_dir)) if self.config.data_dir else None
        # The environment variables as they were before `start` set them, for `stop`.
        self._saved_environment: dict[str, str | None] = {}
        self.user_pool_id = ""
        self.client_id = ""

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from moto import mock_aws

        self._started = True
        self._set_environment()
        self._exit.enter_context(
            mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        )
        self.registry = self._exit.enter_context(gaps.installed())
        self._exit.enter_context(speedups.installed(retry_time_scale=self.config.retry_time_scale))
        aws.reset()
        self._create_storage()
        self._create_user_pool()
        self._create_functions()
        self._create_state_machine()
        self._create_rules()
        limit = self._execution_limit()
        if limit:
            self.registry.admission = gaps.Admission(limit)
        if self.data is not None:
            self._resume_unfinished()
            self.data.start_saving(self.config.bucket, self._tables())

    def _tables(self) -> list[str]:
        cfg = self.config
        return [cfg.table, cfg.watchlists_table, cfg.alerts_table]

    def _resume_unfinished(self) -> None:
        """Process again the kept photos whose execution ended with the previous process."""
        s3 = aws.client("s3")
        for key in store.DataFolder.unfinished_uploads(self.config.table, self.config.bucket):
            got = s3.get_object(Bucket=self.config.bucket, Key=key)
            # The execution that held the record ended with the last process: the upload is
            # handed back, so that the next execution may take it over.
            records.release(self.config.table, records.upload_id_from_key(key))
            s3.put_object(
                Bucket=self.config.bucket,
                Key=key,
                Body=got["Body"].read(),
                ContentType=got.get("ContentType") or "binary/octet-stream",
                Metadata=got.get("Metadata") or {},
            )
            log.info("processing %s again: its execution ended with the last run", key)

    def _execution_limit(self) -> int:
        if self.config.max_running_executions or self.config.engine != "onnx":
            return self.config.max_running_executions
        from platescan.engines.onnx import get_pool

        return 4 * get_pool().workers

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self.data is not None:
            self.data.stop_saving()
            try:
                self.data.save(self.config.bucket, self._tables())
            except Exception:  # the stack may have failed to start: nothing to keep then
                log.exception("could not save the local data to %s", self.data.root)
        if self.registry.admission is not None:
            self.registry.admission.close()
            self.registry.admission = None
        self.registry.handlers.clear()
        self.registry.faults.clear()
        self.registry.invocations.clear()
        self._exit.close()
        aws.reset()
        self._restore_environment()

    def _set_environment(self) -> None:
        cfg = self.config
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": cfg.region,
            "AWS_REGION": cfg.region,
            Env.RESULTS_TABLE: cfg.table,
            Env.UPLOADS_BUCKET: cfg.bucket,
            Env.DETECTOR_ENGINE: cfg.engine,
            Env.REGION_HINT: cfg.region_hint or "",
            Env.SITE_ORIGIN: cfg.site_origin,
            Env.MAX_UPLOAD_BYTES: str(contract.MAX_UPLOAD_BYTES),
            Env.PRESIGN_EXPIRES_S: str(contract.PRESIGN_EXPIRES_S),
            Env.RETENTION_DAYS: str(cfg.retention_days),
            Env.S3_PUBLIC_ENDPOINT: cfg.s3_public_endpoint or "",
            Env.DAILY_UPLOAD_QUOTA: str(cfg.daily_upload_quota),
            Env.WATCHLISTS_TABLE: cfg.watchlists_table,
            Env.ALERTS_TABLE: cfg.alerts_table,
            Env.EVENT_BUS_NAME: cfg.event_bus,
            Env.REVIEW_THRESHOLD: str(cfg.review_threshold),
            "POWERTOOLS_SERVICE_NAME": "platescan",
            "POWERTOOLS_METRICS_NAMESPACE": "platescan",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            # No X-Ray daemon and no CloudWatch here: traces and metrics have nowhere to go.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
        for name in (*env, "AWS_PROFILE"):
            self._saved_environment.setdefault(name, os.environ.get(name))
        for name, value in env.items():
            os.environ[name] = value
        # With metrics disabled Powertools still warns on every invocation; that is noise here.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        os.environ.pop("AWS_PROFILE", None)
        get_settings.cache_clear()

    def _restore_environment(self) -> None:
        """Put back what `_set_environment` changed: a stack leaves its process as it found it."""
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment.clear()
        get_settings.cache_clear()

    # -- resources -----------------------------------------------------------------------
    def _create_storage(self) -> None:
        cfg = self.config
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=cfg.bucket)
        # Versioned, as the deployed bucket is: a form posted twice within its lifetime puts
        # a second version, and the record's photo link names the version that was read.
        s3.put_bucket_versioning(Bucket=cfg.bucket, VersioningConfiguration={"Status": "Enabled"})
        # The deployed bucket's CORS rule; the local S3 stand-in answers browsers by it.
        rule = web.UPLOADS_CORS
        s3.put_bucket_cors(
            Bucket=cfg.bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": [cfg.site_origin],
                        "AllowedMethods": list(rule.methods),
                        "AllowedHeaders": list(rule.headers),
                        "ExposeHeaders": list(rule.expose),
                        "MaxAgeSeconds": rule.max_age_s,
                    }
                ]
            },
        )
        if self.data is not None:
            # Before the bucket sends events: kept photos are not processed again.
            self.data.restore_objects(cfg.bucket)
        s3.put_bucket_notification_configuration(
            Bucket=cfg.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        # The deployed table's keys, indexes and TTL (the contract's schema).
        dynamodb = aws.client("dynamodb")
        dynamodb.create_table(**contract.create_table_request(cfg.table))
        dynamodb.update_time_to_live(
            TableName=cfg.table,
            TimeToLiveSpecification={
                "Enabled": True,
                "AttributeName": contract.TABLE.ttl_attribute,
            },
        )

        for name, schema in (
            (cfg.watchlists_table, alerts.WATCHLISTS_SCHEMA),
            (cfg.alerts_table, alerts.ALERTS_SCHEMA),
        ):
            dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **schema)
        # Alerts expire with the records they point at (as deployed); entries never do.
        dynamodb.update_time_to_live(
            TableName=cfg.alerts_table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": contract.TTL_ATTRIBUTE},
        )
        if self.data is not None:
            for table in self._tables():
                self.data.restore_items(table)

    def _create_user_pool(self) -> None:
        """The user pool, its app client (no secret: a browser holds it) and `admins`.

        With a data folder, the kept pool comes back instead: the same accounts, the same
        ids, so uploads stay their owners' across a restart.
        """
        if self.data is not None:
            kept = self.data.restore_user_pool(self.config.region)
            if kept is not None:
                self.user_pool_id, self.client_id = kept
                return
        cognito = aws.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName="platescan-users",
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 12,
                    "RequireUppercase": False,
                    "RequireLowercase": False,
                    "RequireNumbers": False,
                    "RequireSymbols": False,
                }
            },
        )
        self.user_pool_id = pool["UserPool"]["Id"]
        client = cognito.create_user_pool_client(
            UserPoolId=self.user_pool_id,
            ClientName="platescan-site",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )
        self.client_id = client["UserPoolClient"]["ClientId"]
        cognito.create_group(UserPoolId=self.user_pool_id, GroupName=auth.ADMIN_GROUP)
        if self.data is not None:
            self.data.keep_user_pool(self.config.region, self.user_pool_id)

    @property
    def issuer(self) -> str:
        """The tokens' `iss`, as Cognito names a pool (and the JWT authorizer expects)."""
        return f"https://cognito-idp.{self.config.region}.amazonaws.com/{self.user_pool_id}"

    def add_user(self, email: str, password: str, *, admin: bool = False) -> str:
        """A confirmed user (an admin too, if asked); returns their `sub`."""
        cognito = aws.client("cognito-idp")
        cognito.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=self.user_pool_id, Username=email, Password=password, Permanent=True
        )
        if admin:
            cognito.admin_add_user_to_group(
                UserPoolId=self.user_pool_id, Username=email, GroupName=auth.ADMIN_GROUP
            )
        user = cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        return next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")

    def invite_user(self, email: str, *, admin: bool = False) -> str:
        """A user as an admin invites one on AWS; returns their temporary password.

        Their first sign-in asks them to choose their own (NEW_PASSWORD_REQUIRED).
        """
        # A one-time password Cognito accepts; its holder replaces it at first sign-in.
        password = "Tmp-" + secrets.token_urlsafe(15)
        cognito = aws.client("cognito-idp")
        cognito.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=email,
            TemporaryPassword=password,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        if admin:
            cognito.admin_add_user_to_group(
                UserPoolId=self.user_pool_id, Username=email, GroupName=auth.ADMIN_GROUP
            )
        return password

    def sign_in(self, email: str, password: str) -> dict[str, Any]:
        """USER_PASSWORD_AUTH, as the site does: `AuthenticationResult` (the tokens)."""
        answer = aws.client("cognito-idp").initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return dict(answer["AuthenticationResult"])

    def _role(self, name: str, service: str) -> str:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = aws.client("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
        )
        return str(role["Role"]["Arn"])

    def _create_functions(self) -> None:
        role = self._role("platescan-local-functions", "lambda.amazonaws.com")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as zf:
            zf.writestr("app.py", "# the handler runs in-process; see platescan.local.gaps\n")
        lam = aws.client("lambda")
        for name in contract.FUNCTIONS:
            module = importlib.import_module(f"functions.{name}.app")
            if name == "api":
                # The API reads its CORS origin when imported; a later stack in the same
                # process (another port, another site origin) must not inherit the first one.
                module = importlib.reload(module)
            _logs_to_stderr(module)
            self.handlers[name] = module.lambda_handler
            function_name = f"platescan-{name.replace('_', '-')}"
            created = lam.create_function(
                FunctionName=function_name,
                Runtime="python3.11",
                Role=role,
                Handler="app.lambda_handler",
                Code={"ZipFile": code.getvalue()},
                MemorySize=2048 if name == "detect_text" else 256,
                Timeout=120 if name == "detect_text" else 30,
            )
            self.function_arns[name] = created["FunctionArn"]
            self.registry.handlers[function_name] = _discarding_metrics(module)

    def _create_state_machine(self) -> None:
        values = contract.placeholder_values(self.function_arns)
        definition = asl.render_definition(asl.load_template(), values)
        created = aws.client("stepfunctions").create_state_machine(
            name=self.config.state_machine,
            definition=definition,
            roleArn=self._role("platescan-local-states", "states.amazonaws.com"),
            type="STANDARD",
            encryptionConfiguration=contract.history_encryption(self._history_key()),
        )
        self.state_machine_arn = created["stateMachineArn"]

    def _history_key(self) -> str:
        """The execution history's key, as a deployed stack has one of its own."""
        created = aws.client("kms").create_key(
            Description="platescan local: the pipeline's execution history"
        )
        return str(created["KeyMetadata"]["Arn"])

    def _create_rules(self) -> None:
        events = aws.client("events")
        role = self._role("platescan-local-events", "events.amazonaws.com")
        events.put_rule(
            Name="platescan-uploads",
            EventPattern=json.dumps(contract.object_created_pattern(self.config.bucket)),
        )
        events.put_targets(
            Rule="platescan-uploads",
            Targets=[{"Id": "pipeline", "Arn": self.state_machine_arn, "RoleArn": role}],
        )
        events.put_rule(
            Name="platescan-execution-failed",
            EventPattern=json.dumps(
                contract.execution_unsuccessful_pattern(self.state_machine_arn)
            ),
        )
        events.put_targets(
            Rule="platescan-execution-failed",
            Targets=[{"Id": "mark-failed", "Arn": self.function_arns["mark_failed"]}],
        )
        self._create_alert_routes()

    def _create_alert_routes(self) -> None:
        """The stack's bus, and its rule sending alerts to the topic (and the webhook)."""
        cfg = self.config
        events = aws.client("events")
        events.create_event_bus(Name=cfg.event_bus)
        self.alerts_topic_arn = aws.client("sns").create_topic(Name=cfg.alerts_topic)["TopicArn"]
        events.put_rule(
            Name="platescan-plate-matched",
            EventBusName=cfg.event_bus,
            EventPattern=json.dumps(contract.plate_matched_pattern()),
        )
        targets: list[dict[str, Any]] = [
            {
                "Id": "email",
                "Arn": self.alerts_topic_arn,
                "InputTransformer": contract.ALERT_EMAIL_TRANSFORMER,
            }
        ]
        if cfg.webhook_url:
            connection = events.create_connection(
                Name="platescan-webhook",
                AuthorizationType="API_KEY",
                AuthParameters={
                    "ApiKeyAuthParameters": {
                        "ApiKeyName": webhook.API_KEY_HEADER,
                        "ApiKeyValue": "local-webhook-key",
                    }
                },
            )
            destination = events.create_api_destination(
                Name="platescan-webhook",
                ConnectionArn=connection["ConnectionArn"],
                InvocationEndpoint=cfg.webhook_url,
                HttpMethod="POST",
            )
            targets.append({"Id": "webhook", "Arn": destination["ApiDestinationArn"]})
        events.put_targets(
            Rule="platescan-plate-matched", EventBusName=cfg.event_bus, Targets=targets
        )

    # -- using it ------------------------------------------------------------------------
    def put_photo(
        self,
        data: bytes,
        file_name: str,
        *,
        content_type: str = "application/octet-stream",
        upload_id: str | None = None,
        region: str | None = None,
        owner: str | None = None,
    ) -> str:
        """Put a photo into the uploads bucket; returns its upload id.

        With an `owner`, as the website does: the API's record first, then the object at
        the owned key. Without, as an operator would (`uploads/{id}/{name}`): a record
        with no owner, which only admins see.
        """
        from platescan.api import new_upload_id, safe_file_name

        upload_id = upload_id or new_upload_id()
        extra = {"Metadata": {"region": region}} if region else {}
        if owner:
            if records.get_record(self.config.table, upload_id) is None:
                records.issue_upload(
                    self.config.table, upload_id, owner, safe_file_name(file_name), 86400
                )
            key = records.owned_key(owner, upload_id)
        else:
            key = contract.upload_key(upload_id, safe_file_name(file_name))
        aws.client("s3").put_object(
            Bucket=self.config.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            **extra,
        )
        return upload_id

    def record(self, upload_id: str) -> dict[str, Any] | None:
        """The upload's record, as `records.get_record` returns it.

        Read from moto's table directly (see `speedups.read_item`): waiters call this while
        executions run, and going through moto's DynamoDB API costs them about 4 ms of CPU
        a look-up.
        """
        found = speedups.read_item(
            self.config.region, self.config.table, dynamo.to_item({"upload_id": upload_id})
        )
        return records.from_dynamo(dynamo.from_item(found)) if found else None

    def wait_for(self, upload_id: str, timeout: float = 120.0, poll: float = 0.1) -> dict[str, Any]:
        """The upload's record once it is final and the execution that wrote it has ended.

        Looks again whenever a handler returns or an execution ends (the registry's
        generation), and at least every `poll` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            seen = self.registry.generation  # read before looking: no change slips between
            record = self.record(upload_id)
            final = record is not None and record.get("status") in records.FINAL_STATUSES
            if record and final and not self._running(str(record.get("execution_arn") or "")):
                return record
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                status = record.get("status") if record else "no record"
                raise TimeoutError(
                    f"upload {upload_id} not finished after {timeout:.0f}s ({status})"
                )
            self.registry.wait_change(seen, timeout=min(remaining, poll))

    def _running(self, execution_arn: str) -> bool:
        if not execution_arn:
            return False
        try:
            described = aws.client("stepfunctions").describe_execution(executionArn=execution_arn)
        except aws.client("stepfunctions").exceptions.ExecutionDoesNotExist:
            return False
        return bool(described["status"] == "RUNNING")

    def executions(self, status: str | None = None) -> list[dict[str, Any]]:
        sfn = aws.client("stepfunctions")
        kwargs: dict[str, Any] = {"stateMachineArn": self.state_machine_arn}
        if status:
            kwargs["statusFilter"] = status
        found: list[dict[str, Any]] = []
        for page in sfn.get_paginator("list_executions").paginate(**kwargs):
            found.extend(page["executions"])
        return found


def _discarding_metrics(module: Any) -> Any:
    """The module's handler, its metrics dropped after each call.

    With metrics disabled Powertools skips the flush but keeps the values, and prints them to
    stdout once 100 pile up; in Lambda each flush clears them. Here nothing collects them.
    """
    handler = module.lambda_handler
    metrics = getattr(module, "metrics", None)

    def run(event: dict[str, Any], context: Any) -> Any:
        try:
            return handler(event, context)
        finally:
            if metrics is not None:
                metrics.clear_metrics()

    return run


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _logs_to_stderr(module: Any) -> None:
    """Powertools logs to stdout, which the CLI keeps for its JSON lines."""
    logger = getattr(module, "logger", None)
    handler = getattr(logger, "registered_handler", None)
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(_CurrentStderr())
