"""The stack's configuration, read once and typed.

Everything that differs between environments lives in `Pulumi.<stack>.yaml` under the
`platescan:` namespace (plus `aws:region`); this module is the only place that reads it, so
no component ever asks "is this prod?". Values are checked here, at preview time, rather
than failing halfway through `pulumi up`. The Pulumi program reads them through Pulumi
(`load`); the tools that estimate what a stack costs read the same file through the same
checks and defaults (`load_file`), without a Pulumi engine.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from platescan.contract import ENGINES, FUNCTIONS, DetectorEngine

REPO_ROOT = Path(__file__).resolve().parent.parent

# Lambda's instruction sets: Graviton (arm64) costs about 20% less per GB-second.
Architecture = Literal["arm64", "x86_64"]
TableClass = Literal["STANDARD", "STANDARD_INFREQUENT_ACCESS"]
# Who may create an account: anyone (with e-mail confirmation), or only an admin's invitation.
SignUp = Literal["open", "invite"]
Mfa = Literal["OFF", "OPTIONAL", "ON"]

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_EXECUTION_LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
# CloudWatch Logs accepts only these retention periods.
_LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)
# Lambda gives one vCPU per 1,769 MB of memory, up to six at 10,240 MB.
_MB_PER_VCPU = 1769
_MAX_VCPUS = 6

# BuildKit attaches a provenance attestation by default, which makes the pushed artefact an
# image index; Lambda refuses indexes, and the docker-build provider has no input to turn
# attestations off, so the environment `pulumi up` runs in must (docs/deploy.md).
NO_ATTESTATIONS_ENV = "BUILDX_NO_DEFAULT_ATTESTATIONS"

DEFAULT_MEMORY_MB = 256
# Instances of detect_text that may run at once, unless the stack says otherwise.
DEFAULT_DETECT_TEXT_CONCURRENCY = 10
# Domains reserved for documentation and testing (RFC 2606, RFC 6761): mail to them reaches
# nobody, so an alarm address there is a placeholder left in a stack file.
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
_PLACEHOLDER_TLDS = ("example", "test", "invalid", "localhost")
_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
DEFAULT_ARCHITECTURE: Architecture = "arm64"


@dataclass(frozen=True)
class ApiThrottle:
    """Stage-wide throttling of the HTTP API (requests per second, and the burst above it)."""

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class Tracing:
    """X-Ray: how many pipeline executions are traced, and whether the API function is.

    Step Functions starts each execution's trace and honours X-Ray sampling rules; the four
    Lambda tasks follow the execution's decision. The API sits behind an HTTP API, which X-Ray
    does not trace, so the `api` function decides alone, at Lambda's fixed rate (1 a second
    and 5% of the rest), which no sampling rule changes: it is either traced or not.
    """

    reservoir_per_s: int = 1  # X-Ray's default rule: the first request each second...
    fixed_rate: float = 0.05  # ...and 5% of the others
    api: bool = True


@dataclass(frozen=True)
class Alerts:
    """Where "Plate Matched" alerts go besides the bus, and when a reading needs review.

    The webhook is an EventBridge API destination: its key (`platescan:alertWebhookKey`,
    set with `pulumi config set --secret`) is sent in `webhook_header` with every call and
    kept by EventBridge in Secrets Manager, never in the stack file. In a Pulumi program
    the key is a secret Output; read from the file (cost tools) it is the stored text.
    """

    email: str | None = None
    webhook_url: str | None = None
    webhook_header: str = "X-Api-Key"
    webhook_key: Any = None
    webhook_rate_per_s: int = 10
    review_threshold: float = 0.8


@dataclass(frozen=True)
class Accounts:
    """The user pool's settings: sign-up, MFA, passwords, and each user's daily upload quota."""

    sign_up: SignUp = "open"
    mfa: Mfa = "OPTIONAL"
    password_min_length: int = 12
    daily_upload_quota: int = 200


@dataclass(frozen=True)
class StackConfig:
    """One stack's settings, validated."""

    project: str
    stack: str
    region: str
    detector_engine: DetectorEngine
    log_level: str
    log_retention_days: int
    execution_log_level: str
    upload_retention_days: int
    record_retention_days: int
    memory_mb: dict[str, int]
    api_throttle: ApiThrottle
    alarm_email: str | None
    protect_data: bool
    region_hint: str | None = None
    architecture: Architecture = DEFAULT_ARCHITECTURE
    tracing: Tracing = Tracing()
    table_class: TableClass = "STANDARD"
    # Plates and file names in logs, traces and Step Functions execution data: off by default
    # (they are personal data); a stack may turn them on to debug.
    log_personal_data: bool = False
    accounts: Accounts = Accounts()
    detect_text_concurrency: int = DEFAULT_DETECT_TEXT_CONCURRENCY
    alerts: Alerts = Alerts()

    @property
    def prefix(self) -> str:
        """Physical-name prefix, so two stacks can share one account."""
        return f"{self.project}-{self.stack}"

    def memory_for(self, function: str) -> int:
        """Configured memory of one function, in MB."""
        return self.memory_mb.get(function, self.memory_mb.get("default", DEFAULT_MEMORY_MB))

    def ocr_workers(self) -> int:
        """OCR threads for the ONNX engine: one per vCPU that the memory size buys.

        Lambda allocates CPU in proportion to memory; the fraction of a second vCPU above
        1,769 MB is still a second core to schedule on, hence the ceiling.
        """
        vcpus = math.ceil(self.memory_for("detect_text") / _MB_PER_VCPU)
        return max(1, min(_MAX_VCPUS, vcpus))

    @property
    def lambda_log_level(self) -> str:
        """The log level in Lambda's own vocabulary (it says WARN, Python says WARNING)."""
        return "WARN" if self.log_level == "WARNING" else self.log_level


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"platescan:{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _positive(name: str, value: int) -> int:
    if value <= 0:
        raise ValueError(f"platescan:{name} must be a positive number of days; got {value}")
    return value


