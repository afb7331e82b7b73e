"""The single DynamoDB table behind every LabelChain record.

Keys are generic (``pk``/``sk`` and one GSI ``gsi1pk``/``gsi1sk``) so one table serves all access patterns:

- a job by name: ``pk = JOB#<name>``;
- a job's progress snapshots: ``pk = JOB#<name>``, ``sk = SNAPSHOT#<timestamp>``;
- a project's jobs in time order: GSI ``gsi1``, ``gsi1pk = PROJECT#<project>``, ``gsi1sk`` sortable by time;
- a project's latest model: ``pk = PROJECT#<project>``, ``sk = MODEL#LATEST``.

Items may carry ``expires_at`` (epoch seconds) to age out on their own (e.g. progress snapshots).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

PARTITION_KEY = "pk"
SORT_KEY = "sk"
GSI1_NAME = "gsi1"
GSI1_PARTITION_KEY = "gsi1pk"
GSI1_SORT_KEY = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"


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
        )
        self.table.add_global_secondary_index(
            index_name=GSI1_NAME,
            partition_key=dynamodb.Attribute(name=GSI1_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=GSI1_SORT_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
