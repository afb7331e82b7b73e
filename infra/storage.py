"""Where LabelChain keeps its data: one customer managed key and three buckets.

- **data**: manifests, images, label-category files and worker UI templates. The Ground Truth worker UI
  loads images straight from this bucket through presigned URLs, so it carries the CORS rule AWS asks
  for (GET from any origin).
- **output**: what Ground Truth writes (output manifests, annotations, active-learning artifacts).
- **access logs**: S3 server access logs of the two buckets above.

Data and output are encrypted with the stack's customer managed key (rotation on). The access-log bucket
uses S3-managed keys (SSE-S3) because S3 server access logging only delivers to a target bucket whose
default encryption is SSE-S3; CDK enforces the same rule and refuses a KMS-encrypted log target.
Every bucket blocks public access, denies non-TLS requests and is versioned.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

WORKER_UI_CORS_RULE = s3.CorsRule(
    allowed_methods=[s3.HttpMethods.GET],
    allowed_origins=["*"],
    allowed_headers=["*"],
    exposed_headers=["Access-Control-Allow-Origin"],
    max_age=3000,
)
"""Lets the Ground Truth worker UI (served from an AWS domain) fetch task images from the data bucket."""


class LabelChainStorage(Construct):
    """The encryption key and the data, output and access-log buckets."""

    def __init__(self, scope: Construct, construct_id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="LabelChain: encrypts the buckets, the job table and the state machines' logs",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # The state machines log execution data (job inputs) to CloudWatch Logs: encrypt it with this
        # key too. CloudWatch Logs needs the key policy to say so, limited to this account's log groups.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireNoncurrentLogVersions",
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )
        self.data_bucket = self._encrypted_bucket(
            "DataBucket", log_prefix="data-bucket/", removal_policy=removal_policy, cors=[WORKER_UI_CORS_RULE]
        )
        self.output_bucket = self._encrypted_bucket(
            "OutputBucket", log_prefix="output-bucket/", removal_policy=removal_policy, cors=None
        )

    def _encrypted_bucket(
        self,
        construct_id: str,
        *,
        log_prefix: str,
        removal_policy: RemovalPolicy,
        cors: list[s3.CorsRule] | None,
    ) -> s3.Bucket:
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=log_prefix,
            cors=cors,
            removal_policy=removal_policy,
            lifecycle_rules=[
                # A backstop for multipart uploads whose abort itself failed (manifest parts, output).
                s3.LifecycleRule(
                    id="AbortIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
