"""Security properties of what the program deploys, read from the mocks' recorded resources.

Buckets private, encrypted, TLS-only; IAM least privilege (no `*` actions, `Resource: "*"`
only where AWS offers nothing narrower, each role touching only its own resources); CORS for
the website's origin only; the API exposes its three routes and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

from infra import policies
from tests.infra.pulumi_harness import Deployment, Resource

BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _for_bucket(deployment: Deployment, typ: str, bucket: Resource) -> list[Resource]:
    return [r for r in deployment.of_type(typ) if r.get("bucket") == bucket["bucket"]]


def _role_statements(deployment: Deployment, role: Resource) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in deployment.of_type(ROLE_POLICY):
        if policy["role"] == role.state["name"]:
            statements += json.loads(policy["policy"])["Statement"]
    return statements


def _function_grants(deployment: Deployment, function: Resource) -> set[tuple[str, str]]:
    """(action, resource) pairs the function's role allows, besides logs and traces."""
    role = deployment.by_arn(function["role"])
    grants = set()
    for statement in _role_statements(deployment, role):
        if statement["Sid"] in ("WriteOwnLogs", "WriteTraces"):
            continue
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                grants.add((action, resource))
    return grants


def _function(deployment: Deployment, short: str) -> Resource:
    return deployment.named(FUNCTION, _logical_name(short))


def _logical_name(short: str) -> str:
    return "platescan-handler" if short == "api" else f"platescan-{short.replace('_', '-')}"


def test_every_bucket_blocks_all_public_access(deployment: Deployment) -> None:
    buckets = deployment.of_type(BUCKET)
    assert len(buckets) == 2  # uploads and site
    for bucket in buckets:
        (block,) = _for_bucket(
            deployment, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket
        )
        assert block["blockPublicAcls"] is True
        assert block["blockPublicPolicy"] is True
        assert block["ignorePublicAcls"] is True
        assert block["restrictPublicBuckets"] is True
        (ownership,) = _for_bucket(
            deployment, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket
        )
        assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        assert "acl" not in bucket.inputs and "policy" not in bucket.inputs


def test_every_bucket_is_encrypted(deployment: Deployment) -> None:
    typ = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    for bucket in deployment.of_type(BUCKET):
        (encryption,) = _for_bucket(deployment, typ, bucket)
        (rule,) = encryption["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms")


