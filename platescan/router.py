"""A small router for API Gateway HTTP API events (payload format 2.0), JSON in and out.

The API function has three routes. Powertools' `APIGatewayHttpResolver` served them, but
importing `aws_lambda_powertools.event_handler` imports every resolver it has (AppSync,
Bedrock agents, VPC Lattice, OpenAPI, ...): 32 ms of CPU (41 ms wall) of every cold start,
measured at the margin (issue 7; `-X importtime` had suggested 85-100 ms). This
module does what the function used from it, and answers as it did
(`tests/unit/test_api_responses.py` holds the responses recorded from it):

- routes by method and path: `rawPath` with a named stage's prefix removed (`$default`
  has none); the route function gets the `Request`, and each `{name}` segment of its path
  as a keyword argument;
- JSON responses (`Content-Type: application/json`, compact, Decimals as strings);
- CORS as `CORSConfig(allow_origin=..., max_age=...)` gave it: the headers only when the
  request's `origin` is the allowed one, and an `OPTIONS` request on any path answered as
  a preflight (204, `Access-Control-Allow-Methods` listing every route's method);
- exception handlers by exception type; no route for the path is a 404.

Where it differs, on purpose: a path that has a route but not for the request's method is
a 405 with an `Allow` header (Powertools said 404), and an exception no handler takes is
logged and answered with a generic 500, where Powertools let it fail the invocation (API
Gateway then answers 500 `Internal Server Error` without CORS headers, so the browser
could not read it).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

JSON = "application/json"
# What CORSConfig always allows (its _REQUIRED_HEADERS), sorted and comma-joined as it sends them.
CORS_ALLOW_HEADERS = "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,X-Api-Key"
_PARAM = re.compile(r"\{(\w+)\}")


class ExceptionLogger(Protocol):
    def exception(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


@dataclass
class Response:
    """A response to send: `body` is serialised as JSON unless it is already a string."""

    status_code: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = JSON


class Request:
    """The parts of a payload v2 event the routes read."""

    def __init__(self, event: dict[str, Any], stage_path: str) -> None:
        self.event = event
        self.method: str = event["requestContext"]["http"]["method"].upper()
        self.path = stage_path
        self.headers: dict[str, str] = {
            k.lower(): v for k, v in (event.get("headers") or {}).items()
        }
        self.query: dict[str, str] = dict(event.get("queryStringParameters") or {})

    def query_value(self, name: str) -> str | None:
        return self.query.get(name)

    @property
    def body(self) -> str | None:
        """The body as text, decoded from base64 when API Gateway encoded it."""
        body: str | None = self.event.get("body")
        if body and self.event.get("isBase64Encoded"):
            return base64.b64decode(body.encode()).decode()
        return body

    def json_body(self) -> Any:
        """The body parsed as JSON; None with no body. ValueError if it is not JSON (or UTF-8)."""
        body = self.body
        return json.loads(body) if body else None


def path_of(event: dict[str, Any]) -> str:
    """`rawPath` without the stage: API Gateway prefixes it with a named stage's name."""
    path: str = event.get("rawPath") or "/"
    stage = (event.get("requestContext") or {}).get("stage") or "$default"
    prefix = f"/{stage}"
    if stage != "$default" and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :] or "/"
    return path


class Cors:
    """The Access-Control headers for one allowed origin (or `*`)."""

    def __init__(self, allow_origin: str, max_age: int | None = None) -> None:
        self.allow_origin = allow_origin
        self.max_age = max_age

    def headers(self, origin: str | None) -> dict[str, str]:
        if not origin or (origin != self.allow_origin and self.allow_origin != "*"):
            return {}
        allowed = origin if origin == self.allow_origin else "*"
        headers = {
            "Access-Control-Allow-Origin": allowed,
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
        }
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        return headers


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    func: Callable[..., Any]


def _compile(pattern: str) -> re.Pattern[str]:
    """`/results/{upload_id}` -> a regex: each `{name}` is one non-empty path segment."""
    parts = _PARAM.split(pattern)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # as Powertools' encoder: DynamoDB numbers as strings
        return math.nan if value.is_nan() else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), default=_json_default)


class Router:
    """Routes payload v2 events to functions; `resolve` returns the Lambda proxy response."""

    def __init__(
        self,
        cors: Cors | None = None,
        logger: ExceptionLogger | None = None,
        not_found: dict[str, Any] | None = None,
    ) -> None:
        self.cors = cors
        self.logger: ExceptionLogger = logger or logging.getLogger(__name__)
        self.not_found = not_found or {"message": "no such route"}
        self.routes: list[Route] = []
        self.handlers: dict[type[BaseException], Callable[[Any], Response]] = {}

    # -- registering ------------------------------------------------------------------
    def route(
        self, method: str, pattern: str
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.routes.append(Route(method.upper(), pattern, _compile(pattern), func))
            return func

        return register

    def get(self, pattern: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("GET", pattern)

    def post(self, pattern: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("POST", pattern)

    def exception_handler(
        self, exc_type: type[BaseException]
    ) -> Callable[[Callable[[Any], Response]], Callable[[Any], Response]]:
        def register(func: Callable[[Any], Response]) -> Callable[[Any], Response]:
            self.handlers[exc_type] = func
            return func

        return register

    # -- resolving --------------------------------------------------------------------
    def resolve(self, event: dict[str, Any]) -> dict[str, Any]:
        request = Request(event, path_of(event))
        return self._build(self._dispatch(request), request)

    def _dispatch(self, request: Request) -> Response:
        if request.method == "OPTIONS" and self.cors is not None:
            methods = sorted({route.method for route in self.routes} | {"OPTIONS"})
            return Response(
                204, "", {"Access-Control-Allow-Methods": ",".join(methods)}, content_type=None
            )
        allowed: set[str] = set()
        for route in self.routes:
            match = route.regex.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed.add(route.method)
                continue
            return self._call(route, request, match.groupdict())
        if allowed:
            if self.cors is not None:
                allowed.add("OPTIONS")
            return Response(
                405,
                {"message": f"{request.method} is not allowed here"},
                {"Allow": ", ".join(sorted(allowed))},
            )
        return Response(404, self.not_found)

    def _call(self, route: Route, request: Request, params: dict[str, str]) -> Response:
        try:
            result = route.func(request, **params)
        except Exception as exc:
            for exc_type, handler in self.handlers.items():
                if isinstance(exc, exc_type):
                    return handler(exc)
            # No stack trace, nor the exception's text, goes to the client.
            self.logger.exception("unhandled error in %s %s", request.method, route.pattern)
            return Response(500, {"message": "internal error"})
        return result if isinstance(result, Response) else Response(200, result)

    def _build(self, response: Response, request: Request) -> dict[str, Any]:
        headers: dict[str, str] = {}
        if response.content_type:
            headers["Content-Type"] = response.content_type
        headers.update(response.headers)
        if self.cors is not None:
            headers.update(self.cors.headers(request.headers.get("origin")))
        body = response.body
        if body is None:
            text = ""
        elif isinstance(body, str):
            text = body
        else:
            text = _dumps(body)
        return {
            "statusCode": response.status_code,
            "body": text,
            "isBase64Encoded": False,
            "headers": headers,
            "cookies": [],
        }
