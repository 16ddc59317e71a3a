"""Every name the parts of platescan share, written once.

The Pulumi program (`infra/`), the Lambda handlers (`functions/`, `platescan/stages/`), the
state machine (`statemachine/`) and the local stack (`platescan/local/`) all import what
they agree on from here: the object key prefix, the table's keys, index and schema, the
function list and their ASL placeholders, the engine names, the record statuses, the
EventBridge event patterns, the environment variables of the functions, and the shapes of
what each pipeline stage takes and returns. The local stack builds its table and rules from
the same values that are deployed, so what the tests run against is what AWS gets
(tests/infra/test_contract.py compares the two).

Handlers import this module at cold start: it uses the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict, final

# -- objects -------------------------------------------------------------------------------

# Photos are uploaded under this prefix; the upload rule, the lifecycle rule and the
# functions' S3 permissions are all scoped to it.
UPLOADS_PREFIX = "uploads/"


# What the API signs into each presigned POST, deployed and local alike.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
PRESIGN_EXPIRES_S = 300


def upload_key(upload_id: str, file_name: str) -> str:
    """The key of an object put by an operator: `uploads/{upload_id}/{file name}` (a safe
    file name). Its record has no owner: admins only."""
    return f"{UPLOADS_PREFIX}{upload_id}/{file_name}"


def owned_key(owner: str, upload_id: str) -> str:
    """The object key of an upload the API issued: `uploads/{owner}/{upload_id}`, ids only.

    The owner (the uploader's Cognito `sub`) is part of what the presigned POST signs, so
    the pipeline takes it from the key; the file name stays in the record the API wrote,
    out of S3 events and execution input.
    """
    return f"{UPLOADS_PREFIX}{owner}/{upload_id}"


# -- the results table -----------------------------------------------------------------------

TABLE_KEY = "upload_id"
PLATE_TEXT = "plate_text"  # the top plate of a record, the plate index's key
PLATE_INDEX = "by_plate"
OWNER = "owner"  # the uploader's Cognito `sub`; absent on records made before accounts
# Every record of one owner: their search, export and deletion query it, so what they read
# is bounded by their own records, never by the table.
OWNER_INDEX = "by_owner"
TTL_ATTRIBUTE = "expires_at"  # epoch seconds; DynamoDB deletes the record after it


@dataclass(frozen=True)
class Index:
    """A global secondary index projecting every attribute."""

    name: str
    hash_key: str


@dataclass(frozen=True)
class TableSchema:
    """The results table's keys, indexes and TTL: one description, two writers.

    `infra/storage.py` turns it into a Pulumi `aws.dynamodb.Table`; the local stack into a
    DynamoDB `CreateTable` request (`create_table_request`).
    """

    hash_key: str
    # Every attribute a key of the table or of an index uses, with its DynamoDB type.
    attributes: dict[str, Literal["S", "N", "B"]]
    indexes: tuple[Index, ...]
    ttl_attribute: str


TABLE = TableSchema(
    hash_key=TABLE_KEY,
    attributes={TABLE_KEY: "S", PLATE_TEXT: "S", OWNER: "S"},
    indexes=(Index(PLATE_INDEX, PLATE_TEXT), Index(OWNER_INDEX, OWNER)),
    ttl_attribute=TTL_ATTRIBUTE,
)


def create_table_request(table_name: str, schema: TableSchema = TABLE) -> dict[str, Any]:
    """DynamoDB `CreateTable` parameters for `schema`, billed per request as deployed."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind}
            for name, kind in schema.attributes.items()
        ],
        "KeySchema": [{"AttributeName": schema.hash_key, "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.hash_key, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in schema.indexes
        ],
    }


# -- watchlists and alerts ------------------------------------------------------------------
# Both tables are keyed by owner (Cognito `sub`) first: every read is a query on one owner's
# items, never a scan. Written in DynamoDB's CreateTable shape (less name and billing), which
# the local stack passes as is and `infra/alerts.py` turns into a Pulumi Table.

