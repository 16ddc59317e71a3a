"""Accounts on AWS: the user pool as configured, and every API route behind its authorizer."""

from __future__ import annotations

import pytest

from platescan.auth import ACCESS_TOKEN_SCOPE, ADMIN_GROUP
from platescan.contract import ROUTES
from tests.infra.pulumi_harness import Deployment, deploy

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
GROUP = "aws:cognito/userGroup:UserGroup"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
ROUTE = "aws:apigatewayv2/route:Route"


def test_every_route_requires_an_access_token_from_this_stacks_pool(
    deployment: Deployment,
) -> None:
    (pool,) = deployment.of_type(POOL)
    (client,) = deployment.of_type(CLIENT)
    (authorizer,) = deployment.of_type(AUTHORIZER)
    assert authorizer["authorizerType"] == "JWT"
    assert authorizer["identitySources"] == ["$request.header.Authorization"]
    region = deployment.config["aws:region"]
    jwt = authorizer["jwtConfiguration"]
    assert jwt["issuer"] == f"https://cognito-idp.{region}.amazonaws.com/{pool['id']}"
    assert jwt["audiences"] == [client["id"]]
    routes = deployment.of_type(ROUTE)
    assert sorted(r["routeKey"] for r in routes) == sorted(ROUTES)
    for route in routes:
        assert route["authorizationType"] == "JWT", route["routeKey"]
        assert route["authorizerId"] == authorizer["id"], route["routeKey"]
        assert route["authorizationScopes"] == [ACCESS_TOKEN_SCOPE], route["routeKey"]


def test_the_site_client_holds_no_secret_and_tokens_are_short_lived(
    deployment: Deployment,
) -> None:
    (client,) = deployment.of_type(CLIENT)
    assert client["generateSecret"] is False
    assert set(client["explicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert client["preventUserExistenceErrors"] == "ENABLED"
    assert client["accessTokenValidity"] <= 60
    assert client["tokenValidityUnits"]["accessToken"] == "minutes"
    (group,) = deployment.of_type(GROUP)
    assert group["name"] == ADMIN_GROUP


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_pool_is_as_each_committed_stack_configures_it(
    deployments: dict[str, Deployment], stack: str
) -> None:
    deployment = deployments[stack]
    accounts = deployment.config["platescan:accounts"]
    (pool,) = deployment.of_type(POOL)
    invite = accounts["signUp"] == "invite"
    assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is invite
    assert pool["passwordPolicy"]["minimumLength"] == accounts["passwordMinLength"] >= 12
    assert pool["mfaConfiguration"] == accounts["mfa"]
    assert pool["usernameAttributes"] == ["email"]
    assert pool["autoVerifiedAttributes"] == ["email"]
    (api,) = [
        f for f in deployment.of_type("aws:lambda/function:Function") if f["name"].endswith("-api")
    ]
    quota = api["environment"]["variables"]["DAILY_UPLOAD_QUOTA"]
    assert quota == str(accounts["dailyUploadQuota"])


def test_sign_up_mfa_and_passwords_follow_the_stack_config(build_dir: object) -> None:
    deployment = deploy(
        "dev",
        {
            "platescan:accounts": {
                "signUp": "invite",
                "mfa": "ON",
                "passwordMinLength": 16,
                "dailyUploadQuota": 7,
            }
        },
    )
    (pool,) = deployment.of_type(POOL)
    assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    assert pool["mfaConfiguration"] == "ON"
    assert pool["softwareTokenMfaConfiguration"] == {"enabled": True}
    assert pool["passwordPolicy"]["minimumLength"] == 16


def test_personal_data_stays_out_of_traces_and_execution_logs(deployment: Deployment) -> None:
    (machine,) = deployment.of_type("aws:sfn/stateMachine:StateMachine")
    assert machine["loggingConfiguration"]["includeExecutionData"] is False
    for function in deployment.of_type("aws:lambda/function:Function"):
        variables = function["environment"]["variables"]
        assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", function["name"]
        assert variables["LOG_PERSONAL_DATA"] == "false", function["name"]


def test_the_site_may_reach_the_user_pool_and_learns_its_settings(deployment: Deployment) -> None:
    import json

    region = deployment.config["aws:region"]
    (policy,) = deployment.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    csp = policy["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert f"https://cognito-idp.{region}.amazonaws.com" in csp
    (config,) = [
        o
        for o in deployment.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o["key"] == "config.json"
    ]
    auth = json.loads(config["content"])["auth"]
    (pool,) = deployment.of_type(POOL)
    (client,) = deployment.of_type(CLIENT)
    assert auth == {
        "region": region,
        "user_pool_id": pool["id"],
        "client_id": client["id"],
        "endpoint": f"https://cognito-idp.{region}.amazonaws.com/",
    }


def test_writes_are_throttled_below_the_stages_limit(deployment: Deployment) -> None:
    (stage,) = deployment.of_type("aws:apigatewayv2/stage:Stage")
    stage_rate = stage["defaultRouteSettings"]["throttlingRateLimit"]
    by_route = {s["routeKey"]: s for s in stage["routeSettings"]}
    assert set(by_route) == {"POST /uploads", "DELETE /me"} <= set(ROUTES)
    for setting in by_route.values():
        assert 0 < setting["throttlingRateLimit"] < stage_rate
        assert setting["throttlingBurstLimit"] >= 1
