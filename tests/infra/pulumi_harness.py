"""Run the Pulumi program under mocks and keep what it asked AWS to create.

`deploy(stack)` loads `Pulumi.<stack>.yaml` as the stack's configuration, runs `__main__.py`
with `pulumi.runtime.set_mocks`, and returns every registered resource with its inputs (the
properties the program set, outputs resolved) and the stack outputs. The mocks compute the
attributes AWS would (ARNs, names, domains) in AWS's formats, so policies and the state
machine definition can be checked against the very ARNs they must name.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from pulumi.runtime.mocks import MockMonitor

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"


@dataclass
class Resource:
    """One resource as the program registered it."""

    typ: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.state[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.state.get(key, default)


@dataclass
class Deployment:
    """Everything one run of the program registered."""

    stack: str
    config: dict[str, Any]
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    # Every resource's URN, as the Pulumi engine forms it (see `EngineUrns`), with the
    # former URNs its `aliases` name.
    urns: dict[str, list[str]] = field(default_factory=dict)

    def answers_to(self, urn: str) -> bool:
        """Whether a resource has this URN, or names it as an alias (updated in place)."""
        return urn in self.urns or any(urn in aliases for aliases in self.urns.values())

    def of_type(self, typ: str) -> list[Resource]:
        return [r for r in self.resources if r.typ == typ]

    def named(self, typ: str, name: str) -> Resource:
        matches = [r for r in self.of_type(typ) if r.name == name]
        assert len(matches) == 1, f"expected one {typ} named {name}, found {len(matches)}"
        return matches[0]

    def where(self, typ: str, **props: Any) -> list[Resource]:
        return [r for r in self.of_type(typ) if all(r.get(k) == v for k, v in props.items())]

    def by_arn(self, arn: str) -> Resource:
        matches = [r for r in self.resources if r.get("arn") == arn]
        assert len(matches) == 1, f"expected one resource with ARN {arn}, found {len(matches)}"
        return matches[0]

    def policies(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every IAM, bucket and queue policy document, parsed, with its resource name."""
        for typ in (
            "aws:iam/rolePolicy:RolePolicy",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:sqs/queuePolicy:QueuePolicy",
            "aws:sns/topicPolicy:TopicPolicy",
        ):
            for r in self.of_type(typ):
                yield r.name, json.loads(r["policy"])
        for r in self.of_type("aws:iam/role:Role"):
            yield f"{r.name} (trust)", json.loads(r["assumeRolePolicy"])


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:7]


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that answer like AWS would and record every registration."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.resources: list[Resource] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        state = dict(inputs)
        physical = inputs.get("name") or f"{args.name}-{_suffix(args.name)}"
        region, account = self.region, ACCOUNT
        resource_id = physical
        typ = args.typ
        if typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or physical
            state.update(
                bucket=bucket,
                arn=f"arn:aws:s3:::{bucket}",
                bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
            )
            resource_id = bucket
        elif typ == "aws:lambda/function:Function":
            arn = f"arn:aws:lambda:{region}:{account}:function:{physical}"
            invoke = (
                f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
            )
            state.update(name=physical, arn=arn, invokeArn=invoke)
        elif typ == "aws:lambda/layerVersion:LayerVersion":
            state.update(arn=f"arn:aws:lambda:{region}:{account}:layer:{inputs['layerName']}:1")
        elif typ == "aws:sfn/stateMachine:StateMachine":
            state.update(
                name=physical, arn=f"arn:aws:states:{region}:{account}:stateMachine:{physical}"
            )
        elif typ == "aws:iam/role:Role":
            state.update(name=physical, arn=f"arn:aws:iam::{account}:role/{physical}")
        elif typ == "aws:dynamodb/table:Table":
            state.update(name=physical, arn=f"arn:aws:dynamodb:{region}:{account}:table/{physical}")
        elif typ == "aws:sqs/queue:Queue":
            url = f"https://sqs.{region}.amazonaws.com/{account}/{physical}"
            state.update(name=physical, arn=f"arn:aws:sqs:{region}:{account}:{physical}", url=url)
            resource_id = url
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            state.update(name=physical, arn=f"arn:aws:events:{region}:{account}:rule/{physical}")
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            state.update(name=physical, arn=f"arn:aws:logs:{region}:{account}:log-group:{physical}")
        elif typ == "aws:cloudwatch/eventBus:EventBus":
            state.update(
                name=physical, arn=f"arn:aws:events:{region}:{account}:event-bus/{physical}"
            )
        elif typ == "aws:cloudwatch/eventConnection:EventConnection":
            arn = f"arn:aws:events:{region}:{account}:connection/{physical}/{_suffix(physical)}"
            state.update(name=physical, arn=arn)
        elif typ == "aws:cloudwatch/eventApiDestination:EventApiDestination":
            arn = (
                f"arn:aws:events:{region}:{account}:api-destination/{physical}/{_suffix(physical)}"
            )
            state.update(name=physical, arn=arn)
        elif typ == "aws:kms/key:Key":
            key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, physical))
            state.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{account}:key/{key_id}")
            resource_id = key_id
        elif typ == "aws:sns/topic:Topic":
            state.update(name=physical, arn=f"arn:aws:sns:{region}:{account}:{physical}")
        elif typ == "aws:apigatewayv2/api:Api":
            api_id = _suffix(physical)
            state.update(
                apiEndpoint=f"https://{api_id}.execute-api.{region}.amazonaws.com",
                executionArn=f"arn:aws:execute-api:{region}:{account}:{api_id}",
            )
            resource_id = api_id
        elif typ == "aws:cloudfront/distribution:Distribution":
            dist_id = "E" + _suffix(physical).upper()
            state.update(
                domainName=f"d{_suffix(dist_id)}.cloudfront.net",
                arn=f"arn:aws:cloudfront::{account}:distribution/{dist_id}",
            )
            resource_id = dist_id
        elif typ == "aws:cognito/userPool:UserPool":
            pool_id = f"{region}_{_suffix(physical)}"
            state.update(arn=f"arn:aws:cognito-idp:{region}:{account}:userpool/{pool_id}")
            resource_id = pool_id
        elif typ == "aws:cognito/userPoolClient:UserPoolClient":
            resource_id = _suffix(physical) + _suffix(physical[::-1])
        elif typ == "aws:ecr/repository:Repository":
            state.update(
                name=physical,
                registryId=account,
                repositoryUrl=f"{account}.dkr.ecr.{region}.amazonaws.com/{physical}",
            )
        elif typ == "docker-build:index:Image":
            # As pulumi-docker-build 0.0.22 reports a pushed image: `digest` is the manifest's
            # `sha256:<64 hex>`, and `ref` is the first tag with the digest appended
            # (`repository:tag@sha256:...`), the form Lambda refuses as an image URI.
            digest = "sha256:" + hashlib.sha256(json.dumps(inputs["tags"]).encode()).hexdigest()
            state.update(digest=digest, ref=f"{inputs['tags'][0]}@{digest}")
        elif typ.startswith("aws:") and "arn" not in state:
            state["arn"] = f"arn:aws:mock:{region}:{account}:{args.name}"
        if typ.startswith(("aws:cognito/", "aws:apigatewayv2/authorizer")):
            state["id"] = resource_id  # other resources refer to these by id
        self.resources.append(Resource(typ, args.name, inputs, state))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer",
                "userId": "AIDAEXAMPLEDEPLOYER",
                "id": ACCOUNT,
            }
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                "userName": "AWS",
                "password": "mock-password",
                "authorizationToken": "mock",
                "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com",
                "expiresAt": "2030-01-01T00:00:00Z",
                "id": self.region,
            }
        raise NotImplementedError(f"the program made an unexpected call: {args.token}")


