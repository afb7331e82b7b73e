"""The job table: keys, indexes, billing, recovery, encryption, expiry, retention."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from infra.table import GSI1_NAME
from labelchain.core.records import ACTIVE_INDEX, TTL_ATTRIBUTE
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra


def test_one_on_demand_table_keyed_by_pk_and_sk(template: Template) -> None:
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_gsi1_serves_a_projects_jobs_in_time_order_and_gsi2_the_active_jobs_with_every_attribute(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": GSI1_NAME,
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": ACTIVE_INDEX,
                    "KeySchema": [
                        {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
        },
    )
    assert (GSI1_NAME, ACTIVE_INDEX) == ("gsi1", "gsi2")


def test_every_key_attribute_is_a_string(assembly: CloudAssembly) -> None:
    (table,) = assembly.resources("AWS::DynamoDB::Table").values()

    definitions = table["Properties"]["AttributeDefinitions"]
    assert {d["AttributeName"]: d["AttributeType"] for d in definitions} == {
        "pk": "S",
        "sk": "S",
        "gsi1pk": "S",
        "gsi1sk": "S",
        "gsi2pk": "S",
        "gsi2sk": "S",
    }


def test_table_has_point_in_time_recovery_ttl_and_the_stack_key(assembly: CloudAssembly) -> None:
    (table,) = assembly.resources("AWS::DynamoDB::Table").values()
    (key_id,) = assembly.resources("AWS::KMS::Key")

    properties = table["Properties"]
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert TTL_ATTRIBUTE == "expires_at"
    assert properties["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
    }


def test_table_is_retained_when_the_stack_is_deleted_and_refuses_deletion_until_unprotected(
    assembly: CloudAssembly,
) -> None:
    (table,) = assembly.resources("AWS::DynamoDB::Table").values()

    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
