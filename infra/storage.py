"""Storage: the uploads bucket and the results table.

Also home of `PrivateBucket`, the one way this program makes a bucket: no public access of
any kind, objects owned by the bucket owner (ACLs off), encrypted at rest, TLS only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.config import StackConfig
from platescan import contract, web


class PrivateBucket(pulumi.ComponentResource):
    """An S3 bucket closed to the public, encrypted, reachable over TLS only.

    The bucket policy is attached by `attach_policy`, once, because some grants (CloudFront's)
    name resources created after the bucket.
    """

    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    policy: aws.s3.BucketPolicy | None

    def __init__(
        self, name: str, force_destroy: bool, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("platescan:infra:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._name = name
        self.policy = None
        self.bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=child)
        self.ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # SSE-S3 rather than KMS: CloudFront (OAC) and Rekognition read these objects, and a
        # customer key would add a key policy per reader for no gain in this threat model.
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})

    def attach_policy(self, statements: Sequence[policies.Statement] = ()) -> aws.s3.BucketPolicy:
        """The bucket policy: TLS only, plus the given grants."""
        if self.policy is not None:
            raise RuntimeError(f"{self._name} already has its policy")
        self.policy = aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=self.bucket.id,
            policy=policies.document(
                [policies.deny_insecure_transport(self.bucket.arn), *statements]
            ),
            # S3 refuses policy changes while the public access block is being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        return self.policy


@dataclass
class StorageArgs:
    """Storage needs the stack settings and the website's origin (for CORS)."""

    config: StackConfig
    site_origin: pulumi.Input[str]


class Storage(pulumi.ComponentResource):
    """The uploads bucket (browser uploads by presigned POST) and the results table."""

    uploads: PrivateBucket
    table: aws.dynamodb.Table

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platescan:infra:Storage", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.uploads = PrivateBucket(
            f"{name}-uploads", force_destroy=not cfg.protect_data, opts=child
        )
        bucket_id = self.uploads.bucket.id
        self.uploads.attach_policy()
        # Object Created events go to EventBridge, where the pipeline's rule filters them.
        self.notifications = aws.s3.BucketNotification(
            f"{name}-uploads-events", bucket=bucket_id, eventbridge=True, opts=child
        )
        # The browser POSTs the photo straight to S3 and shows it by a presigned GET; only the
        # website's origin may do so.
        self.cors = aws.s3.BucketCorsConfiguration(
            f"{name}-uploads-cors",
            bucket=bucket_id,
            cors_rules=[
                {
                    # The local S3 stand-in answers by the same rule (platescan.web).
                    "allowed_origins": [args.site_origin],
                    "allowed_methods": list(web.UPLOADS_CORS.methods),
                    "allowed_headers": list(web.UPLOADS_CORS.headers),
                    "expose_headers": list(web.UPLOADS_CORS.expose),
                    "max_age_seconds": web.UPLOADS_CORS.max_age_s,
                }
            ],
            opts=child,
        )
        # Versioned: a presigned form may be posted twice within its lifetime, and the second
        # POST must not replace the photo a record was read from. The pipeline processes only
        # the first version; its record keeps that version's id and the photo link names it.
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-uploads-versioning",
            bucket=bucket_id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-uploads-lifecycle",
            bucket=bucket_id,
            rules=[
                {
                    "id": "expire-uploads",
                    "status": "Enabled",
                    "filter": {"prefix": contract.UPLOADS_PREFIX},
                    "expiration": {"days": cfg.upload_retention_days},
                },
                {
                    # A processed photo replaced by a later POST, or one the rule above
                    # expired (which only adds a delete marker on a versioned bucket), is
                    # kept as long as an upload is, then removed with its delete marker:
                    # storage does not grow with every version ever posted.
                    "id": "expire-noncurrent-uploads",
                    "status": "Enabled",
                    "filter": {"prefix": contract.UPLOADS_PREFIX},
                    "noncurrent_version_expiration": {"noncurrent_days": cfg.upload_retention_days},
                    "expiration": {"expired_object_delete_marker": True},
                },
                {
                    "id": "abort-incomplete-multipart",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                },
            ],
            # S3 applies noncurrent-version rules only once versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )

        self.table = aws.dynamodb.Table(
            f"{name}-results",
            billing_mode="PAY_PER_REQUEST",
            # Standard-IA: storage at 40% of Standard's price, requests at 125%; worth it when
            # storage is most of the table's bill, as with a year of records (docs/performance.md).
            table_class=cfg.table_class,
            # Keys, indexes and TTL from the contract, which the local stack's table uses too.
            hash_key=contract.TABLE.hash_key,
            attributes=[
                {"name": name, "type": kind} for name, kind in contract.TABLE.attributes.items()
            ],
            global_secondary_indexes=[
                {
                    "name": index.name,
                    "key_schemas": [{"attribute_name": index.hash_key, "key_type": "HASH"}],
                    "projection_type": "ALL",
                }
                for index in contract.TABLE.indexes
            ],
            ttl={"attribute_name": contract.TABLE.ttl_attribute, "enabled": True},
            point_in_time_recovery={"enabled": True},
            # Encrypted at rest with the AWS owned key by default (no KMS charge per request).
            deletion_protection_enabled=cfg.protect_data,
            opts=child,
        )
        self.plate_index_arn = pulumi.Output.concat(self.table.arn, "/index/", contract.PLATE_INDEX)
        self.owner_index_arn = pulumi.Output.concat(self.table.arn, "/index/", contract.OWNER_INDEX)
        self.register_outputs(
            {"uploads_bucket": self.uploads.bucket.bucket, "results_table": self.table.name}
        )
