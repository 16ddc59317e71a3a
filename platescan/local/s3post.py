"""A stand-in for S3's browser-upload endpoint (presigned POST), for local mode.

moto stores a POSTed object but does not check its policy, so this module does what S3
does before accepting a browser upload: the policy must be signed with our key, unexpired,
and every form field and the file's size must satisfy its conditions. Then the object is
put into the (moto) bucket, which starts the pipeline like any upload.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from platescan import aws

# Fields S3 itself consumes; they need no condition in the policy.
_EXEMPT = {"policy", "x-amz-signature", "file", "x-amz-security-token"}


class PostRejected(Exception):
    """S3 would refuse this POST; `code` and `status` are what S3 answers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def to_xml(self) -> bytes:
        return (
            f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{self.code}</Code>"
            f"<Message>{_xml_escape(self.message)}</Message></Error>"
        ).encode()


@dataclass
class PostForm:
    fields: dict[str, str]
    file: bytes
    file_name: str


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_multipart(content_type: str, body: bytes) -> PostForm:
    """Split a multipart/form-data body into its fields and its one file."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise PostRejected(400, "InvalidRequest", "the upload must be multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    file: bytes | None = None
    file_name = ""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            file = payload if isinstance(payload, bytes) else bytes(payload)
            file_name = str(part.get_filename() or "")
            break  # S3 ignores fields after the file
        fields[name] = payload.decode("utf-8") if isinstance(payload, bytes) else str(payload)
    if file is None:
        raise PostRejected(400, "InvalidArgument", "the form has no file field")
    return PostForm(fields, file, file_name)


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def check_policy(bucket: str, form: PostForm, secret: str, now: datetime | None = None) -> None:
    """Raise PostRejected unless S3 would accept this form for `bucket`."""
    fields = {k.lower(): v for k, v in form.fields.items()}
    encoded = fields.get("policy")
    if not encoded:
        raise PostRejected(403, "AccessDenied", "the upload has no policy")
    credential = fields.get("x-amz-credential", "").split("/")
    if len(credential) != 5:
        raise PostRejected(400, "InvalidArgument", "x-amz-credential is malformed")
    _, date, region, service, _ = credential
    expected = hmac.new(
        _signing_key(secret, date, region, service), encoded.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
        raise PostRejected(403, "SignatureDoesNotMatch", "the policy signature does not match")
    try:
        policy: dict[str, Any] = json.loads(base64.b64decode(encoded))
    except ValueError as exc:
        raise PostRejected(400, "InvalidPolicyDocument", "the policy is not valid JSON") from exc
    expiry = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    if (now or datetime.now(UTC)) > expiry:
        raise PostRejected(403, "AccessDenied", "the upload link has expired; ask for a new one")

    values = {**fields, "bucket": bucket}
    covered = {"bucket"}
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            ((name, wanted),) = condition.items()
            _require(values.get(name.lower()) == wanted, f"{name} must be {wanted}")
            covered.add(name.lower())
        elif condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            size = len(form.file)
            _require(low <= size <= high, f"the file is {size} bytes; allowed {low} to {high}")
        else:
            op, name, wanted = condition[0], condition[1].lstrip("$").lower(), condition[2]
            value = values.get(name, "")
            ok = value == wanted if op == "eq" else value.startswith(wanted)
            _require(ok, f"{name} does not satisfy the policy ({op} {wanted!r})")
            covered.add(name)
    extra = {
        name
        for name in fields
        if name not in covered | _EXEMPT and not name.startswith("x-ignore-")
    }
    _require(not extra, f"form fields not allowed by the policy: {sorted(extra)}")


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise PostRejected(403, "AccessDenied", f"Invalid according to Policy: {message}")


def store(bucket: str, form: PostForm) -> str:
    """Put the accepted upload into the bucket; returns its key."""
    fields = {k.lower(): v for k, v in form.fields.items()}
    key = fields["key"].replace("${filename}", form.file_name)
    metadata = {
        k[len("x-amz-meta-") :]: v for k, v in fields.items() if k.startswith("x-amz-meta-")
    }
    aws.client("s3").put_object(
        Bucket=bucket,
        Key=key,
        Body=form.file,
        ContentType=fields.get("content-type", "binary/octet-stream"),
        Metadata=metadata,
    )
    return key
