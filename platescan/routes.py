"""The HTTP API's routes, as API Gateway declares them: one list for infra and the local server.

Every route sits behind the JWT authorizer. API Gateway answers a request that matches no
route with 404 itself, and the local server does the same, so both expose exactly these.
"""

from __future__ import annotations

import re

ROUTES = (
    "POST /uploads",
    "GET /results/{upload_id}",
    "DELETE /results/{upload_id}",
    "GET /results",
    "GET /me/export",
    "DELETE /me",
)


def _compile(route: str) -> tuple[str, re.Pattern[str]]:
    method, path = route.split(" ", 1)
    regex = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path))
    return method, re.compile(f"^{regex}$")


_COMPILED = [_compile(route) for route in ROUTES]


def route_for(method: str, path: str) -> str | None:
    """The route key a request matches (`GET /results/{upload_id}`), or None."""
    for route, (route_method, pattern) in zip(ROUTES, _COMPILED, strict=True):
        if route_method == method.upper() and pattern.match(path):
            return route
    return None
