"""Storage: the customer managed key and the data, output and access-log buckets."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra

BLOCK_ALL_PUBLIC_ACCESS = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def _bucket(assembly: CloudAssembly, construct_id: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in assembly.resources("AWS::S3::Bucket").items():
        if logical_id.startswith(f"Storage{construct_id}"):
            return logical_id, resource
    raise AssertionError(f"no bucket {construct_id}")


def _key_logical_id(assembly: CloudAssembly) -> str:
    (logical_id,) = assembly.resources("AWS::KMS::Key")
    return logical_id


def test_the_stack_owns_one_customer_managed_key_with_rotation_retained_by_default(
    template: Template,
) -> None:
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": Match.object_like({"EnableKeyRotation": True}),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


@pytest.mark.parametrize("bucket", ["DataBucket", "OutputBucket"])
def test_data_and_output_buckets_are_kms_encrypted_with_the_stack_key(
    assembly: CloudAssembly, template: Template, bucket: str
) -> None:
    logical_id, _ = _bucket(assembly, bucket)

    assert logical_id in template.find_resources(
        "AWS::S3::Bucket",
        {
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {
                                "BucketKeyEnabled": True,
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": {"Fn::GetAtt": [_key_logical_id(assembly), "Arn"]},
                                },
                            }
                        ]
                    },
                    "LoggingConfiguration": {
                        "DestinationBucketName": {"Ref": _bucket(assembly, "AccessLogBucket")[0]},
                        "LogFilePrefix": Match.string_like_regexp(r".+/$"),
                    },
                }
            )
        },
    )


def test_access_log_bucket_uses_s3_managed_keys_because_log_delivery_requires_it(
    assembly: CloudAssembly,
) -> None:
    _, log_bucket = _bucket(assembly, "AccessLogBucket")

    encryption = log_bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    assert "LoggingConfiguration" not in log_bucket["Properties"]


@pytest.mark.parametrize("bucket", ["DataBucket", "OutputBucket", "AccessLogBucket"])
def test_every_bucket_blocks_public_access_is_versioned_and_retained(
    assembly: CloudAssembly, bucket: str
) -> None:
    _, resource = _bucket(assembly, bucket)

    assert resource["Properties"]["PublicAccessBlockConfiguration"] == BLOCK_ALL_PUBLIC_ACCESS
    assert resource["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert resource["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    assert resource["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("bucket", ["DataBucket", "OutputBucket", "AccessLogBucket"])
def test_every_bucket_policy_denies_requests_without_tls(
    assembly: CloudAssembly, template: Template, bucket: str
) -> None:
    logical_id, _ = _bucket(assembly, bucket)

    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": logical_id},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_only_the_data_bucket_lets_the_worker_ui_get_objects_from_any_origin(
    assembly: CloudAssembly,
) -> None:
    cors = {
        bucket: resource["Properties"].get("CorsConfiguration")
        for bucket in ("DataBucket", "OutputBucket", "AccessLogBucket")
        for _, resource in [_bucket(assembly, bucket)]
    }

    (rule,) = cors["DataBucket"]["CorsRules"]
    assert rule["AllowedMethods"] == ["GET"]
    assert rule["AllowedOrigins"] == ["*"]
    assert cors["OutputBucket"] is None
    assert cors["AccessLogBucket"] is None


def test_s3_log_delivery_may_write_each_source_bucket_under_its_own_prefix(
    assembly: CloudAssembly, template: Template
) -> None:
    log_bucket, _ = _bucket(assembly, "AccessLogBucket")
    for bucket, prefix in (("DataBucket", "data-bucket/"), ("OutputBucket", "output-bucket/")):
        source, _ = _bucket(assembly, bucket)
        template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": log_bucket},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Allow",
                                    "Action": "s3:PutObject",
                                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                                    "Condition": Match.object_like(
                                        {"ArnLike": {"aws:SourceArn": {"Fn::GetAtt": [source, "Arn"]}}}
                                    ),
                                    "Resource": {
                                        "Fn::Join": ["", [{"Fn::GetAtt": [log_bucket, "Arn"]}, f"/{prefix}*"]]
                                    },
                                }
                            )
                        ]
                    )
                },
            },
        )


SSE = "s3:x-amz-server-side-encryption"
SSE_KEY = "s3:x-amz-server-side-encryption-aws-kms-key-id"


@pytest.mark.parametrize("bucket", ["DataBucket", "OutputBucket"])
def test_uploads_that_ask_for_another_key_or_encryption_are_denied(
    assembly: CloudAssembly, bucket: str
) -> None:
    logical_id, _ = _bucket(assembly, bucket)
    key_arn = {"Fn::GetAtt": [_key_logical_id(assembly), "Arn"]}
    (policy,) = [
        p
        for p in assembly.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]

    denials = [
        statement["Condition"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny" and statement["Action"] == "s3:PutObject"
    ]
    assert sorted(denials, key=str) == sorted(
        [
            # a key is named and it is not the stack key
            {"Null": {SSE_KEY: "false"}, "StringNotEquals": {SSE_KEY: key_arn}},
            # an encryption is named and it is not SSE-KMS
            {"Null": {SSE: "false"}, "StringNotEquals": {SSE: "aws:kms"}},
            # SSE-KMS without a key would use aws/s3, not the bucket default (the stack key)
            {"Null": {SSE: "false", SSE_KEY: "true"}},
        ],
        key=str,
    )


@pytest.mark.parametrize("bucket", ["DataBucket", "OutputBucket", "AccessLogBucket"])
def test_replaced_object_versions_expire_after_30_days_by_default(
    assembly: CloudAssembly, bucket: str
) -> None:
    _, resource = _bucket(assembly, bucket)

    rules = resource["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [rule for rule in rules if "NoncurrentVersionExpiration" in rule]
    assert [(rule["Status"], rule["NoncurrentVersionExpiration"]) for rule in expiring] == [
        ("Enabled", {"NoncurrentDays": 30})
    ]


def test_the_key_lets_cloudwatch_logs_use_it_only_for_this_accounts_log_groups(
    assembly: CloudAssembly,
) -> None:
    (key,) = assembly.resources("AWS::KMS::Key").values()

    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal")
        == {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
    ]
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }
