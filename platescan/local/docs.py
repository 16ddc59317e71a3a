"""The API's OpenAPI schema and Swagger UI, served by the local server under /api/.

Both come from the API function's own Powertools resolver, so they describe exactly the
routes it serves. They are added here, not in the function: building the schema needs
pydantic, which the deployed function then never imports on a cold start.

Swagger UI's script and stylesheet are the copies that ship inside Powertools, inlined in
the page (nothing is fetched from a CDN). The site's CSP forbids inline code, so this page
gets its own: exactly the hashes of its inline blocks, nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import re
from typing import Any

OPENAPI_PATH = "/openapi.json"
SWAGGER_PATH = "/swagger"
PATHS = frozenset({OPENAPI_PATH, SWAGGER_PATH})
TITLE = "platescan API"
DESCRIPTION = (
    "Every route needs a Cognito access token: `Authorization: Bearer <token>`. "
    'Errors answer `{"message": ...}`.'
)
_BLOCK = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _resolver() -> Any:
    return importlib.import_module("functions.api.app").app


def _security() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {"cognito": HTTPBearer(scheme="bearer", bearerFormat="JWT")}


def enable(base_url: str) -> None:
    """Add the Swagger UI route to the (freshly imported) API resolver."""
    from aws_lambda_powertools.event_handler.openapi.models import Server

    _resolver().enable_swagger(
        path=SWAGGER_PATH,
        title=TITLE,
        description=DESCRIPTION,
        servers=[Server(url=f"{base_url}/api")],
        security_schemes=_security(),
        security=[{"cognito": []}],
    )


def schema_json(base_url: str = "/api") -> str:
    from aws_lambda_powertools.event_handler.openapi.models import Server

    return str(
        _resolver().get_openapi_json_schema(
            title=TITLE,
            description=DESCRIPTION,
            servers=[Server(url=base_url)],
            security_schemes=_security(),
            security=[{"cognito": []}],
        )
    )


def documented_routes(schema: dict[str, Any]) -> set[str]:
    """`METHOD /path` for each operation in a schema, paths as API Gateway writes them."""
    found = set()
    for path, operations in schema.get("paths", {}).items():
        for method in operations:
            found.add(f"{method.upper()} {path}")
    return found


def csp_for(html: str) -> str:
    """A CSP allowing this page's inline scripts and styles by hash, and nothing remote."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _BLOCK.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    return (
        "default-src 'none'; "
        f"script-src {' '.join(hashes['script']) or chr(39) + 'none' + chr(39)}; "
        f"style-src {' '.join(hashes['style']) or chr(39) + 'none' + chr(39)}; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def serve(path: str, query: str) -> tuple[int, str, bytes, dict[str, str]]:
    """(status, content type, body, headers) for a docs path."""
    if path == OPENAPI_PATH:
        return 200, "application/json", schema_json().encode(), {}
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": SWAGGER_PATH,
        "rawQueryString": query,
        "queryStringParameters": dict(
            part.split("=", 1) for part in query.split("&") if "=" in part
        )
        or None,
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": SWAGGER_PATH},
            "stage": "$default",
            "requestId": "docs",
        },
        "isBase64Encoded": False,
    }
    answer = _resolver().resolve(event, None)
    headers = dict(answer.get("headers") or {})
    content_type = headers.pop("Content-Type", "text/html")
    body = str(answer.get("body") or "")
    if content_type.startswith("text/html"):
        headers["Content-Security-Policy"] = csp_for(body)
    return int(answer["statusCode"]), content_type, body.encode(), headers
