"""Who is calling: the claims API Gateway's JWT authorizer verified, as the API reads them.

API Gateway checks the token (signature against the user pool's keys, issuer, audience,
expiry, scope) before the function runs, and passes the token's claims in
`requestContext.authorizer.jwt.claims`. It renders every claim as a string: a list such as
`cognito:groups` arrives as `"[admins editors]"`. The local server's authorizer
(`platescan.local.authorizer`) does the same checks and passes the same shape, so this
module is all the API needs in both places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ADMIN_GROUP = "admins"
# Cognito puts this scope in access tokens and in no ID token: requiring it on every route
# is how API Gateway tells the two apart (its authorizer has no `token_use` check).
ACCESS_TOKEN_SCOPE = "aws.cognito.signin.user.admin"


@dataclass(frozen=True)
class Caller:
    """The verified user: `sub` owns their uploads; admins may see everyone's."""

    sub: str
    admin: bool = False


def claim_list(value: Any) -> list[str]:
    """A list claim as API Gateway renders it (`"[a b]"`), or as a plain JSON list."""
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    if not isinstance(value, str):
        return []
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part for part in text.replace(",", " ").split() if part]


def caller_from_event(event: Mapping[str, Any]) -> Caller | None:
    """The caller named by the authorizer's claims; None when the request carries none."""
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        return None
    return Caller(sub=sub, admin=ADMIN_GROUP in claim_list(claims.get("cognito:groups")))
