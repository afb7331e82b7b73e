"""The single DynamoDB table behind every LabelChain record.

Keys are generic (``pk``/``sk`` and one GSI ``gsi1pk``/``gsi1sk``) so one table serves all access patterns:

- a job by name: ``pk = JOB#<name>``;
- a job's progress snapshots: ``pk = JOB#<name>``, ``sk = SNAPSHOT#<timestamp>``;
- a project's jobs in time order: GSI ``gsi1``, ``gsi1pk = PROJECT#<project>``, ``gsi1sk`` sortable by time;
- a project's latest model: ``pk = PROJECT#<project>``, ``sk = MODEL#LATEST``;
- jobs not yet final (the reconciler): sparse GSI ``gsi2``, ``gsi2pk = ACTIVE#<shard>``.

Items may carry ``expires_at`` (epoch seconds) to age out on their own (e.g. progress snapshots).

Deletion protection follows the removal policy: with ``retain`` (the default) the table is kept when the
stack is deleted *and* refuses a DeleteTable from anyone (console, CLI, a script) until an operator turns
the protection off; with ``destroy`` the operator asked ``cdk destroy`` to remove the data, and a protected
table would make that stack deletion fail half-way, so the protection is off.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from labelchain.core.records import (
    ACTIVE_INDEX,
    ACTIVE_INDEX_PARTITION_KEY,
    ACTIVE_INDEX_SORT_KEY,
    PARTITION_KEY,
    PROJECT_INDEX,
    PROJECT_INDEX_PARTITION_KEY,
    PROJECT_INDEX_SORT_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
)

GSI1_NAME = PROJECT_INDEX
GSI1_PARTITION_KEY = PROJECT_INDEX_PARTITION_KEY
GSI1_SORT_KEY = PROJECT_INDEX_SORT_KEY


class LabelChainTable(Construct):
    """On-demand table with point-in-time recovery, encrypted with the stack's customer managed key."""

    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=removal_policy,
            deletion_protection=removal_policy == RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=GSI1_NAME,
            partition_key=dynamodb.Attribute(name=GSI1_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=GSI1_SORT_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Sparse: only job records that are not final carry gsi2pk, so the reconciler reads just those.
        self.table.add_global_secondary_index(
            index_name=ACTIVE_INDEX,
            partition_key=dynamodb.Attribute(
                name=ACTIVE_INDEX_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name=ACTIVE_INDEX_SORT_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
