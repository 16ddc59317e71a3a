"""What the mocks alone cannot see: the program checked against AWS's documented behaviour.

Each test pins a rule AWS enforces at `pulumi up` or at run time (Lambda's image URI forms,
S3's 403-for-missing-keys, CloudWatch's alarm evaluation, Step Functions' execution time
limit, IAM's action tables through parliament), so a change that would only fail on AWS
fails here first.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

from infra import packaging
from infra.config import NO_ATTESTATIONS_ENV
from platescan import api, asl, aws, records, web
from platescan.auth import Caller
from platescan.settings import get_settings
from tests.infra.pulumi_harness import ACCOUNT, Deployment, Resource, deploy
from tests.support import csp_allows

FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"


# -- the ONNX image ------------------------------------------------------------------------


def test_an_onnx_stack_stops_with_a_clear_message_without_the_attestation_setting(
    build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deployer's shell without BUILDX_NO_DEFAULT_ATTESTATIONS=1
    monkeypatch.delenv(NO_ATTESTATIONS_ENV)
    # When the ONNX stack is previewed, Then it stops and says what to do
    with pytest.raises(Exception, match=f"export {NO_ATTESTATIONS_ENV}=1"):
        deploy("prod")
    # A Rekognition stack builds no image and does not care.
    deploy("dev")


def test_the_base_image_is_pinned_by_digest() -> None:
    froms = [
        line
        for line in packaging.ONNX_DOCKERFILE.read_text().splitlines()
        if line.startswith("FROM")
    ]
    assert len(froms) == 1
    assert re.fullmatch(r"FROM public\.ecr\.aws/lambda/python:3\.12@sha256:[0-9a-f]{64}", froms[0])


# -- missing photos read as 404 -----------------------------------------------------------


def test_the_readers_of_uploads_may_list_only_the_uploads_prefix(deployment: Deployment) -> None:
    bucket = deployment.outputs["uploads_bucket"]
    for short in ("read-metadata", "detect-text"):
        function = deployment.named(FUNCTION, f"platescan-{short}")
        role = deployment.by_arn(function["role"])
        statements = _statements(deployment, role)
        (listing,) = [s for s in statements if "s3:ListBucket" in s["Action"]]
        assert listing["Resource"] == [f"arn:aws:s3:::{bucket}"]
        assert listing["Condition"] == {"StringLike": {"s3:prefix": ["uploads/*"]}}


# -- alarms ------------------------------------------------------------------------------


def _fires(alarm: Resource, per_period: list[float]) -> bool:
    """CloudWatch's evaluation: M of the last N periods at or over the threshold."""
    assert alarm["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["treatMissingData"] == "notBreaching"
    periods = int(alarm["evaluationPeriods"])
    needed = int(alarm.get("datapointsToAlarm") or periods)
    for end in range(1, len(per_period) + 1):
        window = per_period[max(0, end - periods) : end]
        if sum(value >= alarm["threshold"] for value in window) >= needed:
            return True
    return False


def _alarms(deployment: Deployment, metric: str) -> list[Resource]:
    return [a for a in deployment.of_type(ALARM) if a["metricName"] == metric]


def test_one_retried_error_does_not_page_anyone_but_persistent_errors_do(
    deployment: Deployment,
) -> None:
    errors = _alarms(deployment, "Errors")
    assert len(errors) == len(deployment.of_type(FUNCTION))  # every function
    for alarm in errors:
        assert not _fires(alarm, [1]), alarm["name"]  # one transient error, retried
        assert not _fires(alarm, [1, 0, 1, 0, 2]), alarm["name"]  # scattered ones
        assert _fires(alarm, [8, 9]), alarm["name"]  # a function failing for ten minutes


def test_aborted_throttled_and_lost_events_raise_alarms(deployment: Deployment) -> None:
    machine = deployment.of_type("aws:sfn/stateMachine:StateMachine")[0]
    topic = deployment.named("aws:sns/topic:Topic", "platescan-alarms")
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        (alarm,) = _alarms(deployment, metric)
        assert alarm["dimensions"] == {"StateMachineArn": machine["arn"]}
        assert _fires(alarm, [1])  # each of these needs a person
    (throttled,) = _alarms(deployment, "ExecutionThrottled")
    assert throttled["namespace"] == "AWS/States"
    assert throttled["dimensions"] == {"StateMachineArn": machine["arn"]}
    lost = _alarms(deployment, "InvocationsFailedToBeSentToDlq")
    rules = {r["name"] for r in deployment.of_type("aws:cloudwatch/eventRule:EventRule")}
    assert {a["dimensions"]["RuleName"] for a in lost} == rules
    for alarm in lost:
        assert alarm["namespace"] == "AWS/Events" and _fires(alarm, [1])
    (destination,) = _alarms(deployment, "DestinationDeliveryFailures")
    mark_failed = deployment.named(FUNCTION, "platescan-mark-failed")
    assert destination["dimensions"] == {"FunctionName": mark_failed["name"]}
    assert _fires(destination, [1])
    for alarm in deployment.of_type(ALARM):
        assert alarm["alarmActions"] == [topic["arn"]]


# -- time limits and expiry ---------------------------------------------------------------


def _wait_s(retrier: dict[str, Any]) -> float:
    """The longest a retrier can wait in total, before all of its attempts."""
    interval = retrier.get("IntervalSeconds", 1)
    rate = retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return sum(min(interval * rate**n, cap) for n in range(retrier.get("MaxAttempts", 3)))


def _worst_case_s(state: dict[str, Any]) -> float:
    """A Task's longest run: every attempt of every retrier timing out, with every wait."""
    retriers = state.get("Retry", [])
    attempts = 1 + sum(r.get("MaxAttempts", 3) for r in retriers)
    return attempts * state["TimeoutSeconds"] + sum(_wait_s(r) for r in retriers)


def test_executions_time_out_but_never_while_a_task_is_still_retrying() -> None:
    definition = json.loads(asl.DEFINITION_PATH.read_text())
    states = definition["States"]
    longest_path = ("Read Metadata", "Detect Text", "Validate Plate", "Write Result")
    worst = sum(_worst_case_s(states[name]) for name in longest_path)
    assert "TimeoutSeconds" in definition, "without it ExecutionsTimedOut can never fire"
    assert worst <= definition["TimeoutSeconds"] <= 2 * 3600, worst


def test_the_deployed_state_machine_has_the_time_limit(deployment: Deployment) -> None:
    machine = deployment.of_type("aws:sfn/stateMachine:StateMachine")[0]
    deployed = json.loads(machine["definition"])
    assert (
        deployed["TimeoutSeconds"] == json.loads(asl.DEFINITION_PATH.read_text())["TimeoutSeconds"]
    )


def test_every_function_that_writes_records_knows_their_retention(deployment: Deployment) -> None:
    days = str(deployment.config["platescan:recordRetentionDays"])
    results = deployment.named("aws:dynamodb/table:Table", "platescan-results")["arn"]
    writers = []
    for function in deployment.of_type(FUNCTION):
        role = deployment.by_arn(function["role"])
        actions = {
            action
            for statement in _statements(deployment, role)
            if results in statement["Resource"]
            for action in statement["Action"]
        }
        if actions & {"dynamodb:PutItem", "dynamodb:UpdateItem"}:
            writers.append(function["name"])
            assert function["environment"]["variables"]["RETENTION_DAYS"] == days
    # read_metadata (PROCESSING), write_result, mark_failed (FAILED), and the api (the
    # issued upload, the quota counter and a deletion's tombstone, each with a short TTL)
    assert len(writers) == 4


# -- concurrency ---------------------------------------------------------------------------


def test_detect_text_runs_at_most_the_configured_instances(deployment: Deployment) -> None:
    detect = deployment.named(FUNCTION, "platescan-detect-text")
    wanted = deployment.config["platescan:detectTextConcurrency"]
    assert detect["reservedConcurrentExecutions"] == wanted
    others = [f for f in deployment.of_type(FUNCTION) if f.name != "platescan-detect-text"]
    assert all("reservedConcurrentExecutions" not in f.inputs for f in others)


def test_a_concurrency_out_of_range_is_refused(build_dir: Path) -> None:
    with pytest.raises(Exception, match="detectTextConcurrency"):
        deploy("dev", {"platescan:detectTextConcurrency": 0})


# -- IAM -----------------------------------------------------------------------------------


def _statements(deployment: Deployment, role: Resource) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in deployment.of_type("aws:iam/rolePolicy:RolePolicy"):
        if policy["role"] == role.state["name"]:
            for statement in json.loads(policy["policy"])["Statement"]:
                actions = statement["Action"]
                found.append(
                    {**statement, "Action": [actions] if isinstance(actions, str) else actions}
                )
    return found


def test_every_trust_policy_is_limited_to_this_account(deployment: Deployment) -> None:
    machine = deployment.of_type("aws:sfn/stateMachine:StateMachine")[0]
    roles = deployment.of_type(ROLE)
    rules = [r["arn"] for r in deployment.of_type("aws:cloudwatch/eventRule:EventRule")]
    assert len(roles) >= 8  # one per function, the state machine, the rules that start things
    for role in roles:
        (statement,) = json.loads(role["assumeRolePolicy"])["Statement"]
        condition = statement["Condition"]
        assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, role.name
        service = statement["Principal"]["Service"]
        if service == "states.amazonaws.com":
            assert condition["ArnLike"] == {"aws:SourceArn": machine["arn"]}
        elif service == "events.amazonaws.com":
            assert condition["ArnEquals"]["aws:SourceArn"] in rules, role.name
        else:
            assert service == "lambda.amazonaws.com", role.name


def test_parliament_finds_nothing_in_any_identity_policy(deployment: Deployment) -> None:
    # Every identity policy the program declares, with the harness's realistic ARNs, checked
    # against AWS's own action, resource-type and condition-key tables.
    documents = [
        *deployment.of_type("aws:iam/rolePolicy:RolePolicy"),
        *deployment.of_type("aws:iam/policy:Policy"),  # managed policies, if any are added
    ]
    assert len(documents) >= 8
    for policy in documents:
        findings = analyze_policy_string(policy["policy"]).findings
        assert findings == [], (policy.name, [(f.issue, f.detail) for f in findings])


def test_parliament_would_see_a_wrong_policy() -> None:
    # The check above can fail: an object action on a bucket ARN, a misspelt action.
    wrong = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b"]},
            {"Effect": "Allow", "Action": ["dynamodb:GetItems"], "Resource": ["*"]},
        ],
    }
    issues = {f.issue for f in analyze_policy_string(json.dumps(wrong)).findings}
    assert {"RESOURCE_MISMATCH", "UNKNOWN_ACTION"} <= issues, issues