def test_every_bucket_refuses_requests_without_tls(deployment: Deployment) -> None:
    for bucket in deployment.of_type(BUCKET):
        (policy,) = _for_bucket(deployment, "aws:s3/bucketPolicy:BucketPolicy", bucket)
        statements = json.loads(policy["policy"])["Statement"]
        deny = [s for s in statements if s["Effect"] == "Deny"]
        assert deny == [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket["arn"], f"{bucket['arn']}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
        # Nothing is granted to everyone: every Allow names a service principal.
        for statement in statements:
            if statement["Effect"] == "Allow":
                assert statement["Principal"] != "*"
                assert set(statement["Principal"]) == {"Service"}


def test_no_statement_allows_every_action(deployment: Deployment) -> None:
    for name, document in deployment.policies():
        for statement in _as_list(document["Statement"]):
            actions = _as_list(statement.get("Action", []))
            assert "*" not in actions, f"{name} allows every action"
            if statement["Effect"] == "Allow":
                wildcard = [a for a in actions if a.endswith(":*")]
                assert not wildcard, f"{name} allows a whole service: {wildcard}"


def test_resource_star_only_where_aws_offers_nothing_narrower(deployment: Deployment) -> None:
    for name, document in deployment.policies():
        for statement in _as_list(document["Statement"]):
            if statement.get("Resource") == "*" or "*" in _as_list(statement.get("Resource")):
                actions = set(_as_list(statement["Action"]))
                assert statement["Effect"] == "Allow"
                assert actions <= policies.UNSCOPABLE_ACTIONS, f"{name}: {actions}"


def test_rekognition_only_for_detect_text_and_only_with_that_engine(
    deployment: Deployment,
) -> None:
    engine = deployment.config["platescan:detectorEngine"]
    holders = set()
    for role in deployment.of_type(ROLE):
        for statement in _role_statements(deployment, role):
            if "rekognition:DetectText" in _as_list(statement["Action"]):
                assert statement["Resource"] == "*"  # DetectText has no resource type
                assert _as_list(statement["Action"]) == ["rekognition:DetectText"]
                holders.add(role.name)
    expected = {"platescan-detect-text-role"} if engine == "rekognition" else set()
    assert holders == expected


def test_each_function_role_touches_only_its_own_resources(deployment: Deployment) -> None:
    bucket = deployment.outputs["uploads_bucket"]
    uploads = f"arn:aws:s3:::{bucket}/uploads/*"
    table = deployment.named("aws:dynamodb/table:Table", "platescan-results")["arn"]
    index = f"{table}/index/by_plate"
    dlq = deployment.named("aws:sqs/queue:Queue", "platescan-events-dlq")["arn"]
    watchlists = deployment.named("aws:dynamodb/table:Table", "platescan-watchlists")["arn"]
    alerts = deployment.named("aws:dynamodb/table:Table", "platescan-alerts")["arn"]
    bus = deployment.named("aws:cloudwatch/eventBus:EventBus", "platescan-events")["arn"]
    (machine,) = deployment.of_type("aws:sfn/stateMachine:StateMachine")
    executions = machine["arn"].replace(":stateMachine:", ":execution:") + ":*"
    express = machine["arn"].replace(":stateMachine:", ":express:") + ":*:*"
    history_key = deployment.named("aws:kms/key:Key", "platescan-history-key")["arn"]
    reads = {
        ("s3:GetObject", uploads),
        ("s3:GetObjectVersion", uploads),
        ("s3:ListBucket", f"arn:aws:s3:::{bucket}"),  # under uploads/ only (deploy fidelity)
    }
    expected = {
        "read_metadata": reads | {("dynamodb:UpdateItem", table)},
        "detect_text": reads
        | (
            {("rekognition:DetectText", "*")}
            if deployment.config["platescan:detectorEngine"] == "rekognition"
            else set()
        ),
        "validate_plate": set(),
        "write_result": {
            ("dynamodb:UpdateItem", table),
            ("dynamodb:GetItem", table),
            ("dynamodb:Query", watchlists),
            ("dynamodb:PutItem", alerts),
            ("dynamodb:GetItem", alerts),
            ("dynamodb:UpdateItem", alerts),
            ("events:PutEvents", bus),
        },
        "mark_failed": {
            ("dynamodb:UpdateItem", table),
            ("sqs:SendMessage", dlq),
            # the execution's input, when its status-change event leaves it out
            ("states:DescribeExecution", executions),
            ("states:DescribeExecution", express),
            ("kms:Decrypt", history_key),
        },
        "api": {
            ("s3:PutObject", uploads),
            ("s3:GetObject", uploads),
            ("s3:GetObjectVersion", uploads),
            ("s3:DeleteObject", uploads),
            ("s3:DeleteObjectVersion", uploads),
            ("s3:ListBucketVersions", f"arn:aws:s3:::{bucket}"),
            ("dynamodb:GetItem", table),
            ("dynamodb:PutItem", table),
            ("dynamodb:UpdateItem", table),
            ("dynamodb:Scan", table),
            ("dynamodb:Query", index),
            ("dynamodb:Query", f"{table}/index/by_owner"),
            ("dynamodb:BatchGetItem", table),
            ("dynamodb:Query", watchlists),
            ("dynamodb:PutItem", watchlists),
            ("dynamodb:DeleteItem", watchlists),
            ("dynamodb:Query", f"{alerts}/index/newest"),
            ("dynamodb:PutItem", alerts),
            ("dynamodb:GetItem", alerts),
            ("dynamodb:UpdateItem", alerts),
            ("dynamodb:Query", alerts),
            ("dynamodb:DeleteItem", alerts),
            ("events:PutEvents", bus),
        },
    }
    roles = set()
    for short, grants in expected.items():
        function = _function(deployment, short)
        assert _function_grants(deployment, function) == grants, short
        roles.add(function["role"])
    assert len(roles) == len(expected), "each function has a role of its own"


def test_function_logs_and_traces_go_to_their_own_log_group_only(
    deployment: Deployment,
) -> None:
    for function in deployment.of_type(FUNCTION):
        role = deployment.by_arn(function["role"])
        statements = {s["Sid"]: s for s in _role_statements(deployment, role)}
        log_group = function["loggingConfig"]["logGroup"]
        group = deployment.where("aws:cloudwatch/logGroup:LogGroup", name=log_group)[0]
        assert statements["WriteOwnLogs"]["Resource"] == [f"{group['arn']}:*"]
        assert set(statements["WriteTraces"]["Action"]) == set(policies.XRAY_WRITE)
        # Every function is traced, except the API's where the stack turns that off: then
        # it only passes a trace on, and Powertools' Tracer is off too.
        api_traced = deployment.config.get("platescan:tracing", {}).get("api", True)
        traced = api_traced or not function["name"].endswith("-api")
        assert function["tracingConfig"] == {"mode": "Active" if traced else "PassThrough"}
        env = function["environment"]["variables"]
        assert ("POWERTOOLS_TRACE_DISABLED" in env) is not traced


def test_trust_policies_name_one_service_each(deployment: Deployment) -> None:
    services = {}
    for role in deployment.of_type(ROLE):
        (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRole"
        services[role.name] = statement["Principal"]["Service"]
    webhook = ["events.amazonaws.com"] if "platescan-webhook-role" in services else []
    assert sorted(services.values()) == sorted(
        ["lambda.amazonaws.com"] * 6 + ["states.amazonaws.com", "events.amazonaws.com"] + webhook
    )


def test_cors_admits_the_website_origin_only(deployment: Deployment) -> None:
    origin = deployment.outputs["site_url"].rstrip("/")
    (bucket_cors,) = deployment.of_type("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert bucket_cors["bucket"] == deployment.outputs["uploads_bucket"]
    (rule,) = bucket_cors["corsRules"]
    assert rule["allowedOrigins"] == [origin]
    assert set(rule["allowedMethods"]) == {"POST", "GET"}
    (api,) = deployment.of_type("aws:apigatewayv2/api:Api")
    assert api["corsConfiguration"]["allowOrigins"] == [origin]
    env = _function(deployment, "api")["environment"]["variables"]
    assert env["SITE_ORIGIN"] == origin


def test_the_api_exposes_its_routes_and_nothing_else(deployment: Deployment) -> None:
    routes = {r["routeKey"] for r in deployment.of_type("aws:apigatewayv2/route:Route")}
    assert routes == {
        "POST /uploads",
        "GET /results/{upload_id}",
        "DELETE /results/{upload_id}",
        "GET /results",
        "GET /me/export",
        "DELETE /me",
        "GET /watchlist",
        "POST /watchlist",
        "DELETE /watchlist/{entry_id}",
        "GET /watchlist/export",
        "POST /watchlist/import",
        "GET /alerts",
        "GET /review",
        "POST /results/{upload_id}/correction",
    }
    (permission,) = [
        p
        for p in deployment.of_type("aws:lambda/permission:Permission")
        if p["principal"] == "apigateway.amazonaws.com"
    ]
    (api,) = deployment.of_type("aws:apigatewayv2/api:Api")
    assert permission["sourceArn"] == f"{api['executionArn']}/*/*"
    assert permission["function"] == _function(deployment, "api")["name"]


def test_the_api_signs_uploads_within_the_contract_limits(deployment: Deployment) -> None:
    env = _function(deployment, "api")["environment"]["variables"]
    assert env["MAX_UPLOAD_BYTES"] == str(10 * 1024 * 1024)
    assert int(env["PRESIGN_EXPIRES_S"]) <= 300


def test_the_site_bucket_is_readable_by_this_distribution_only(deployment: Deployment) -> None:
    (distribution,) = deployment.of_type("aws:cloudfront/distribution:Distribution")
    (origin,) = distribution["origins"]
    site_bucket = deployment.where(BUCKET, bucketRegionalDomainName=origin["domainName"])[0]
    (oac,) = deployment.of_type("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert oac["signingBehavior"] == "always" and oac["originAccessControlOriginType"] == "s3"
    assert origin["originAccessControlId"]
    (policy,) = _for_bucket(deployment, "aws:s3/bucketPolicy:BucketPolicy", site_bucket)
    allows = [s for s in json.loads(policy["policy"])["Statement"] if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "CloudFrontReadsSite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": f"{site_bucket['arn']}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": distribution["arn"]}},
        }
    ]


def test_the_website_is_https_with_security_headers(deployment: Deployment) -> None:
    (distribution,) = deployment.of_type("aws:cloudfront/distribution:Distribution")
    behavior = distribution["defaultCacheBehavior"]
    assert behavior["viewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["allowedMethods"] == ["GET", "HEAD"]
    (headers,) = deployment.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    assert behavior["responseHeadersPolicyId"]
    security = headers["securityHeadersConfig"]
    csp = security["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp  # no inline or third-party scripts
    bucket = deployment.outputs["uploads_bucket"]
    assert f"https://{bucket}.s3." in csp  # the browser POSTs the photo to the uploads bucket
    assert security["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31536000
    assert security["contentTypeOptions"]["override"] is True
    assert security["frameOptions"]["frameOption"] == "DENY"


def test_dead_letters_come_only_from_this_stacks_rules(deployment: Deployment) -> None:
    # the pipeline's queue takes its two rules' dead letters, the alerts' queue its rule's
    senders: list[str] = []
    queues = deployment.of_type("aws:sqs/queue:Queue")
    assert len(queues) == 2
    for queue in queues:
        assert queue["sqsManagedSseEnabled"] is True
        (policy,) = [
            p
            for p in deployment.of_type("aws:sqs/queuePolicy:QueuePolicy")
            if p["queueUrl"] == queue["url"]
        ]
        (statement,) = json.loads(policy["policy"])["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == queue["arn"]
        senders += _as_list(statement["Condition"]["ArnEquals"]["aws:SourceArn"])
    rules = sorted(r["arn"] for r in deployment.of_type("aws:cloudwatch/eventRule:EventRule"))
    assert sorted(senders) == rules