def _memory(raw: dict[str, Any] | None) -> dict[str, int]:
    memory = {"default": DEFAULT_MEMORY_MB}
    for key, value in (raw or {}).items():
        if key != "default" and key not in FUNCTIONS:
            raise ValueError(f"platescan:memoryMb has an unknown function {key!r}")
        size = int(value)
        if not 128 <= size <= 10240:
            raise ValueError(f"platescan:memoryMb.{key} must be 128-10240 MB; got {size}")
        memory[key] = size
    return memory


def placeholder_reason(address: str) -> str | None:
    """Why an alarm address cannot be a real one, or None if it may be."""
    if not _EMAIL.match(address):
        return "it is not an e-mail address"
    domain = address.rsplit("@", 1)[1].lower()
    if domain in _PLACEHOLDER_DOMAINS or domain.endswith(
        tuple(f".{d}" for d in _PLACEHOLDER_DOMAINS)
    ):
        return f"{domain} is reserved for documentation: mail to it reaches nobody"
    tld = domain.rsplit(".", 1)[-1]
    if tld in _PLACEHOLDER_TLDS:
        return f".{tld} is a reserved top-level domain: mail to it reaches nobody"
    return None


def _alarm_email(value: str | None) -> str | None:
    """The alarm address; empty means no e-mail (the stack outputs say so)."""
    address = (value or "").strip()
    if not address:
        return None
    reason = placeholder_reason(address)
    if reason:
        raise ValueError(
            f"platescan:alarmEmail is {address!r}, which cannot receive alarms: {reason}. "
            "Set a real address with `pulumi config set platescan:alarmEmail you@your-domain`, "
            'or set it to "" for no e-mail.'
        )
    return address


def _check_image_build(engine: str) -> None:
    """An ONNX stack builds a container image: refuse to start a build Lambda cannot run."""
    if engine == "onnx" and os.environ.get(NO_ATTESTATIONS_ENV) != "1":
        raise ValueError(
            "platescan:detectorEngine is onnx, so this stack builds a container image, and "
            "Lambda refuses the image index Docker pushes when it adds provenance "
            f"attestations. Run `export {NO_ATTESTATIONS_ENV}=1` in this shell, then run "
            "Pulumi again (docs/deploy.md, 'What you need')."
        )


def _concurrency(value: int | None) -> int:
    concurrency = DEFAULT_DETECT_TEXT_CONCURRENCY if value is None else value
    if not 1 <= concurrency <= 1000:
        raise ValueError(
            f"platescan:detectTextConcurrency must be 1-1000 instances; got {concurrency}"
        )
    return concurrency


