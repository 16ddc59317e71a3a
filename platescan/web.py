"""What browsers are told, defined once: the site's security headers and CORS rules.

CloudFront's response headers policy and the local server's responses are produced from
`security_headers`, with the deployed hosts or the local ones filled in; the uploads
bucket's CORS rule (S3 on AWS, the local S3 stand-in) and the API's CORS come from the
constants here. So the browser tests, which run against the local server, run under the
rules a deployed site runs under, and a change to either shows in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Two years, subdomains, preload: the HSTS preload list's own minimum terms.
HSTS_MAX_AGE_S = 63_072_000
FRAME_OPTION = "DENY"
REFERRER_POLICY = "no-referrer"
# The local S3 stand-in is reached as `<bucket>.s3.localhost:<port>`: virtual-hosted, like
# S3, and Chromium resolves every `*.localhost` name to the loopback address.
LOCAL_S3_DOMAIN = "s3.localhost"


@dataclass(frozen=True)
class CorsRule:
    """One CORS rule: who may call, with what, and for how long a preflight is cached."""

    methods: tuple[str, ...]
    headers: tuple[str, ...]
    max_age_s: int
    expose: tuple[str, ...] = ()


# The browser POSTs the photo straight to the uploads bucket and shows it by a presigned GET.
UPLOADS_CORS = CorsRule(
    methods=("POST", "GET"), headers=("content-type",), max_age_s=3000, expose=("ETag",)
)
# The site calls the HTTP API with JSON bodies and the signed-in user's access token.
API_CORS = CorsRule(
    methods=("GET", "POST", "DELETE", "OPTIONS"),
    headers=("authorization", "content-type"),
    max_age_s=600,
)


@dataclass(frozen=True)
class SiteHosts:
    """Where the page may connect: origins written as a CSP host-source would be."""

    uploads: tuple[str, ...]  # the uploads bucket, as presigned URLs name it
    api: tuple[str, ...] = ()  # besides the site's own origin ('self')
    auth: tuple[str, ...] = ()  # the sign-in service
    https: bool = True  # HSTS only means something on an HTTPS origin


def aws_hosts(bucket: str, region: str) -> SiteHosts:
    """A deployed stack: S3 virtual-hosted URLs, the region's HTTP APIs, its Cognito."""
    # botocore presigns for the regional name, or the global one in us-east-1; both listed.
    uploads = (f"https://{bucket}.s3.{region}.amazonaws.com", f"https://{bucket}.s3.amazonaws.com")
    return SiteHosts(
        uploads=uploads,
        # The API's id is unknown before the distribution exists (the API's CORS needs
        # the distribution's domain first), so the region's HTTP APIs are matched.
        api=(f"https://*.execute-api.{region}.amazonaws.com",),
        auth=(f"https://cognito-idp.{region}.amazonaws.com",),
    )


def local_s3_endpoint(port: int) -> str:
    """Where the local server answers as S3 (botocore puts the bucket in front)."""
    return f"http://{LOCAL_S3_DOMAIN}:{port}"


def local_hosts(bucket: str, port: int) -> SiteHosts:
    """The local server: the S3 stand-in at `<bucket>.s3.localhost`; API and sign-in on 'self'."""
    return SiteHosts(uploads=(f"http://{bucket}.{LOCAL_S3_DOMAIN}:{port}",), https=False)


def content_security_policy(hosts: SiteHosts) -> str:
    """The page's own scripts and styles only; it talks to the API, S3 and sign-in."""
    s3 = " ".join(hosts.uploads)
    connect = " ".join(("'self'", *hosts.api, *hosts.auth, *hosts.uploads))
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob: {s3}",
            f"connect-src {connect}",
            f"form-action 'self' {s3}",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        )
    )


def strict_transport_security() -> str:
    """HSTS as CloudFront writes it for the policy's settings."""
    return f"max-age={HSTS_MAX_AGE_S}; includeSubDomains; preload"


def security_headers(hosts: SiteHosts) -> dict[str, str]:
    """Every security header of a site response, as the browser receives it."""
    headers = {
        "Content-Security-Policy": content_security_policy(hosts),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": FRAME_OPTION,
        "Referrer-Policy": REFERRER_POLICY,
    }
    if hosts.https:
        headers["Strict-Transport-Security"] = strict_transport_security()
    return headers


def cors_headers(
    rule: CorsRule,
    allowed_origins: Sequence[str],
    origin: str | None,
    method: str,
    requested_headers: Sequence[str] = (),
) -> dict[str, str] | None:
    """The CORS headers S3 answers for a request under one rule; None if it does not match.

    S3 matches the Origin exactly against the rule's origins, the method (or, in a
    preflight, Access-Control-Request-Method) against its methods, and every requested
    header against its headers, case-insensitively.
    """
    if not origin or origin not in allowed_origins or method.upper() not in rule.methods:
        return None
    allowed = {h.lower() for h in rule.headers}
    if any(h.strip().lower() not in allowed for h in requested_headers if h.strip()):
        return None
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ", ".join(rule.methods),
        "Access-Control-Max-Age": str(rule.max_age_s),
        "Vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if requested_headers:
        headers["Access-Control-Allow-Headers"] = ", ".join(h.strip() for h in requested_headers)
    if rule.expose:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose)
    return headers
