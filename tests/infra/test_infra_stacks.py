"""Per-stack values reach the resources they configure; outputs; the published site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.website import content_type, site_files
from tests.infra.pulumi_harness import ROOT, Deployment, deploy

FUNCTION = "aws:lambda/function:Function"
TABLE = "aws:dynamodb/table:Table"


def _table(deployment: Deployment) -> dict:
    return deployment.named(TABLE, "platescan-results").state


@pytest.mark.parametrize("key", ["prod", "prod-rekognition"])
def test_prod_protects_its_records(deployments: dict[str, Deployment], key: str) -> None:
    table = _table(deployments[key])
    assert table["deletionProtectionEnabled"] is True
    assert table["pointInTimeRecovery"] == {"enabled": True}
    for bucket in deployments[key].of_type("aws:s3/bucket:Bucket"):
        if bucket["bucket"] == deployments[key].outputs["uploads_bucket"]:
            assert bucket["forceDestroy"] is False


def test_dev_can_be_destroyed(deployments: dict[str, Deployment]) -> None:
    table = _table(deployments["dev"])
    assert table["deletionProtectionEnabled"] is False
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert all(b["forceDestroy"] for b in deployments["dev"].of_type("aws:s3/bucket:Bucket"))


def test_the_results_table_matches_the_record_contract(deployment: Deployment) -> None:
    table = _table(deployment)
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["hashKey"] == "upload_id"
    by_plate, by_owner = table["globalSecondaryIndexes"]
    assert by_plate["name"] == "by_plate"
    assert by_plate["keySchemas"] == [{"attributeName": "plate_text", "keyType": "HASH"}]
    assert by_owner["name"] == "by_owner"
    assert by_owner["keySchemas"] == [{"attributeName": "owner", "keyType": "HASH"}]
    assert table["ttl"] == {"attributeName": "expires_at", "enabled": True}


def test_the_table_class_comes_from_the_stack(deployments: dict[str, Deployment]) -> None:
    # A year of records: storage is most of prod's table bill, so Standard-IA; dev keeps two
    # weeks, where requests dominate and Standard is cheaper.
    assert _table(deployments["prod"])["tableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert _table(deployments["dev"])["tableClass"] == "STANDARD"
    with pytest.raises(Exception, match="tableClass"):
        deploy("dev", {"platescan:tableClass": "GLACIER"})


def test_retention_settings_reach_bucket_table_and_logs(deployment: Deployment) -> None:
    cfg = deployment.config
    (lifecycle,) = deployment.of_type(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )
    assert lifecycle["bucket"] == deployment.outputs["uploads_bucket"]
    expire = next(r for r in lifecycle["rules"] if r["id"] == "expire-uploads")
    assert expire["status"] == "Enabled"
    assert expire["filter"] == {"prefix": "uploads/"}
    assert expire["expiration"] == {"days": cfg["platescan:uploadRetentionDays"]}
    for function in deployment.of_type(FUNCTION):
        env = function["environment"]["variables"]
        if "RETENTION_DAYS" in env:
            assert env["RETENTION_DAYS"] == str(cfg["platescan:recordRetentionDays"])
    groups = deployment.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 8  # six functions, the state machine, the API's access log
    assert {g["retentionInDays"] for g in groups} == {cfg["platescan:logRetentionDays"]}


def test_the_uploads_bucket_keeps_versions_and_expires_the_old_ones(
    deployment: Deployment,
) -> None:
    # A form posted twice puts a second version; the first, which a record was read from,
    # must stay readable, and replaced versions must not pile up forever.
    (versioning,) = deployment.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["bucket"] == deployment.outputs["uploads_bucket"]
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    (lifecycle,) = deployment.of_type(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )
    noncurrent = next(r for r in lifecycle["rules"] if r["id"] == "expire-noncurrent-uploads")
    assert noncurrent["status"] == "Enabled"
    assert noncurrent["filter"] == {"prefix": "uploads/"}
    days = deployment.config["platescan:uploadRetentionDays"]
    assert noncurrent["noncurrentVersionExpiration"] == {"noncurrentDays": days}
    assert noncurrent["expiration"] == {"expiredObjectDeleteMarker": True}
    assert "expire-uploads" in {r["id"] for r in lifecycle["rules"]}


def test_functions_get_memory_log_level_and_environment(deployment: Deployment) -> None:
    cfg = deployment.config
    memory = cfg["platescan:memoryMb"]
    outputs = deployment.outputs
    functions = {f["name"].removeprefix(f"platescan-{deployment.stack}-"): f
                 for f in deployment.of_type(FUNCTION)}  # fmt: skip
    assert set(functions) == {
        "read-metadata", "detect-text", "validate-plate", "write-result", "mark-failed", "api"
    }  # fmt: skip
    for short, function in functions.items():
        key = short.replace("-", "_")
        assert function["memorySize"] == memory.get(key, memory["default"]), short
        env = function["environment"]["variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == "platescan"
        assert env["POWERTOOLS_LOG_LEVEL"] == cfg["platescan:logLevel"]
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == f"Platescan/{deployment.stack}"
        assert function["loggingConfig"]["logFormat"] == "JSON"
        if key in ("read_metadata", "write_result", "mark_failed", "api"):
            assert env["RESULTS_TABLE"] == outputs["results_table"], short
    assert (
        functions["api"]["environment"]["variables"]["UPLOADS_BUCKET"]
        == (outputs["uploads_bucket"])
    )
    engine = functions["detect-text"]["environment"]["variables"]["DETECTOR_ENGINE"]
    assert engine == cfg["platescan:detectorEngine"]


def test_throttling_reaches_the_api_stage(deployment: Deployment) -> None:
    throttle = deployment.config["platescan:apiThrottle"]
    (stage,) = deployment.of_type("aws:apigatewayv2/stage:Stage")
    assert stage["name"] == "$default" and stage["autoDeploy"] is True
    settings = stage["defaultRouteSettings"]
    assert settings["throttlingRateLimit"] == throttle["rateLimit"]
    assert settings["throttlingBurstLimit"] == throttle["burstLimit"]
    (integration,) = deployment.of_type("aws:apigatewayv2/integration:Integration")
    assert integration["payloadFormatVersion"] == "2.0"


def test_alarms_cover_executions_dead_letters_and_every_function(
    deployment: Deployment,
) -> None:
    topic = deployment.named("aws:sns/topic:Topic", "platescan-alarms")
    alarms = deployment.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    metrics = {(a["namespace"], a["metricName"]) for a in alarms}
    assert ("AWS/States", "ExecutionsFailed") in metrics
    assert ("AWS/States", "ExecutionsTimedOut") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    errors = {a["dimensions"]["FunctionName"] for a in alarms if a["metricName"] == "Errors"}
    assert errors == {f["name"] for f in deployment.of_type(FUNCTION)}
    machine = deployment.outputs["state_machine_arn"]
    for alarm in alarms:
        assert alarm["alarmActions"] == [topic["arn"]]
        if alarm["namespace"] == "AWS/States":
            assert alarm["dimensions"] == {"StateMachineArn": machine}
    # both dead-letter queues, the pipeline's and the alerts', are watched
    queues = {q["name"] for q in deployment.of_type("aws:sqs/queue:Queue") if "dlq" in q["name"]}
    watched = {a["dimensions"]["QueueName"] for a in alarms if a["namespace"] == "AWS/SQS"}
    assert len(queues) == 2 and watched == queues


def test_the_alarm_email_is_subscribed_only_when_configured(
    deployments: dict[str, Deployment], build_dir: Path
) -> None:
    configured = deploy("prod", {"platescan:alarmEmail": "oncall@platescan-ops.eu"})
    (subscription,) = configured.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription["protocol"] == "email"
    assert subscription["endpoint"] == "oncall@platescan-ops.eu"
    assert configured.outputs["alarm_email"] == "oncall@platescan-ops.eu"
    for key in ("dev", "prod"):
        # An empty address is "no e-mail", and the outputs say so in words.
        assert deployments[key].config["platescan:alarmEmail"] == ""
        assert not deployments[key].of_type("aws:sns/topicSubscription:TopicSubscription")
        assert deployments[key].outputs["alarm_email"].startswith("none: alarms reach only")


@pytest.mark.parametrize(
    "address", ["ops@example.com", "alerts@ops.example.org", "me@corp.test", "x@host.invalid"]
)
def test_a_placeholder_alarm_address_stops_the_preview(address: str, build_dir: Path) -> None:
    with pytest.raises(Exception, match="cannot receive alarms") as raised:
        deploy("dev", {"platescan:alarmEmail": address})
    assert "pulumi config set platescan:alarmEmail" in str(raised.value)


def test_outputs_name_the_deployed_resources(deployment: Deployment) -> None:
    outputs = deployment.outputs
    assert set(outputs) == {
        "site_url", "api_url", "uploads_bucket", "results_table", "state_machine_arn",
        "user_pool_id", "user_pool_client_id",
        "dead_letter_queue_url", "mark_failed_function", "alarm_topic_arn", "alarm_email",
        "event_bus", "alerts_topic_arn", "alerts_dead_letter_queue_url",
    }  # fmt: skip
    queue = deployment.named("aws:sqs/queue:Queue", "platescan-events-dlq")
    assert outputs["dead_letter_queue_url"] == queue["url"]
    alerts_queue = deployment.named("aws:sqs/queue:Queue", "platescan-alerts-dlq")
    assert outputs["alerts_dead_letter_queue_url"] == alerts_queue["url"]
    assert outputs["mark_failed_function"] == f"platescan-{deployment.stack}-mark-failed"
    (distribution,) = deployment.of_type("aws:cloudfront/distribution:Distribution")
    (api,) = deployment.of_type("aws:apigatewayv2/api:Api")
    (machine,) = deployment.of_type("aws:sfn/stateMachine:StateMachine")
    assert outputs["site_url"] == f"https://{distribution['domainName']}/"
    assert outputs["api_url"] == api["apiEndpoint"]
    assert outputs["results_table"] == _table(deployment)["name"]
    assert outputs["state_machine_arn"] == machine["arn"]
    assert machine["name"] == f"platescan-{deployment.stack}-pipeline"


def test_every_site_file_is_published_with_its_content_type(deployment: Deployment) -> None:
    objects = {o["key"]: o for o in deployment.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    files = {p.relative_to(ROOT / "site").as_posix(): p for p in site_files()}
    assert "index.html" in files
    assert set(objects) == set(files) | {"config.json"}
    for key, path in files.items():
        if key != "config.json":
            assert objects[key]["contentType"] == content_type(path), key
    assert objects["index.html"]["contentType"] == "text/html; charset=utf-8"


def test_config_json_points_the_page_at_the_api(deployment: Deployment) -> None:
    objects = {o["key"]: o for o in deployment.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    config = objects["config.json"]
    assert json.loads(config["content"])["api_url"] == deployment.outputs["api_url"]
    assert config["contentType"] == "application/json"
    assert config["cacheControl"] == "no-cache"


def test_an_unknown_engine_is_refused_before_anything_is_created(build_dir: object) -> None:
    with pytest.raises(Exception, match="detectorEngine"):
        deploy("dev", {"platescan:detectorEngine": "tesseract"})


# The stateful resources: their URNs key the deployed state. A component refactor that
# changes one would make `pulumi up` replace it, deleting the photos or the records; a move
# must keep the old URN with `aliases`, and this list stays as it is.
STATEFUL_URNS = {
    "the uploads bucket": "urn:pulumi:prod::platescan::platescan:infra:Storage"
    "$platescan:infra:PrivateBucket$aws:s3/bucket:Bucket::platescan-uploads",
    "the results table": "urn:pulumi:prod::platescan::platescan:infra:Storage"
    "$aws:dynamodb/table:Table::platescan-results",
    "the user pool (the accounts)": "urn:pulumi:prod::platescan::platescan:infra:Auth"
    "$aws:cognito/userPool:UserPool::platescan-users",
    "the watchlists table": "urn:pulumi:prod::platescan::platescan:infra:Alerts"
    "$aws:dynamodb/table:Table::platescan-watchlists",
    "the alerts table": "urn:pulumi:prod::platescan::platescan:infra:Alerts"
    "$aws:dynamodb/table:Table::platescan-alerts",
}


def test_the_stateful_resources_keep_their_urns(deployments: dict[str, Deployment]) -> None:
    for what, urn in STATEFUL_URNS.items():
        assert deployments["prod"].answers_to(urn), f"{what} moved without `aliases`: {urn}"