class EngineUrns(MockMonitor):
    """The mock monitor, naming resources as the Pulumi engine does.

    A URN's type part is the chain of its parents' types down to its own (`Parent$Child$
    aws:s3/bucket:Bucket`), the root stack left out; the stock mock keeps only the nearest
    parent's type. The URN is what a deployed stack's state is keyed by, so a test that pins
    one must see the engine's.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.aliases: dict[str, list[str]] = {}

    def make_urn(
        self, parent: str, type_: str, name: str, stack: str = "", project: str = ""
    ) -> str:
        if parent and type_ != "pulumi:pulumi:Stack":
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                type_ = f"{parent_type}${type_}"
        stack, project = stack or pulumi.get_stack(), project or pulumi.get_project()
        return "urn:pulumi:" + "::".join([stack, project, type_, name])

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        self.aliases[urn] = [self._alias_urn(request, alias) for alias in request.aliases]
        return super().RegisterResource(request)

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """An alias as the engine resolves it: a URN, or a spec filled from the resource."""
        if alias.urn:
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(
            parent, spec.type or request.type, spec.name or request.name, spec.stack, spec.project
        )


def stack_config(stack: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """`Pulumi.<stack>.yaml`'s config (plus overrides), as Pulumi would pass it."""
    loaded = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    values: dict[str, Any] = dict(loaded["config"])
    values.update(overrides or {})
    return values


def _as_config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def config_strings(config: dict[str, Any]) -> dict[str, str]:
    """Config values as Pulumi holds them: strings, objects as JSON."""
    return {key: _as_config_string(value) for key, value in config.items()}


def deploy(stack: str, overrides: dict[str, Any] | None = None) -> Deployment:
    """Run `__main__.py` for `stack` under mocks; return what it registered."""
    config = stack_config(stack, overrides)
    mocks = RecordingMocks(region=str(config["aws:region"]))
    monitor = EngineUrns(mocks)
    pulumi.runtime.set_mocks(
        mocks, project="platescan", stack=stack, preview=False, monitor=monitor
    )
    pulumi.runtime.set_all_config(config_strings(config))
    deployment = Deployment(stack=stack, config=config)
    exported: dict[str, Any] = {}

    def program() -> pulumi.Output[Any]:
        with mock.patch("pulumi.export", side_effect=exported.__setitem__):
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__pulumi_program__")
        return pulumi.Output.all(**exported).apply(deployment.outputs.update)

    pulumi.runtime.test(program)()
    deployment.resources = list(mocks.resources)
    deployment.urns = {urn: monitor.aliases.get(urn, []) for urn in monitor.resources}
    return deployment
