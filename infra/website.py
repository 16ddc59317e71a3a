"""The website: `site/` in a private bucket, served by CloudFront with Origin Access Control.

Only this distribution may read the bucket (bucket policy conditioned on its ARN). Viewers
are redirected to HTTPS and every response carries CSP, HSTS, nosniff and frame-deny. The
page learns the API's address from a generated `config.json`.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.auth import Auth
from infra.config import StackConfig
from infra.storage import PrivateBucket
from platescan import web

SITE_DIR = Path(__file__).resolve().parent.parent / "site"
# AWS managed cache policy "CachingOptimized".
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
# Explicit types for what a static site holds; mimetypes' table differs between systems.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
}


def content_type(path: Path) -> str:
    """The Content-Type a site file is served with."""
    known = CONTENT_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def site_files(site_dir: Path = SITE_DIR) -> list[Path]:
    """Every file of the site, sorted; hidden files and caches are not published."""
    return sorted(
        path
        for path in site_dir.rglob("*")
        if path.is_file()
        and not any(
            part.startswith(".") or part == "__pycache__"
            for part in path.relative_to(site_dir).parts
        )
    )


@dataclass
class WebsiteArgs:
    """The site needs the uploads bucket's addresses (CSP) and the API's URL (config.json)."""

    config: StackConfig
    uploads_bucket: aws.s3.Bucket
    api_url: pulumi.Input[str]
    auth: Auth
    site_dir: Path = SITE_DIR


class Website(pulumi.ComponentResource):
    """Private site bucket, CloudFront distribution with OAC, headers policy, site files."""

    url: pulumi.Output[str]
    origin: pulumi.Output[str]

    def __init__(self, name: str, args: WebsiteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platescan:infra:Website", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = PrivateBucket(f"{name}-content", force_destroy=True, opts=child)
        self.oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{cfg.prefix}-site",
            description="CloudFront signs its requests to the private site bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        uploads = args.uploads_bucket
        # The same function gives the local server its headers, with the local hosts.
        csp = uploads.bucket.apply(
            lambda bucket: web.content_security_policy(web.aws_hosts(bucket, cfg.region))
        )
        self.headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-headers",
            name=f"{cfg.prefix}-site-headers",
            comment="CSP, HSTS, nosniff, frame-deny for the platescan site",
            security_headers_config={
                "content_security_policy": {"content_security_policy": csp, "override": True},
                "strict_transport_security": {
                    "access_control_max_age_sec": web.HSTS_MAX_AGE_S,
                    "include_subdomains": True,
                    "preload": True,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": web.FRAME_OPTION, "override": True},
                "referrer_policy": {"referrer_policy": web.REFERRER_POLICY, "override": True},
            },
            opts=child,
        )
        origin_id = "site-bucket"
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            enabled=True,
            comment=f"{cfg.prefix} website",
            default_root_object="index.html",
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class="PriceClass_100",
            origins=[
                {
                    "origin_id": origin_id,
                    "domain_name": self.bucket.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": self.oac.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": origin_id,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "cache_policy_id": CACHING_OPTIMIZED,
                "response_headers_policy_id": self.headers.id,
                "compress": True,
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True},
            opts=child,
        )
        self.bucket.attach_policy(
            [
                {
                    "Sid": "CloudFrontReadsSite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": pulumi.Output.concat(self.bucket.bucket.arn, "/*"),
                    "Condition": {"StringEquals": {"AWS:SourceArn": self.distribution.arn}},
                }
            ]
        )
        self.origin = pulumi.Output.concat("https://", self.distribution.domain_name)
        self.url = pulumi.Output.concat(self.origin, "/")

        self.objects = [
            aws.s3.BucketObjectv2(
                f"{name}-file-{path.relative_to(args.site_dir).as_posix()}",
                bucket=self.bucket.bucket.id,
                key=path.relative_to(args.site_dir).as_posix(),
                source=pulumi.FileAsset(str(path)),
                content_type=content_type(path),
                # Pages and scripts change with every deploy and are small: revalidate.
                cache_control="no-cache",
                opts=child,
            )
            for path in site_files(args.site_dir)
            if path.relative_to(args.site_dir).as_posix() != "config.json"
        ]
        self.config_object = aws.s3.BucketObjectv2(
            f"{name}-file-config.json",
            bucket=self.bucket.bucket.id,
            key="config.json",
            content=pulumi.Output.all(
                args.api_url, args.auth.user_pool_id, args.auth.client_id
            ).apply(
                lambda values: json.dumps(
                    {
                        "api_url": values[0],
                        # The sign-in form talks to the user pool's own API.
                        "auth": {
                            "region": cfg.region,
                            "user_pool_id": values[1],
                            "client_id": values[2],
                            "endpoint": f"https://cognito-idp.{cfg.region}.amazonaws.com/",
                        },
                    }
                )
            ),
            content_type=CONTENT_TYPES[".json"],
            cache_control="no-cache",
            opts=child,
        )
        self.register_outputs({"url": self.url})
