"""The local web server: the website, the HTTP API and an S3 upload endpoint on one port.

`/` serves `site/` as CloudFront would, with the same security headers (CSP, frame and
content-type options, referrer policy; no HSTS on plain HTTP), `/config.json` tells the page
where the API is, and `/api/...` hands each request to the same API handler that runs behind
API Gateway (as a payload v2 event). Requests for `<bucket>.s3.localhost:<port>` (routed by
their Host header) stand in for S3's presigned POST and GET: virtual-hosted URLs, a separate
origin answering CORS by the bucket's rule, as on AWS.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import signal
import threading
import time
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.exceptions import ClientError, ParamValidationError

from platescan import aws, contract, web
from platescan.asl import REPO_ROOT
from platescan.local import docs, s3post, store
from platescan.local.authorizer import JwtAuthorizer, Unauthorized
from platescan.local.gaps import LambdaContext
from platescan.local.runtime import LocalConfig, LocalStack
from platescan.local.webhook import WebhookRecorder
from platescan.settings import get_settings

log = logging.getLogger("platescan.local")

SITE_DIR = REPO_ROOT / "site"
MAX_POST_BYTES = 12 * 1024 * 1024  # the policy allows 10 MB; read a little more to say so


class LocalService:
    """The local stack plus the HTTP server in front of it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        engine: str = "onnx",
        data_dir: str | None = None,
    ) -> None:
        self.host, self.port, self.engine = host, port, engine
        self.data_dir = data_dir
        self.stack: LocalStack | None = None
        self.httpd: ThreadingHTTPServer | None = None
        self.api_handler: Any = None
        self.authorizer: JwtAuthorizer | None = None
        self.site_headers: dict[str, str] = {}
        self.webhook: WebhookRecorder | None = None

    def start(self) -> None:
        service = self

        class Handler(RequestHandler):
            local = service

        # Bind first: with port 0 the real port is known only now, and URLs need it.
        self.httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        # A test webhook on loopback takes the alerts the stack's API destination would send.
        self.webhook = WebhookRecorder(self.host).start()
        self.stack = LocalStack(
            LocalConfig(
                engine=self.engine,
                site_origin=self.url,
                s3_public_endpoint=web.local_s3_endpoint(self.port),
                data_dir=self.data_dir,
                webhook_url=self.webhook.url,
            )
        )
        self.stack.start()
        self.site_headers = web.security_headers(
            web.local_hosts(self.stack.config.bucket, self.port)
        )
        self.api_handler = self.stack.handlers["api"]
        self.authorizer = JwtAuthorizer(issuer=self.stack.issuer, audiences=(self.stack.client_id,))
        docs.enable(self.url)

    def serve_forever(self) -> None:
        assert self.httpd is not None
        self.httpd.serve_forever(poll_interval=0.2)

    def start_in_background(self) -> threading.Thread:
        self.start()
        thread = threading.Thread(target=self.serve_forever, name="platescan-http", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.stack is not None:
            self.stack.stop()
        if self.webhook is not None:
            self.webhook.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class RequestHandler(BaseHTTPRequestHandler):
    local: LocalService
    _cors: dict[str, str] = {}  # noqa: RUF012  (replaced per request, never mutated)
    server_version = "platescan-local"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- routing -------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_OPTIONS(self) -> None:
        self._route("OPTIONS")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def _route(self, method: str) -> None:
        path = urlsplit(self.path).path
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        try:
            if host.endswith(f".{web.LOCAL_S3_DOMAIN}"):
                self._s3(method, host[: -len(web.LOCAL_S3_DOMAIN) - 1], path.lstrip("/"))
            elif path == "/api" or path.startswith("/api/"):
                self._api(method)
            elif path == "/local-cognito/" and method == "POST":
                self._cognito()
            elif path == "/local-admin/users" and method == "POST":
                self._invite()
            elif path == "/config.json" and method in ("GET", "HEAD"):
                self._send(
                    200,
                    json.dumps(self._site_config()).encode(),
                    "application/json",
                    self.local.site_headers,
                )
            elif method in ("GET", "HEAD"):
                self._static(path)
            else:
                self._send_json(405, {"message": f"{method} is not allowed here"})
        except Exception:  # a bug must not leak a stack trace to the browser
            log.exception("request %s %s failed", method, self.path)
            self._send_json(500, {"message": "internal error; see the server log"})

    # -- the website ---------------------------------------------------------------------
    def _static(self, path: str) -> None:
        relative = unquote(path).lstrip("/") or "index.html"
        target = (SITE_DIR / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(SITE_DIR.resolve()) or not target.is_file():
            self._send(404, b"not found", "text/plain; charset=utf-8", self.local.site_headers)
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith(("javascript", "json")):
            content_type += "; charset=utf-8"
        headers = {**self.local.site_headers, "Cache-Control": "no-cache"}
        self._send(200, target.read_bytes(), content_type, headers)

    def _site_config(self) -> dict[str, Any]:
        """What the deployed site's config.json holds, pointing at the local stand-ins."""
        host = self.headers.get("Host") or f"{self.local.host}:{self.local.port}"
        stack = self.local.stack
        assert stack is not None
        return {
            "api_url": f"http://{host}/api",
            "auth": {
                "region": stack.config.region,
                "user_pool_id": stack.user_pool_id,
                "client_id": stack.client_id,
                "endpoint": f"http://{host}/local-cognito/",
            },
        }

    # -- Cognito's user-pool API for the browser, on moto ---------------------------------
    def _cognito(self) -> None:
        body = self._read_body(limit=64 * 1024) or b"{}"
        target = self.headers.get("X-Amz-Target", "")
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._send_json(400, {"__type": "SerializationException", "message": "not JSON"})
            return
        status, answer = cognito_call(target, request)
        self._send(status, json.dumps(answer).encode(), "application/x-amz-json-1.1")

    def _invite(self) -> None:
        """`python -m platescan users add` against this service: what an admin does on AWS.

        Only from this machine: on AWS the same call needs the operator's IAM credentials.
        """
        if self.client_address[0] not in ("127.0.0.1", "::1"):
            self._send_json(403, {"message": "users are added from this machine only"})
            return
        try:
            request = json.loads(self._read_body(limit=4096) or b"{}")
            email = str(request["email"])
        except (ValueError, KeyError, TypeError):
            self._send_json(400, {"message": 'send {"email": ..., "admin": true|false}'})
            return
        assert self.local.stack is not None
        try:
            password = self.local.stack.invite_user(email, admin=bool(request.get("admin")))
        except ClientError as exc:
            self._send_json(400, {"message": exc.response.get("Error", {}).get("Message", "")})
            return
        answer = {"email": email, "admin": bool(request.get("admin"))}
        self._send_json(201, {**answer, "temporary_password": password})

    # -- the API, through the same handler as API Gateway ---------------------------------
    def _api(self, method: str) -> None:
        split = urlsplit(self.path)
        body = self._read_body(limit=1024 * 1024)
        if body is None:
            self._send_json(413, {"message": "request body too large"})
            return
        raw_path = split.path[len("/api") :] or "/"
        if method in ("GET", "HEAD") and raw_path in docs.PATHS:
            # The schema and Swagger UI: served locally only, describing the routes.
            status, content_type, data, headers = docs.serve(raw_path, split.query)
            self._send(status, data, content_type, headers)
            return
        route_key = "$default"
        authorizer: dict[str, Any] | None = None
        if method != "OPTIONS":  # API Gateway answers CORS preflights without a token
            found = contract.route_for(method, raw_path)
            if found is None:
                self._send_json(404, {"message": "Not Found"})
                return
            assert self.local.authorizer is not None
            try:
                authorizer = self.local.authorizer.authorize(dict(self.headers.items()))
            except Unauthorized as refused:
                self._send(
                    401,
                    json.dumps(refused.body).encode(),
                    "application/json",
                    {**refused.headers, **self._api_cors()},
                )
                return
            route_key = found
        query = parse_qs(split.query, keep_blank_values=True)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": raw_path,
            "rawQueryString": split.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "queryStringParameters": {k: ",".join(v) for k, v in query.items()} or None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": self.headers.get("Host", "127.0.0.1"),
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.client_address[0],
                    "userAgent": self.headers.get("User-Agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(time.time() * 1000),
            },
            "body": base64.b64encode(body).decode() if body else None,
            "isBase64Encoded": bool(body),
        }
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        response = self.local.api_handler(event, LambdaContext(function_name="platescan-api"))
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        headers = dict(response.get("headers") or {})
        content_type = headers.pop("Content-Type", headers.pop("content-type", "application/json"))
        self._send(int(response.get("statusCode", 200)), data, content_type, headers)

    def _api_cors(self) -> dict[str, str]:
        """API Gateway's CORS headers on its own answers (a 401), for the site's origin."""
        origin = self.headers.get("Origin")
        if origin and origin == get_settings().site_origin:
            return {"Access-Control-Allow-Origin": origin}
        return {}

    # -- the S3 stand-in -----------------------------------------------------------------
    def _s3(self, method: str, bucket: str, key: str) -> None:
        self._cors = {}
        if self.local.stack is None or bucket != self.local.stack.config.bucket:
            self._s3_error(s3post.PostRejected(404, "NoSuchBucket", "no such bucket"))
            return
        self._cors = self._s3_cors(bucket, method) or {}
        if method == "OPTIONS":
            # A preflight S3's CORS rule does not match is refused, as S3 refuses it.
            if self._cors:
                self._send(200, b"", "text/plain", self._cors)
            else:
                self._s3_error(
                    s3post.PostRejected(403, "AccessForbidden", "CORSResponse: not allowed")
                )
        elif method == "POST" and not key:
            self._s3_post(bucket)
        elif method in ("GET", "HEAD") and key:
            self._s3_get(bucket, unquote(key))
        else:
            self._s3_error(s3post.PostRejected(405, "MethodNotAllowed", method))

    def _s3_cors(self, bucket: str, method: str) -> dict[str, str] | None:
        """The CORS headers the bucket's own rules give this request (as S3 evaluates them)."""
        origin = self.headers.get("Origin")
        if not origin:
            return None
        try:
            rules = aws.client("s3").get_bucket_cors(Bucket=bucket)["CORSRules"]
        except ClientError:
            return None
        if method == "OPTIONS":
            method = self.headers.get("Access-Control-Request-Method", "")
        requested = [
            h for h in (self.headers.get("Access-Control-Request-Headers") or "").split(",") if h
        ]
        for rule in rules:
            matched = web.cors_headers(
                web.CorsRule(
                    methods=tuple(rule.get("AllowedMethods", ())),
                    headers=tuple(rule.get("AllowedHeaders", ())),
                    max_age_s=int(rule.get("MaxAgeSeconds", 0)),
                    expose=tuple(rule.get("ExposeHeaders", ())),
                ),
                rule.get("AllowedOrigins", ()),
                origin,
                method,
                requested,
            )
            if matched:
                return matched
        return None

    def _s3_error(self, error: s3post.PostRejected) -> None:
        self._send(error.status, error.to_xml(), "application/xml", self._cors)

    def _s3_post(self, bucket: str) -> None:
        body = self._read_body(limit=MAX_POST_BYTES)
        try:
            if body is None:
                raise s3post.PostRejected(
                    400, "EntityTooLarge", "the upload exceeds the size limit"
                )
            form = s3post.parse_multipart(self.headers.get("Content-Type", ""), body)
            s3post.check_policy(bucket, form, secret=_signing_secret())
            s3post.store(bucket, form)
        except s3post.PostRejected as exc:
            self._s3_error(exc)
            return
        self._send(204, b"", "text/plain", self._cors)

    def _s3_get(self, bucket: str, key: str) -> None:
        query = parse_qs(urlsplit(self.path).query)
        try:
            signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=UTC
            )
            expired = (datetime.now(UTC) - signed_at).total_seconds() > int(
                query["X-Amz-Expires"][0]
            )
        except (KeyError, ValueError):
            self._s3_error(s3post.PostRejected(403, "AccessDenied", "not a presigned URL"))
            return
        if expired:
            self._s3_error(s3post.PostRejected(403, "AccessDenied", "the link has expired"))
            return
        try:
            obj = aws.client("s3").get_object(Bucket=bucket, Key=key)
        except ClientError:
            self._s3_error(s3post.PostRejected(404, "NoSuchKey", "no such object"))
            return
        self._send(
            200,
            obj["Body"].read(),
            obj.get("ContentType") or "application/octet-stream",
            {**self._cors, "Cache-Control": "private, max-age=300"},
        )

    # -- plumbing ------------------------------------------------------------------------
    def _read_body(self, limit: int) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(
            status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else None
        )
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