NEWEST_INDEX = "newest"  # the alerts table's local index: one owner's alerts by time
WATCHLISTS_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "owner", "AttributeType": "S"},
        {"AttributeName": "entry_id", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "entry_id", "KeyType": "RANGE"},
    ],
}
# alert_id is "{upload_id}#{entry_id}": the key itself makes an alert unique per photo and
# entry (see platescan/alerts.py).
ALERTS_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "owner", "AttributeType": "S"},
        {"AttributeName": "alert_id", "AttributeType": "S"},
        {"AttributeName": "alerted_at", "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "alert_id", "KeyType": "RANGE"},
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": NEWEST_INDEX,
            "KeySchema": [
                {"AttributeName": "owner", "KeyType": "HASH"},
                {"AttributeName": "alerted_at", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
}

# "Plate Matched" events, as Write Result puts them on the stack's own bus (platescan.alerts).
PLATE_MATCHED_SOURCE = "platescan"
PLATE_MATCHED_DETAIL_TYPE = "Plate Matched"


def plate_matched_pattern() -> dict[str, Any]:
    """Alerts: every "Plate Matched" event this stack publishes on its own bus."""
    return {"source": [PLATE_MATCHED_SOURCE], "detail-type": [PLATE_MATCHED_DETAIL_TYPE]}


# The e-mail an alert becomes on the SNS topic: one readable line and the ids to look it up,
# instead of the raw event JSON. The same InputTransformer deployed and local.
ALERT_EMAIL_TRANSFORMER: dict[str, Any] = {
    "InputPathsMap": {
        "plate": "$.detail.plate_read",
        "entry": "$.detail.entry.plate",
        "label": "$.detail.entry.label",
        "how": "$.detail.how",
        "confidence": "$.detail.confidence",
        "upload": "$.detail.upload_id",
        "at": "$.detail.alerted_at",
    },
    "InputTemplate": (
        '"platescan read <plate> at <at>: it matches watchlist entry <entry> (<label>), '
        '<how> match, confidence <confidence>. Upload <upload>."'
    ),
}


# -- functions and the state machine ---------------------------------------------------------

# The function folders under functions/, in the order of the pipeline, then the others.
PIPELINE_FUNCTIONS = ("read_metadata", "detect_text", "validate_plate", "write_result")
FUNCTIONS = (*PIPELINE_FUNCTIONS, "mark_failed", "api")

# The ASL placeholder that receives each pipeline function's ARN.
PLACEHOLDERS = {
    "read_metadata": "ReadMetadataFunctionArn",
    "detect_text": "DetectTextFunctionArn",
    "validate_plate": "ValidatePlateFunctionArn",
    "write_result": "WriteResultFunctionArn",
}


def placeholder_values(function_arns: dict[str, str]) -> dict[str, str]:
    """The ASL's placeholder values, from the pipeline functions' ARNs."""
    return {PLACEHOLDERS[function]: function_arns[function] for function in PIPELINE_FUNCTIONS}


# The execution history holds every photo's detected text and readings for 90 days. It is
# encrypted under the stack's own KMS key, so reading it takes kms:Decrypt on that key as
# well as states:GetExecutionHistory: read-only operator roles see statuses, not plates.
HISTORY_ENCRYPTION = "CUSTOMER_MANAGED_KMS_KEY"
# How long Step Functions reuses a data key before asking KMS for another (60 to 900 s;
# AWS's default). Longer means fewer KMS requests, each billed.
HISTORY_DATA_KEY_REUSE_S = 300


def history_encryption(key_arn: str) -> dict[str, Any]:
    """The state machine's EncryptionConfiguration, as CreateStateMachine takes it."""
    return {
        "type": HISTORY_ENCRYPTION,
        "kmsKeyId": key_arn,
        "kmsDataKeyReusePeriodSeconds": HISTORY_DATA_KEY_REUSE_S,
    }


# -- engines and statuses --------------------------------------------------------------------

DetectorEngine = Literal["rekognition", "onnx"]
ENGINES: tuple[DetectorEngine, ...] = ("rekognition", "onnx")

# Written by the API when it issues an upload (owner, file name), before any photo arrives.
ISSUED = "ISSUED"
PROCESSING = "PROCESSING"
DONE = "DONE"
NO_PLATE = "NO_PLATE"
REJECTED = "REJECTED"
FAILED = "FAILED"
FINAL_STATUSES = frozenset({DONE, NO_PLATE, REJECTED, FAILED})
# What is left of a deleted upload for a day: it keeps a late pipeline run from writing the
# record again. It has no owner, so no one's search or export finds it.
DELETED = "DELETED"

# Step Functions execution statuses that leave an upload without a result.
UNSUCCESSFUL_EXECUTION_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")

# -- events ----------------------------------------------------------------------------------


def object_created_pattern(bucket: str) -> dict[str, Any]:
    """S3 `Object Created` events for photos uploaded to `bucket` under the uploads prefix."""
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [bucket]},
            "object": {"key": [{"prefix": UPLOADS_PREFIX}]},
        },
    }


def execution_unsuccessful_pattern(state_machine_arn: str) -> dict[str, Any]:
    """This state machine's executions that failed, timed out or were aborted."""
    return {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": list(UNSUCCESSFUL_EXECUTION_STATUSES),
            "stateMachineArn": [state_machine_arn],
        },
    }


# -- the HTTP API ------------------------------------------------------------------------------

# Its routes as API Gateway declares them, each behind the JWT authorizer. API Gateway
# answers a request that matches none with 404 itself; the local server does the same.
ROUTES = (
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
)


