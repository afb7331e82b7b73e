"""Where LabelChain keeps its data: one customer managed key and three buckets.

- **data**: manifests, images, label-category files and worker UI templates. The Ground Truth worker UI
  loads images straight from this bucket through presigned URLs, so it carries the CORS rule AWS asks
  for (GET from any origin).
- **output**: what Ground Truth writes (output manifests, annotations, active-learning artifacts).
- **access logs**: S3 server access logs of the two buckets above.

Data and output are encrypted with the stack's customer managed key (rotation on, bucket default
encryption), and their bucket policies deny any upload that asks for another key or another kind of
encryption (``deny_uploads_not_under``). The access-log bucket uses S3-managed keys (SSE-S3) because S3
server access logging only delivers to a target bucket whose default encryption is SSE-S3; CDK enforces
the same rule and refuses a KMS-encrypted log target. Every bucket blocks public access, denies non-TLS
requests and is versioned; replaced or deleted versions expire after ``noncurrent_version_expiration_days``.
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

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        noncurrent_version_expiration_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self._noncurrent_version_expiration = Duration.days(noncurrent_version_expiration_days)
        self.key = self._stack_key(removal_policy)
        self.access_log_bucket = self._access_log_bucket(removal_policy)
        self.data_bucket = self._encrypted_bucket(
            "DataBucket", log_prefix="data-bucket/", removal_policy=removal_policy, cors=[WORKER_UI_CORS_RULE]
        )
        self.output_bucket = self._encrypted_bucket(
            "OutputBucket", log_prefix="output-bucket/", removal_policy=removal_policy, cors=None
        )
        for bucket in (self.data_bucket, self.output_bucket):
            deny_uploads_not_under(bucket, self.key)

    def _stack_key(self, removal_policy: RemovalPolicy) -> kms.Key:
        """The stack's customer managed key, usable by CloudWatch Logs for this account's log groups."""
        key = kms.Key(
            self,
            "Key",
            description="LabelChain: encrypts the buckets, the job table and the state machines' logs",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # The Lambda functions and the state machines log to CloudWatch Logs (job inputs, manifests named
        # in errors): their log groups are encrypted with this key too. CloudWatch Logs needs the key
        # policy to say so, limited by encryption context to this account's and region's log groups (the
        # actions are the ones AWS's CloudWatch Logs guide lists for a log group's KMS key).
        key.add_to_resource_policy(
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
        return key

    def _access_log_bucket(self, removal_policy: RemovalPolicy) -> s3.Bucket:
        """Where the data and output buckets' server access logs go (SSE-S3, as S3 logging requires)."""
        return s3.Bucket(
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
                    noncurrent_version_expiration=self._noncurrent_version_expiration,
                )
            ],
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
                ),
                # Versioning keeps every overwritten manifest, image and output object; the replaced
                # versions go after this many days (CreateJob pins the version it validated by copying
                # it under labelchain/, and config.py checks the days outlast its quota queue).
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=self._noncurrent_version_expiration,
                ),
            ],
        )


SSE_HEADER = "s3:x-amz-server-side-encryption"
SSE_KMS_KEY_HEADER = "s3:x-amz-server-side-encryption-aws-kms-key-id"


def deny_uploads_not_under(bucket: s3.IBucket, key: kms.IKey) -> None:
    """Deny every upload (PutObject, CopyObject, CreateMultipartUpload) that would not be encrypted with
    ``key``; an upload that names no encryption gets the bucket default, which is ``key``.

    Three Deny statements (conditions within one statement are ANDed):

    - a KMS key is named and it is not ``key`` (S3 compares the header as given: name the key by ARN);
    - an encryption is named and it is not ``aws:kms`` (SSE-S3, SSE-C, DSSE-KMS);
    - ``aws:kms`` is named without a key: S3 would then use the AWS managed key ``aws/s3``, not the
      bucket default.
    """
    key_arn = key.key_arn
    objects = bucket.arn_for_objects("*")
    denials = {
        "DenyUploadsWithAnotherKmsKey": {
            "Null": {SSE_KMS_KEY_HEADER: "false"},
            "StringNotEquals": {SSE_KMS_KEY_HEADER: key_arn},
        },
        "DenyUploadsWithAnotherEncryption": {
            "Null": {SSE_HEADER: "false"},
            "StringNotEquals": {SSE_HEADER: "aws:kms"},
        },
        "DenyKmsUploadsWithoutAKey": {
            "Null": {SSE_HEADER: "false", SSE_KMS_KEY_HEADER: "true"},
        },
    }
    for sid, condition in denials.items():
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions=condition,
            )
        )
