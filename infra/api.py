"""The HTTP API: API Gateway (HTTP API, payload v2) in front of the `api` function.

The routes of `platescan.contract.ROUTES` and no others: create an upload (a presigned POST limited
to JPEG/PNG, 10 MB and 5 minutes, enforced by the function), get, delete and search the
caller's results, export or delete all of them, keep a watchlist, read alerts and the
readings that need review, and correct a reading. Every route sits behind a JWT authorizer
for this stack's user pool that requires an access token (Cognito's access-token scope);
the function takes the owner from the verified claims. Nothing lists the bucket. CORS
admits the website's origin only; throttling comes from stack config.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import packaging, policies
from infra.alerts import Alerts
from infra.auth import Auth
from infra.config import StackConfig
from infra.function import Function, FunctionArgs, ZipCode
from infra.storage import Storage
from platescan import contract, web
from platescan.auth import ACCESS_TOKEN_SCOPE
from platescan.contract import ROUTES, Env


@dataclass
class ApiArgs:
    """The API reads and signs for the uploads bucket and reads the results table."""

    config: StackConfig
    storage: Storage
    layer_arn: pulumi.Input[str]
    site_origin: pulumi.Input[str]
    auth: Auth
    alerts: Alerts


class Api(pulumi.ComponentResource):
    """HTTP API, its `$default` stage with throttling and access logs, and the function."""

    url: pulumi.Output[str]

    def __init__(self, name: str, args: ApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platescan:infra:Api", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        bucket = args.storage.uploads.bucket
        table = args.storage.table
        uploads_objects = pulumi.Output.concat(bucket.arn, "/", contract.UPLOADS_PREFIX, "*")

        self.handler = Function(
            f"{name}-handler",
            FunctionArgs(
                function="api",
                config=cfg,
                code=ZipCode(packaging.build_function("api"), args.layer_arn),
                statements=[
                    # A presigned POST or GET acts with the signer's permissions: these are
                    # what the browser's upload and the result's image_url (the version
                    # that was read) need.
                    policies.allow(
                        "SignUploadsAndViews",
                        ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"],
                        [uploads_objects],
                    ),
                    # Deleting a result deletes every version of its photo.
                    policies.allow(
                        "DeletePhotos",
                        ["s3:DeleteObject", "s3:DeleteObjectVersion"],
                        [uploads_objects],
                    ),
                    {
                        "Sid": "ListVersionsOfUploads",
                        "Effect": "Allow",
                        "Action": ["s3:ListBucketVersions"],
                        "Resource": [bucket.arn],
                        "Condition": {"StringLike": {"s3:prefix": [f"{contract.UPLOADS_PREFIX}*"]}},
                    },
                    # One record by id; an upload's record and quota counter written when
                    # it is issued, a tombstone when deleted; admins' wildcard searches scan.
                    policies.allow(
                        "ReadAndWriteResults",
                        [
                            "dynamodb:GetItem",
                            "dynamodb:PutItem",
                            "dynamodb:UpdateItem",
                            "dynamodb:Scan",
                        ],
                        [table.arn],
                    ),
                    policies.allow(
                        "SearchByPlateOrOwner",
                        ["dynamodb:Query"],
                        [args.storage.plate_index_arn, args.storage.owner_index_arn],
                    ),
                    # The photos of the caller's alerts and reviews, by id, in batches.
                    policies.allow("PhotosOfAlerts", ["dynamodb:BatchGetItem"], [table.arn]),
                    # The caller's watchlist: read, add, replace, remove entries.
                    policies.allow(
                        "KeepWatchlists",
                        ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                        [args.alerts.watchlists.arn],
                    ),
                    # The caller's alerts, newest first; a correction claims its own.
                    policies.allow(
                        "ListAlerts", ["dynamodb:Query"], [args.alerts.newest_index_arn]
                    ),
                    policies.allow(
                        "ClaimAlerts",
                        ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],
                        [args.alerts.alerts.arn],
                    ),
                    # Deleting an upload or an account deletes its alerts: the owner's
                    # partition is queried for their ids, then each is deleted.
                    policies.allow(
                        "DeleteCallersAlerts",
                        ["dynamodb:Query", "dynamodb:DeleteItem"],
                        [args.alerts.alerts.arn],
                    ),
                    policies.allow("PublishAlerts", ["events:PutEvents"], [args.alerts.bus.arn]),
                ],
                environment={
                    Env.RESULTS_TABLE: table.name,
                    Env.UPLOADS_BUCKET: bucket.bucket,
                    Env.SITE_ORIGIN: args.site_origin,
                    Env.MAX_UPLOAD_BYTES: str(contract.MAX_UPLOAD_BYTES),
                    Env.PRESIGN_EXPIRES_S: str(contract.PRESIGN_EXPIRES_S),
                    Env.RETENTION_DAYS: str(cfg.record_retention_days),
                    Env.REGION_HINT: cfg.region_hint or "",
                    Env.DAILY_UPLOAD_QUOTA: str(cfg.accounts.daily_upload_quota),
                    Env.WATCHLISTS_TABLE: args.alerts.watchlists.name,
                    Env.ALERTS_TABLE: args.alerts.alerts.name,
                    Env.EVENT_BUS_NAME: args.alerts.bus.name,
                },
                timeout_s=10,
                description="HTTP API: uploads, results, search, export, deletion, watchlists",
                # X-Ray does not trace HTTP APIs, so no sampling rule reaches this function:
                # Lambda alone samples it, at a rate no setting changes (infra/config.Tracing).
                traced=cfg.tracing.api,
            ),
            opts=child,
        )

        self.api = aws.apigatewayv2.Api(
            name,
            name=f"{cfg.prefix}-api",
            protocol_type="HTTP",
            cors_configuration={
                "allow_origins": [args.site_origin],
                # The same values the function's router answers with locally (platescan.web).
                "allow_methods": list(web.API_CORS.methods),
                "allow_headers": list(web.API_CORS.headers),
                "max_age": web.API_CORS.max_age_s,
            },
            opts=child,
        )
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-integration",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_uri=self.handler.function.arn,
            payload_format_version="2.0",
            timeout_milliseconds=10_000,
            opts=child,
        )
        self.authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-jwt",
            api_id=self.api.id,
            name=f"{cfg.prefix}-users",
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration={"issuer": args.auth.issuer, "audiences": [args.auth.client_id]},
            opts=child,
        )
        self.routes = [
            aws.apigatewayv2.Route(
                f"{name}-route-{index}",
                api_id=self.api.id,
                route_key=route,
                target=pulumi.Output.concat("integrations/", self.integration.id),
                authorization_type="JWT",
                authorizer_id=self.authorizer.id,
                # Cognito's access tokens carry this scope and its ID tokens none: the
                # authorizer's only way to refuse an ID token.
                authorization_scopes=[ACCESS_TOKEN_SCOPE],
                opts=child,
            )
            for index, route in enumerate(ROUTES)
        ]
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            name=f"/aws/apigateway/{cfg.prefix}-api",
            retention_in_days=cfg.log_retention_days,
            opts=child,
        )
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings={
                "throttling_rate_limit": cfg.api_throttle.rate_limit,
                "throttling_burst_limit": cfg.api_throttle.burst_limit,
                "detailed_metrics_enabled": True,
            },
            route_settings=[
                {
                    "route_key": route,
                    "throttling_rate_limit": rate,
                    "throttling_burst_limit": burst,
                    "detailed_metrics_enabled": True,
                }
                for route, (rate, burst) in route_throttles(cfg).items()
            ],
            access_log_settings={
                "destination_arn": self.access_logs.arn,
                "format": _ACCESS_LOG_FORMAT,
            },
            # route settings name routes: they must exist first
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.routes),
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.handler.function.name,
            principal="apigateway.amazonaws.com",
            # Only this API's routes may invoke the function.
            source_arn=pulumi.Output.concat(self.api.execution_arn, "/*/*"),
            opts=child,
        )
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.url})


def route_throttles(cfg: StackConfig) -> dict[str, tuple[float, int]]:
    """Per-route throttling (requests per second, burst) below the stage's.

    Issuing uploads signs S3 writes and counts quota: half the stage's rate. Deleting
    everything of a caller reads and deletes all their photos: one a second is plenty.
    Reads keep the stage's limits.
    """
    rate, burst = cfg.api_throttle.rate_limit, cfg.api_throttle.burst_limit
    return {
        "POST /uploads": (max(1.0, rate / 2), max(1, burst // 2)),
        "DELETE /me": (1.0, 2),
    }


# One JSON line per request; no query strings (plates searched) and no source IP kept.
_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","routeKey":"$context.routeKey",'
    '"status":"$context.status","latencyMs":"$context.responseLatency",'
    '"integrationError":"$context.integrationErrorMessage","time":"$context.requestTime"}'
)