def route_for(method: str, path: str) -> str | None:
    """The route key a request matches (`GET /results/{upload_id}`), or None."""
    given = path.split("/")
    for route in ROUTES:
        route_method, pattern = route.split(" ", 1)
        wanted = pattern.split("/")
        if route_method != method.upper() or len(wanted) != len(given):
            continue
        # `{name}` takes one whole, non-empty segment; every other segment is literal
        if all(w == g or (w.startswith("{") and g) for w, g in zip(wanted, given, strict=True)):
            return route
    return None


# -- environment of the functions --------------------------------------------------------------


class Env:
    """Names of the environment variables the functions read (see docs/contracts.md)."""

    RESULTS_TABLE = "RESULTS_TABLE"
    UPLOADS_BUCKET = "UPLOADS_BUCKET"
    DETECTOR_ENGINE = "DETECTOR_ENGINE"
    REGION_HINT = "REGION_HINT"
    SITE_ORIGIN = "SITE_ORIGIN"
    MAX_UPLOAD_BYTES = "MAX_UPLOAD_BYTES"
    PRESIGN_EXPIRES_S = "PRESIGN_EXPIRES_S"
    RETENTION_DAYS = "RETENTION_DAYS"
    OCR_WORKERS = "OCR_WORKERS"
    OCR_TIMEOUT_S = "OCR_TIMEOUT_S"
    DAILY_UPLOAD_QUOTA = "DAILY_UPLOAD_QUOTA"
    # "true" lets plates and file names into logs and traces (a stack's debugging setting).
    LOG_PERSONAL_DATA = "LOG_PERSONAL_DATA"
    WATCHLISTS_TABLE = "WATCHLISTS_TABLE"
    ALERTS_TABLE = "ALERTS_TABLE"
    EVENT_BUS_NAME = "EVENT_BUS_NAME"
    REVIEW_THRESHOLD = "REVIEW_THRESHOLD"
    # Local mode only: where browsers reach the S3 stand-in.
    S3_PUBLIC_ENDPOINT = "S3_PUBLIC_ENDPOINT"


# -- what each stage takes and returns ---------------------------------------------------------
# The keys of each `...Input` are the ASL Task's `Parameters` (tests/statemachine/test_asl.py
# holds them equal).


class S3Bucket(TypedDict):
    name: str


# `version-id` is not a Python name: the functional form keeps EventBridge's spelling.
S3ObjectDetail = TypedDict(
    "S3ObjectDetail",
    {
        "key": str,
        "size": NotRequired[int],
        "etag": NotRequired[str],
        "version-id": NotRequired[str],
    },
)


class ObjectCreatedDetail(TypedDict):
    """The `detail` of an S3 `Object Created` event (the execution's input)."""

    bucket: S3Bucket
    object: S3ObjectDetail


class ObjectFacts(TypedDict):
    """What the pipeline knows of an uploaded object; Read Metadata adds the image facts."""

    upload_id: str
    bucket: str
    key: str
    file_name: str | None  # None for an owned key: the record the API wrote has the name
    version_id: str | None
    etag: str
    object_version: str
    size: int | None
    uploaded_at: str
    declared_content_type: NotRequired[str | None]
    content_type: NotRequired[str]
    width: NotRequired[int]
    height: NotRequired[int]
    orientation: NotRequired[int]
    region_hint: NotRequired[str | None]
    elapsed_ms: NotRequired[float]


class ReadMetadataInput(TypedDict):
    detail: ObjectCreatedDetail
    event_time: Any  # EventBridge sends ISO-8601; moto epoch seconds
    execution_arn: str


class ReadMetadataOutput(TypedDict):
    object: ObjectFacts


class DetectTextInput(TypedDict):
    object: ObjectFacts


class DetectTextOutput(TypedDict):
    engine: str
    response: dict[str, Any]  # DetectText's response shape, LINEs only (platescan.detections)
    elapsed_ms: float


class ValidatePlateInput(TypedDict):
    object: ObjectFacts
    detection: DetectTextOutput


class ValidatePlateOutput(TypedDict):
    status: str  # DONE or NO_PLATE
    plates: list[dict[str, Any]]  # PlateReading JSON, best first
    elapsed_ms: float


class DetectionSummary(TypedDict):
    engine: str
    elapsed_ms: float


@final  # final, so that `"error" in event` tells the two inputs apart
class WriteResultInput(TypedDict):
    """The happy path's input to Write Result."""

    object: ObjectFacts
    reading: ValidatePlateOutput
    detection: DetectionSummary
    execution_arn: str


@final
class WriteRejectionInput(TypedDict):
    """Write Result's input when a stage rejected the photo (`error` is States' Error/Cause)."""

    detail: ObjectCreatedDetail
    event_time: Any
    error: dict[str, str]
    execution_arn: str


class WriteResultOutput(TypedDict):
    upload_id: str
    status: str
    plate_count: int  # not the plates: execution output is kept free of personal data
    alerts_raised: int  # new alerts from the owner's watchlist (counted, never listed)