def _tracing(raw: dict[str, Any] | None) -> Tracing:
    raw = raw or {}
    unknown = set(raw) - {"reservoirPerSecond", "fixedRate", "api"}
    if unknown:
        raise ValueError(f"platescan:tracing has unknown keys: {', '.join(sorted(unknown))}")
    default = Tracing()
    reservoir = int(raw.get("reservoirPerSecond", default.reservoir_per_s))
    rate = float(raw.get("fixedRate", default.fixed_rate))
    if reservoir < 0:
        raise ValueError(f"platescan:tracing.reservoirPerSecond must be 0 or more; got {reservoir}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"platescan:tracing.fixedRate must be between 0 and 1; got {rate}")
    api = raw.get("api", default.api)
    if not isinstance(api, bool):
        raise ValueError(f"platescan:tracing.api must be true or false; got {api!r}")
    return Tracing(reservoir_per_s=reservoir, fixed_rate=rate, api=api)


class Source(Protocol):
    """The reads `pulumi.Config` offers, which `FileSource` offers too."""

    def get(self, key: str) -> str | None: ...
    def get_int(self, key: str) -> int | None: ...
    def get_bool(self, key: str) -> bool | None: ...
    def get_object(self, key: str) -> Any: ...
    def require_int(self, key: str) -> int: ...
    def get_secret(self, key: str) -> Any: ...


class FileSource:
    """One namespace of a `Pulumi.<stack>.yaml`'s `config`, read as `pulumi.Config` reads it."""

    def __init__(self, values: dict[str, Any], namespace: str, path: Path) -> None:
        prefix = f"{namespace}:"
        self._values = {
            k.removeprefix(prefix): v for k, v in values.items() if k.startswith(prefix)
        }
        self._namespace = namespace
        self._path = path

    def get(self, key: str) -> str | None:
        value = self._values.get(key)
        return None if value is None else str(value)

    def get_int(self, key: str) -> int | None:
        value = self._values.get(key)
        return None if value is None else int(value)

    def get_bool(self, key: str) -> bool | None:
        value = self._values.get(key)
        if value is None or isinstance(value, bool):
            return value
        return str(value).lower() == "true"

    def get_object(self, key: str) -> Any:
        value = self._values.get(key)
        return json.loads(value) if isinstance(value, str) else value

    def require_int(self, key: str) -> int:
        value = self.get_int(key)
        if value is None:
            raise ValueError(f"{self._path.name} must set {self._namespace}:{key}")
        return value

    def get_secret(self, key: str) -> Any:
        return self.get(key)

    def require(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise ValueError(f"{self._path.name} must set {self._namespace}:{key}")
        return value


def _accounts(raw: dict[str, Any] | None) -> Accounts:
    raw = raw or {}
    unknown = set(raw) - {"signUp", "mfa", "passwordMinLength", "dailyUploadQuota"}
    if unknown:
        raise ValueError(f"platescan:accounts has unknown keys: {', '.join(sorted(unknown))}")
    default = Accounts()
    sign_up = _choice(
        "accounts.signUp", str(raw.get("signUp", default.sign_up)), ("open", "invite")
    )
    mfa = _choice(
        "accounts.mfa", str(raw.get("mfa", default.mfa)).upper(), ("OFF", "OPTIONAL", "ON")
    )
    length = int(raw.get("passwordMinLength", default.password_min_length))
    if not 8 <= length <= 99:  # Cognito's own bounds are 6-99; below 8 is not sensible
        raise ValueError(f"platescan:accounts.passwordMinLength must be 8-99; got {length}")
    quota = int(raw.get("dailyUploadQuota", default.daily_upload_quota))
    if quota < 1:
        raise ValueError(f"platescan:accounts.dailyUploadQuota must be 1 or more; got {quota}")
    return Accounts(
        sign_up=cast(SignUp, sign_up),
        mfa=cast(Mfa, mfa),
        password_min_length=length,
        daily_upload_quota=quota,
    )


def _alerts(cfg: Source) -> Alerts:
    raw = cfg.get_object("alerts") or {}
    unknown = set(raw) - {"email", "webhookUrl", "webhookHeader", "webhookRatePerSecond"}
    if unknown:
        raise ValueError(f"platescan:alerts has unknown keys: {', '.join(sorted(unknown))}")
    url = raw.get("webhookUrl") or None
    if url is not None and not str(url).startswith("https://"):
        raise ValueError(f"platescan:alerts.webhookUrl must be an https:// URL; got {url!r}")
    key = cfg.get_secret("alertWebhookKey")
    if url and key is None:
        raise ValueError(
            "platescan:alerts.webhookUrl needs a key: pulumi config set --secret "
            "platescan:alertWebhookKey <value>"
        )
    rate = int(raw.get("webhookRatePerSecond", 10))
    if not 1 <= rate <= 300:
        raise ValueError(f"platescan:alerts.webhookRatePerSecond must be 1-300; got {rate}")
    threshold = float(cfg.get("reviewThreshold") or 0.8)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"platescan:reviewThreshold must be between 0 and 1; got {threshold}")
    return Alerts(
        email=raw.get("email") or None,
        webhook_url=url,
        webhook_header=str(raw.get("webhookHeader") or "X-Api-Key"),
        webhook_key=key if url else None,
        webhook_rate_per_s=rate,
        review_threshold=threshold,
    )


def load() -> StackConfig:
    """Read and validate the current stack's configuration (inside a Pulumi program)."""
    import pulumi

    loaded = from_source(
        pulumi.Config("platescan"),
        project=pulumi.get_project(),
        stack=pulumi.get_stack(),
        region=pulumi.Config("aws").require("region"),
    )
    # Only a run of the program builds the image; the tools reading the file do not.
    _check_image_build(loaded.detector_engine)
    return loaded


def load_file(stack: str, root: Path = REPO_ROOT) -> StackConfig:
    """Read and validate `Pulumi.<stack>.yaml` as `load` would, outside a Pulumi program."""
    import yaml

    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise ValueError(f"no stack settings at {path}")
    values = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    return from_source(
        FileSource(values, "platescan", path),
        project=str(project),
        stack=stack,
        region=FileSource(values, "aws", path).require("region"),
    )


def from_source(cfg: Source, *, project: str, stack: str, region: str) -> StackConfig:
    """Validate one stack's `platescan:` settings."""
    throttle = cfg.get_object("apiThrottle") or {}
    log_retention = cfg.get_int("logRetentionDays") or 30
    if log_retention not in _LOG_RETENTION_DAYS:
        raise ValueError(f"platescan:logRetentionDays must be one of {_LOG_RETENTION_DAYS}")
    engine = _choice("detectorEngine", cfg.get("detectorEngine") or "rekognition", ENGINES)
    architecture = _choice(
        "architecture", cfg.get("architecture") or DEFAULT_ARCHITECTURE, ("arm64", "x86_64")
    )
    table_class = _choice(
        "tableClass",
        cfg.get("tableClass") or "STANDARD",
        ("STANDARD", "STANDARD_INFREQUENT_ACCESS"),
    )
    return StackConfig(
        project=project,
        stack=stack,
        region=region,
        detector_engine=cast(DetectorEngine, engine),
        log_level=_choice("logLevel", (cfg.get("logLevel") or "INFO").upper(), _LOG_LEVELS),
        log_retention_days=log_retention,
        execution_log_level=_choice(
            "executionLogLevel", cfg.get("executionLogLevel") or "ERROR", _EXECUTION_LOG_LEVELS
        ),
        upload_retention_days=_positive(
            "uploadRetentionDays", cfg.require_int("uploadRetentionDays")
        ),
        record_retention_days=_positive(
            "recordRetentionDays", cfg.require_int("recordRetentionDays")
        ),
        memory_mb=_memory(cfg.get_object("memoryMb")),
        api_throttle=ApiThrottle(
            rate_limit=float(throttle.get("rateLimit", 10)),
            burst_limit=int(throttle.get("burstLimit", 20)),
        ),
        alarm_email=_alarm_email(cfg.get("alarmEmail")),
        protect_data=cfg.get_bool("protectData") or False,
        region_hint=cfg.get("regionHint") or None,
        architecture=cast(Architecture, architecture),
        tracing=_tracing(cfg.get_object("tracing")),
        table_class=cast(TableClass, table_class),
        log_personal_data=cfg.get_bool("logPersonalData") or False,
        accounts=_accounts(cfg.get_object("accounts")),
        detect_text_concurrency=_concurrency(cfg.get_int("detectTextConcurrency")),
        alerts=_alerts(cfg),
    )
