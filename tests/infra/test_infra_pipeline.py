"""The deployed pipeline: state machine, rules, targets and the two text detection engines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from statelint.linter import Linter

from infra import packaging
from infra.config import ApiThrottle, StackConfig
from platescan.asl import load_template, placeholders, render_definition
from tests.infra.pulumi_harness import ACCOUNT, Deployment, Resource, deploy

FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TASKS = {
    "ReadMetadataFunctionArn": "platescan-read-metadata",
    "DetectTextFunctionArn": "platescan-detect-text",
    "ValidatePlateFunctionArn": "platescan-validate-plate",
    "WriteResultFunctionArn": "platescan-write-result",
}


def _state_machine(deployment: Deployment) -> Resource:
    (machine,) = deployment.of_type("aws:sfn/stateMachine:StateMachine")
    return machine


def _history_key(deployment: Deployment) -> Resource:
    return deployment.named("aws:kms/key:Key", "platescan-history-key")


def _task_arns(deployment: Deployment) -> dict[str, str]:
    return {key: deployment.named(FUNCTION, name)["arn"] for key, name in TASKS.items()}


def _policy_of(deployment: Deployment, role_arn: str) -> list[dict]:
    role = deployment.by_arn(role_arn)
    return [
        statement
        for policy in deployment.of_type("aws:iam/rolePolicy:RolePolicy")
        if policy["role"] == role["name"]
        for statement in json.loads(policy["policy"])["Statement"]
    ]


def test_the_definition_is_the_rendered_asl_with_the_real_arns(deployment: Deployment) -> None:
    machine = _state_machine(deployment)
    expected = render_definition(load_template(), _task_arns(deployment))
    assert json.loads(machine["definition"]) == json.loads(expected)
    assert placeholders(machine["definition"]) == set()
    assert "${" not in machine["definition"]
    resources = {
        state["Resource"]
        for state in json.loads(machine["definition"])["States"].values()
        if state["Type"] == "Task"
    }
    assert resources == set(_task_arns(deployment).values())


def test_the_deployed_definition_is_statelint_clean(deployment: Deployment) -> None:
    assert Linter.validate(json.loads(_state_machine(deployment)["definition"])) == []


def test_the_state_machine_is_standard_logged_and_traced(deployment: Deployment) -> None:
    machine = _state_machine(deployment)
    assert machine["type"] == "STANDARD"
    assert machine["tracingConfiguration"] == {"enabled": True}
    logging = machine["loggingConfiguration"]
    group = deployment.where("aws:cloudwatch/logGroup:LogGroup", arn=logging["logDestination"][:-2])
    assert len(group) == 1 and group[0]["name"].startswith("/aws/vendedlogs/states/")
    assert logging["level"] == deployment.config["platescan:executionLogLevel"]
    # the states' data holds plates read: personal data, logged only when a stack asks
    assert logging["includeExecutionData"] is deployment.config["platescan:logPersonalData"]


DOCKER_PLATFORMS = {"arm64": "linux/arm64", "x86_64": "linux/amd64"}


def _architecture(deployment: Deployment) -> str:
    return str(deployment.config.get("platescan:architecture", "arm64"))


def test_functions_layer_and_image_share_the_stacks_architecture(deployment: Deployment) -> None:
    architecture = _architecture(deployment)
    functions = deployment.of_type(FUNCTION)
    assert len(functions) == 6
    for function in functions:
        assert function["architectures"] == [architecture], function.name
    (layer,) = deployment.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layer["compatibleArchitectures"] == [architecture]
    assert f"layer-{architecture}-" in layer["code"].path  # built with wheels for it
    for image in deployment.of_type("docker-build:index:Image"):
        assert image["platforms"] == [DOCKER_PLATFORMS[architecture]]


def test_x86_64_is_one_setting_away(build_dir: Path) -> None:
    deployment = deploy(
        "prod", {"platescan:architecture": "x86_64", "platescan:detectorEngine": "onnx"}
    )
    assert {a for f in deployment.of_type(FUNCTION) for a in f["architectures"]} == {"x86_64"}
    (layer,) = deployment.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layer["compatibleArchitectures"] == ["x86_64"]
    (image,) = deployment.of_type("docker-build:index:Image")
    assert image["platforms"] == ["linux/amd64"]


def test_an_unknown_architecture_is_refused(build_dir: Path) -> None:
    with pytest.raises(Exception, match="architecture"):
        deploy("dev", {"platescan:architecture": "sparc"})


def test_one_sampling_rule_sets_how_many_executions_are_traced(deployment: Deployment) -> None:
    (rule,) = deployment.of_type("aws:xray/samplingRule:SamplingRule")
    tracing = deployment.config["platescan:tracing"]
    assert rule["reservoirSize"] == tracing["reservoirPerSecond"]
    assert rule["fixedRate"] == tracing["fixedRate"]
    # This state machine's executions only: matched by its name, everything else open.
    assert rule["serviceName"] == _state_machine(deployment)["name"]
    assert len(rule["ruleName"]) <= 32 and rule["version"] == 1
    assert rule["priority"] < 10000  # evaluated before X-Ray's default rule
    for key in ("serviceType", "resourceArn", "host", "httpMethod", "urlPath"):
        assert rule[key] == "*"


def test_prod_samples_executions_and_leaves_the_api_untraced(
    deployments: dict[str, Deployment],
) -> None:
    (rule,) = deployments["prod"].of_type("aws:xray/samplingRule:SamplingRule")
    assert rule["reservoirSize"] == 0 and 0 < rule["fixedRate"] <= 0.05
    (api,) = [f for f in deployments["prod"].of_type(FUNCTION) if f["name"].endswith("-api")]
    assert api["tracingConfig"] == {"mode": "PassThrough"}
    (dev_rule,) = deployments["dev"].of_type("aws:xray/samplingRule:SamplingRule")
    assert (dev_rule["reservoirSize"], dev_rule["fixedRate"]) == (1, 0.05)  # X-Ray's default


@pytest.mark.parametrize(
    ("tracing", "match"),
    [
        ({"fixedRate": 1.5}, "fixedRate"),
        ({"reservoirPerSecond": -1}, "reservoirPerSecond"),
        ({"api": "no"}, "api"),
        ({"rate": 0.1}, "unknown keys"),
    ],
)
def test_bad_tracing_settings_are_refused(build_dir: Path, tracing: dict, match: str) -> None:
    with pytest.raises(Exception, match=match):
        deploy("dev", {"platescan:tracing": tracing})


def test_the_state_machine_may_invoke_exactly_its_four_tasks(deployment: Deployment) -> None:
    statements = _policy_of(deployment, _state_machine(deployment)["roleArn"])
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert len(invoke) == 1
    assert invoke[0]["Action"] == ["lambda:InvokeFunction"]
    assert sorted(invoke[0]["Resource"]) == sorted(_task_arns(deployment).values())


def test_the_upload_rule_matches_this_bucket_and_prefix_only(deployment: Deployment) -> None:
    rule = deployment.named(RULE, "platescan-uploads")
    assert json.loads(rule["eventPattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [deployment.outputs["uploads_bucket"]]},
            "object": {"key": [{"prefix": "uploads/"}]},
        },
    }
    (notification,) = deployment.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification["bucket"] == deployment.outputs["uploads_bucket"]
    assert notification["eventbridge"] is True


def test_the_upload_target_starts_this_state_machine_with_dlq_and_retries(
    deployment: Deployment,
) -> None:
    rule = deployment.named(RULE, "platescan-uploads")
    (target,) = deployment.where(TARGET, rule=rule["name"])
    machine = _state_machine(deployment)
    queue = deployment.named("aws:sqs/queue:Queue", "platescan-events-dlq")
    assert target["arn"] == machine["arn"]
    assert "input" not in target.inputs and "inputPath" not in target.inputs  # the event as is
    assert target["deadLetterConfig"] == {"arn": queue["arn"]}
    assert target["retryPolicy"]["maximumRetryAttempts"] > 0
    assert target["retryPolicy"]["maximumEventAgeInSeconds"] > 0
    assert _policy_of(deployment, target["roleArn"]) == [
        {
            "Sid": "StartPipeline",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": [machine["arn"]],
        },
        {
            "Sid": "EncryptInput",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": [_history_key(deployment)["arn"]],
            "Condition": {
                "StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": machine["arn"]}
            },
        },
    ]
    trust = json.loads(deployment.by_arn(target["roleArn"])["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"] == {
        "ArnEquals": {"aws:SourceArn": rule["arn"]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }


def test_failed_executions_reach_the_mark_failed_function(deployment: Deployment) -> None:
    machine = _state_machine(deployment)
    rule = deployment.named(RULE, "platescan-failed-executions")
    assert json.loads(rule["eventPattern"]) == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            "stateMachineArn": [machine["arn"]],
        },
    }
    listener = deployment.named(FUNCTION, "platescan-mark-failed")
    (target,) = deployment.where(TARGET, rule=rule["name"])
    queue = deployment.named("aws:sqs/queue:Queue", "platescan-events-dlq")
    assert target["arn"] == listener["arn"]
    assert target["deadLetterConfig"] == {"arn": queue["arn"]}
    (permission,) = deployment.where(
        "aws:lambda/permission:Permission", principal="events.amazonaws.com"
    )
    assert permission["function"] == listener["name"]
    assert permission["sourceArn"] == rule["arn"]
    (invoke_config,) = deployment.of_type(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
    )
    assert invoke_config["functionName"] == listener["name"]
    assert invoke_config["destinationConfig"]["onFailure"]["destination"] == queue["arn"]


def test_lambda_timeouts_fit_inside_the_task_timeouts(deployment: Deployment) -> None:
    states = json.loads(_state_machine(deployment)["definition"])["States"]
    for state in states.values():
        if state["Type"] != "Task":
            continue
        function = deployment.by_arn(state["Resource"])
        assert function["timeout"] < state["TimeoutSeconds"], function["name"]


@pytest.mark.parametrize("key", ["dev", "prod-rekognition"])
def test_rekognition_engine_deploys_detect_text_as_a_zip(
    deployments: dict[str, Deployment], key: str
) -> None:
    deployment = deployments[key]
    detect = deployment.named(FUNCTION, "platescan-detect-text")
    assert detect["packageType"] == "Zip"
    assert detect["runtime"] == packaging.LAMBDA_RUNTIME
    assert detect["environment"]["variables"]["DETECTOR_ENGINE"] == "rekognition"
    assert "OCR_WORKERS" not in detect["environment"]["variables"]
    assert not deployment.of_type("aws:ecr/repository:Repository")
    assert not deployment.of_type("docker-build:index:Image")


@pytest.mark.parametrize("key", ["prod", "dev-onnx"])
def test_onnx_engine_deploys_detect_text_as_an_image_built_by_the_program(
    deployments: dict[str, Deployment], key: str
) -> None:
    deployment = deployments[key]
    detect = deployment.named(FUNCTION, "platescan-detect-text")
    (repository,) = deployment.of_type("aws:ecr/repository:Repository")
    (image,) = deployment.of_type("docker-build:index:Image")
    assert detect["packageType"] == "Image"
    assert "runtime" not in detect.inputs and "layers" not in detect.inputs
    # Pinned by digest, in this stack's repository, in the one form Lambda accepts with a
    # digest: `repository@sha256:...` (the provider's `ref` adds the tag, which Lambda refuses).
    assert re.fullmatch(r"[^:@]+@sha256:[0-9a-f]{64}", detect["imageUri"]), detect["imageUri"]
    assert detect["imageUri"] == f"{repository['repositoryUrl']}@{image['digest']}"
    assert image["push"] is True
    # `pulumi preview` builds nothing, so it needs no Docker.
    assert image["buildOnPreview"] is False
    assert image["platforms"] == ["linux/arm64"]  # the committed stacks run on Graviton
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    context = Path(image["context"]["location"])
    assert (context / "Dockerfile").read_text() == packaging.ONNX_DOCKERFILE.read_text()
    assert (context / "task" / "app.py").is_file()
    assert (context / "task" / "platescan" / "engines" / "onnx" / "strategy.py").is_file()
    env = detect["environment"]["variables"]
    assert env["DETECTOR_ENGINE"] == "onnx"
    assert env["HOME"] == "/tmp"


def _config(memory: int) -> StackConfig:
    return StackConfig(
        project="platescan", stack="test", region="eu-west-1", detector_engine="onnx",
        log_level="INFO", log_retention_days=7, execution_log_level="ERROR",
        upload_retention_days=1, record_retention_days=1,
        memory_mb={"default": 256, "detect_text": memory},
        api_throttle=ApiThrottle(rate_limit=1, burst_limit=1), alarm_email=None,
        protect_data=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("memory", "workers"), [(512, 1), (1769, 1), (2048, 2), (3008, 2), (3600, 3), (10240, 6)]
)
def test_ocr_workers_follow_the_memory_size(memory: int, workers: int) -> None:
    # Lambda gives one vCPU per 1,769 MB, six at most.
    assert _config(memory).ocr_workers() == workers


def test_memory_and_workers_from_config_reach_detect_text(build_dir: Path) -> None:
    deployment = deploy(
        "dev",
        {
            "platescan:detectorEngine": "onnx",
            "platescan:memoryMb": {"default": 256, "detect_text": 3600},
        },
    )
    detect = deployment.named(FUNCTION, "platescan-detect-text")
    assert detect["memorySize"] == 3600
    assert detect["environment"]["variables"]["OCR_WORKERS"] == "3"
    others = [f for f in deployment.of_type(FUNCTION) if f.name != "platescan-detect-text"]
    assert {f["memorySize"] for f in others} == {256}


def test_committed_onnx_stack_gets_workers_for_its_memory(
    deployments: dict[str, Deployment],
) -> None:
    deployment = deployments["prod"]
    detect = deployment.named(FUNCTION, "platescan-detect-text")
    memory = deployment.config["platescan:memoryMb"]["detect_text"]
    assert detect["memorySize"] == memory
    assert detect["environment"]["variables"]["OCR_WORKERS"] == str(-(-memory // 1769))


def test_the_execution_history_is_under_the_stacks_own_key(deployment: Deployment) -> None:
    machine = _state_machine(deployment)
    key = _history_key(deployment)
    assert machine["encryptionConfiguration"] == {
        "type": "CUSTOMER_MANAGED_KMS_KEY",
        "kmsKeyId": key["arn"],
        "kmsDataKeyReusePeriodSeconds": 300,
    }
    assert key["enableKeyRotation"] is True
    (alias,) = deployment.of_type("aws:kms/alias:Alias")
    assert alias["targetKeyId"] == key["keyId"]
    # The state machine may use the key for its own data, and for nothing else under it.
    role = _policy_of(deployment, machine["roleArn"])
    (use,) = [s for s in role if s["Sid"] == "UseHistoryKey"]
    assert use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert use["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": machine["arn"]}
    }


def test_every_grant_on_the_history_key_is_held_to_this_state_machine(
    deployment: Deployment,
) -> None:
    key = _history_key(deployment)["arn"]
    machine = _state_machine(deployment)["arn"]
    logs = f"arn:aws:logs:{deployment.config['aws:region']}:{ACCOUNT}:*"
    grants = [
        statement
        for policy in deployment.of_type("aws:iam/rolePolicy:RolePolicy")
        for statement in json.loads(policy["policy"])["Statement"]
        if key in statement["Resource"] or any(a.startswith("kms:") for a in statement["Action"])
    ]
    assert {s["Sid"] for s in grants} == {
        "UseHistoryKey",
        "EncryptDeliveredLogs",
        "EncryptInput",
        "DecryptFailedInput",
    }
    for statement in grants:
        assert statement["Resource"] == [key], statement["Sid"]
        if statement["Sid"] == "EncryptDeliveredLogs":
            # log delivery asks for data keys only, on behalf of this account's log groups
            assert statement["Action"] == ["kms:GenerateDataKey"]
            assert statement["Condition"] == {
                "StringLike": {"kms:EncryptionContext:SourceArn": logs}
            }
        else:
            assert statement["Condition"] == {
                "StringEquals": {"kms:EncryptionContext:aws:states:stateMachineArn": machine}
            }, statement["Sid"]