# -- the site's CSP and the URLs the API presigns ------------------------------------------


def test_the_browser_may_reach_every_url_the_deployed_api_presigns(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the CSP CloudFront sends with the site, from the rendered stack
    (policy,) = deployment.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    csp = policy["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    site_origin = deployment.outputs["site_url"].rstrip("/")
    # And the API function's environment as Lambda gives it
    api_function = deployment.named(FUNCTION, "platescan-handler")
    for name, value in api_function["environment"]["variables"].items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("AWS_REGION", deployment.config["aws:region"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", deployment.config["aws:region"])
    get_settings.cache_clear()
    aws.reset()
    try:
        # When the API presigns an upload and a photo link, as it does for the browser
        # (the quota and the upload's record are DynamoDB writes, not what is checked here)
        monkeypatch.setattr(records, "count_upload", lambda *args: True)
        monkeypatch.setattr(records, "issue_upload", lambda *args, **kwargs: None)
        upload = api.create_upload(
            {"file_name": "car.jpg", "content_type": "image/jpeg", "size": 9},
            Caller(sub="0b6d2f0e-6d4c-4a0f-9a51-7f3e2b1c9d11"),
        )
        settings = get_settings()
        photo = aws.presigner(settings.s3_public_endpoint).generate_presigned_url(
            "get_object",
            Params={"Bucket": settings.uploads_bucket, "Key": upload["key"]},
            ExpiresIn=settings.presign_expires_s,
        )
    finally:
        get_settings.cache_clear()
        aws.reset()
    # Then the page may POST the photo (XHR), submit it as a form, and show it
    assert csp_allows(csp, "connect-src", upload["url"], site_origin), (upload["url"], csp)
    assert csp_allows(csp, "form-action", upload["url"], site_origin)
    assert csp_allows(csp, "img-src", photo, site_origin), (photo, csp)
    # and the API itself, and the user pool the sign-in form talks to
    assert csp_allows(csp, "connect-src", deployment.outputs["api_url"], site_origin)
    region = deployment.config["aws:region"]
    sign_in = f"https://cognito-idp.{region}.amazonaws.com/"
    assert csp_allows(csp, "connect-src", sign_in, site_origin)


def test_a_path_style_url_would_be_blocked(deployment: Deployment) -> None:
    # The check above can fail: the URL botocore makes when told to presign path-style.
    (policy,) = deployment.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    csp = policy["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    region = deployment.config["aws:region"]
    path_style = f"https://s3.{region}.amazonaws.com/{deployment.outputs['uploads_bucket']}/"
    assert not csp_allows(csp, "connect-src", path_style, deployment.outputs["site_url"])


def test_cloudfront_sends_the_headers_the_local_server_is_given(deployment: Deployment) -> None:
    # The response headers policy, as the headers CloudFront adds to every site response...
    (policy,) = deployment.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    config = policy["securityHeadersConfig"]
    hsts = config["strictTransportSecurity"]
    sent = {
        "Content-Security-Policy": config["contentSecurityPolicy"]["contentSecurityPolicy"],
        "X-Content-Type-Options": "nosniff" if config["contentTypeOptions"] else None,
        "X-Frame-Options": config["frameOptions"]["frameOption"],
        "Referrer-Policy": config["referrerPolicy"]["referrerPolicy"],
        "Strict-Transport-Security": f"max-age={int(hsts['accessControlMaxAgeSec'])}"
        + ("; includeSubDomains" if hsts["includeSubdomains"] else "")
        + ("; preload" if hsts["preload"] else ""),
    }
    assert all(part["override"] for part in config.values())
    # ...are exactly what the one function gives for the deployed hosts
    hosts = web.aws_hosts(deployment.outputs["uploads_bucket"], deployment.config["aws:region"])
    assert sent == web.security_headers(hosts)