# The user-pool operations a browser makes (no AWS credentials, the app client's id only).
_COGNITO_OPERATIONS = {
    "SignUp": "sign_up",
    "ConfirmSignUp": "confirm_sign_up",
    "ResendConfirmationCode": "resend_confirmation_code",
    "InitiateAuth": "initiate_auth",
    "RespondToAuthChallenge": "respond_to_auth_challenge",
    "GetUser": "get_user",
    "GlobalSignOut": "global_sign_out",
    "DeleteUser": "delete_user",
}


def cognito_call(target: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One call of Cognito's JSON API, answered by moto as Cognito answers it.

    Locally, new accounts are confirmed at once: there is no e-mail to send a code to.
    """
    operation = target.rpartition(".")[2]
    method = _COGNITO_OPERATIONS.get(operation)
    if method is None:
        return 400, {"__type": "UnknownOperationException", "message": operation}
    cognito = aws.client("cognito-idp")
    try:
        answer = dict(getattr(cognito, method)(**request))
        if operation == "SignUp" and not answer.get("UserConfirmed"):
            user_pool_id = _pool_of_client(str(request.get("ClientId", "")))
            cognito.admin_confirm_sign_up(UserPoolId=user_pool_id, Username=request["Username"])
            answer["UserConfirmed"] = True
            log.warning("local mode: account %s confirmed without e-mail", request["Username"])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
        return status, {"__type": error.get("Code", "Error"), "message": error.get("Message", "")}
    except ParamValidationError as exc:  # parameters botocore refuses before sending
        return 400, {"__type": "InvalidParameterException", "message": str(exc)}
    answer.pop("ResponseMetadata", None)
    return 200, answer


def _pool_of_client(client_id: str) -> str:
    cognito = aws.client("cognito-idp")
    for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]:
        clients = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)
        if any(c["ClientId"] == client_id for c in clients["UserPoolClients"]):
            return str(pool["Id"])
    raise ValueError("unknown client id")


def _signing_secret() -> str:
    """The secret the API signed its presigned POSTs with (moto's fake credentials).

    Taken from the very client the API presigns with, which keeps the credentials it was
    created with even if the environment changes later.
    """
    signer = aws.presigner(get_settings().s3_public_endpoint)._request_signer
    return str(signer._credentials.get_frozen_credentials().secret_key)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    engine: str = "onnx",
    data_dir: str | None = None,
    reset: bool = False,
) -> None:
    """Run the local service until interrupted; with `data_dir`, keep its data there."""
    if data_dir and reset:
        store.DataFolder(Path(data_dir)).reset()
    service = LocalService(host, port, engine, data_dir)
    service.start()
    kept = f"; photos and records kept in {data_dir}" if data_dir else " (nothing is kept)"
    print(f"platescan is running on {service.url}{kept}  (Ctrl+C to stop)", flush=True)
    print(
        f"Sign in: open {service.url} and choose Create account (local accounts need no"
        " e-mail confirmation), or invite someone from another terminal:\n"
        f"  .venv/bin/python -m platescan users add EMAIL [--admin] --local {service.url}",
        flush=True,
    )
    if service.webhook is not None:
        print(
            "alerts: each e-mail the SNS topic would send is printed here; the test webhook "
            f"keeps every call at {service.webhook.url}",
            flush=True,
        )
    # A service manager (or `kill`) stops with SIGTERM: stop as on Ctrl+C, so the last
    # photos and records are written to the data folder before the process ends.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        service.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
