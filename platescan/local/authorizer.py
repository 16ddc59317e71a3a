"""API Gateway's JWT authorizer, for the local server: the same checks, the same claims.

API Gateway (HTTP API, JWT authorizer with this stack's user pool as issuer and its app
client as audience, the access-token scope required on every route) does, in order:

1. take the token from the `Authorization` header, with or without `Bearer `;
2. decode it; only RSA signatures are accepted;
3. find the header's `kid` among the issuer's keys (`{issuer}/.well-known/jwks.json`)
   and check the signature with it;
4. check the claims: `iss` is the issuer; `aud` (or `client_id` when the token has no
   `aud`) is one of the audiences; `exp` is after now; `nbf` and `iat`, when present, are
   not after now; the route's scopes: the token's `scope` must hold one of them.

Anything else is 401 `{"message":"Unauthorized"}` with a `www-authenticate` header saying
why. The claims reach the function as strings in `requestContext.authorizer.jwt.claims`
(lists as `"[a b]"`), the token's scopes in `...jwt.scopes`.

The keys are fetched from the issuer's JWKS URL as API Gateway fetches them; under moto
that URL answers with moto's bundled public keys, which sign its tokens.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from platescan.auth import ACCESS_TOKEN_SCOPE


class Unauthorized(Exception):
    """The request is refused before the function runs; `description` says why."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    @property
    def headers(self) -> dict[str, str]:
        return {
            "www-authenticate": (
                f'Bearer scope="" error="invalid_token" error_description="{self.description}"'
            )
        }

    @property
    def body(self) -> dict[str, str]:
        return {"message": "Unauthorized"}


def _render(value: Any) -> str:
    """A claim as API Gateway passes it to the function: always a string."""
    if isinstance(value, list | tuple):
        return "[" + " ".join(_render(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@dataclass
class JwtAuthorizer:
    """One authorizer: an issuer, its audiences and the scopes every route requires."""

    issuer: str
    audiences: tuple[str, ...]
    scopes: tuple[str, ...] = (ACCESS_TOKEN_SCOPE,)
    leeway_s: int = 0
    _keys: KeySet | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/.well-known/jwks.json"

    def keys(self) -> KeySet:
        """The issuer's public keys, fetched once (API Gateway caches them too)."""
        with self._lock:
            if self._keys is None:
                import requests

                response = requests.get(self.jwks_url, timeout=10)
                response.raise_for_status()
                self._keys = KeySet.import_key_set(response.json())
            return self._keys

    def authorize(self, headers: dict[str, str], now: float | None = None) -> dict[str, Any]:
        """`requestContext.authorizer` for a request whose token passes; else Unauthorized."""
        raw = {k.lower(): v for k, v in headers.items()}.get("authorization", "").strip()
        if not raw:
            raise Unauthorized("the request has no token")
        token = raw[len("Bearer ") :].strip() if raw.lower().startswith("bearer ") else raw
        try:
            header = jws.extract_compact(token.encode()).protected
        except (JoseError, ValueError) as exc:
            raise Unauthorized("the token is not a valid JWT") from exc
        if not str(header.get("alg", "")).startswith(("RS", "PS")):
            raise Unauthorized("the token is not signed with an RSA algorithm")
        key = self._key_for(header.get("kid"))
        if key is None:
            raise Unauthorized("the token's kid matches none of the issuer's keys")
        try:
            verified = jws.deserialize_compact(token, key, algorithms=[str(header["alg"])])
        except (JoseError, ValueError) as exc:
            raise Unauthorized("the token's signature is not valid") from exc
        try:
            claims = json.loads(verified.payload)
        except ValueError as exc:
            raise Unauthorized("the token's claims are not JSON") from exc
        if not isinstance(claims, dict):
            raise Unauthorized("the token's claims are not an object")
        self._check_claims(claims, time.time() if now is None else now)
        scopes = str(claims.get("scope") or "").split()
        return {
            "jwt": {
                "claims": {name: _render(value) for name, value in claims.items()},
                "scopes": scopes or None,
            }
        }

    def _key_for(self, kid: Any) -> Any:
        try:
            return self.keys().get_by_kid(str(kid)) if kid else None
        except (JoseError, ValueError, KeyError):
            pass
        raise Unauthorized("the token's kid matches none of the issuer's keys")

    def _check_claims(self, claims: dict[str, Any], now: float) -> None:
        if claims.get("iss") != self.issuer:
            raise Unauthorized("the token does not have a valid issuer")
        # aud is evaluated when present; client_id only when there is no aud.
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(item in self.audiences for item in audiences):
            raise Unauthorized("the token does not have a valid audience")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + self.leeway_s <= now:
            raise Unauthorized("the token has expired")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (
                not isinstance(value, int | float) or value - self.leeway_s > now
            ):
                raise Unauthorized(f"the token's {name} is in the future")
        if self.scopes:
            granted = set(str(claims.get("scope") or "").split())
            if not granted & set(self.scopes):
                raise Unauthorized("the token does not have the scope this route requires")
