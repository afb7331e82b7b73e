"""Test doubles built from real clients: moto for S3/DynamoDB/Step Functions, botocore Stubber for SageMaker.

Stubber checks every SageMaker request against botocore's API model, which moto does not; moto
gives S3 and DynamoDB real behaviour (conditional writes, pagination) in-process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import boto3
from botocore.stub import Stubber
from moto import mock_aws

from labelchain.adapters.notifications import Notifications
from labelchain.adapters.s3 import ObjectStore
from labelchain.adapters.sagemaker import LabelingJobs
from labelchain.adapters.stepfunctions import Executions
from labelchain.adapters.store import JobStore
from labelchain.core.naming import EXECUTION_TAG, execution_fingerprint, state_machine_name
from labelchain.core.prices import DEFAULT_PRICES
from labelchain.core.records import (
    ACTIVE_INDEX,
    ACTIVE_INDEX_PARTITION_KEY,
    ACTIVE_INDEX_SORT_KEY,
    PARTITION_KEY,
    PROJECT_INDEX,
    PROJECT_INDEX_PARTITION_KEY,
    PROJECT_INDEX_SORT_KEY,
    SORT_KEY,
    JobRecord,
)
from labelchain.core.s3_layout import job_output_prefix, s3_uri
from labelchain.services.runtime import Runtime
from labelchain.settings import Settings
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.clock import EXAMPLE_TIME, FixedClock

ACS_BOUNDING_BOX = f"arn:aws:lambda:{REGION}:432418664414:function:ACS-BoundingBox"


def create_table(dynamodb: Any, table_name: str = TEST_SETTINGS.table_name) -> None:
    """The LabelChain table's key schema (the same names infra/ uses)."""
    dynamodb.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                PARTITION_KEY,
                SORT_KEY,
                PROJECT_INDEX_PARTITION_KEY,
                PROJECT_INDEX_SORT_KEY,
                ACTIVE_INDEX_PARTITION_KEY,
                ACTIVE_INDEX_SORT_KEY,
            )
        ],
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": PROJECT_INDEX,
                "KeySchema": [
                    {"AttributeName": PROJECT_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": PROJECT_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": ACTIVE_INDEX,
                "KeySchema": [
                    {"AttributeName": ACTIVE_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": ACTIVE_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )


def create_buckets(s3: Any) -> None:
    for bucket in (TEST_SETTINGS.data_bucket, TEST_SETTINGS.output_bucket):
        s3.create_bucket(Bucket=bucket)
        # Versioned like the stack's buckets: CreateJob labels the manifest version it validated.
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def manifest_lines(count: int, prefix: str = "birds/images") -> list[str]:
    """Image manifest lines (``source-ref``) pointing into the data bucket."""
    return [
        json.dumps({"source-ref": f"s3://{TEST_SETTINGS.data_bucket}/{prefix}/{i:05d}.jpg"})
        for i in range(count)
    ]


def put_manifest(s3: Any, key: str, lines: Iterable[str]) -> str:
    """Write a manifest into the data bucket and return its URI."""
    s3.put_object(Bucket=TEST_SETTINGS.data_bucket, Key=key, Body="\n".join(lines).encode() + b"\n")
    return f"s3://{TEST_SETTINGS.data_bucket}/{key}"


def sagemaker_stub() -> tuple[Any, Stubber]:
    """A real SageMaker client whose calls are answered by a Stubber (no response queued = error)."""
    client = boto3.client("sagemaker", region_name=REGION)
    return client, Stubber(client)


def make_runtime(
    sagemaker: Any,
    clock: FixedClock | None = None,
    *,
    s3: Any = None,
    dynamodb: Any = None,
    stepfunctions: Any = None,
    settings: Settings = TEST_SETTINGS,
    events: Any = None,
) -> Runtime:
    """A Runtime over moto S3/DynamoDB/Step Functions (inside ``mock_aws``; new clients unless given) and
    the given SageMaker client."""
    return Runtime(
        settings=settings,
        jobs=LabelingJobs(sagemaker),
        objects=ObjectStore(s3 or boto3.client("s3", region_name=REGION)),
        store=JobStore(dynamodb or boto3.client("dynamodb", region_name=REGION), settings.table_name),
        clock=clock or FixedClock(),
        executions_adapter=Executions(stepfunctions or boto3.client("stepfunctions", region_name=REGION)),
        notifications_adapter=Notifications(events or boto3.client("events", region_name=REGION)),
    )


class NotificationInbox:
    """Collects the ``source: labelchain`` events handlers put on moto's default bus: a rule forwards
    them to an SQS queue (create the inbox before the test acts)."""

    def __init__(self, events: Any | None = None, name: str = "labelchain-notifications-test") -> None:
        events = events or boto3.client("events", region_name=REGION)
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._url = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name=name, EventPattern=json.dumps({"source": ["labelchain"]}))
        events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
        self.events: list[dict[str, Any]] = []

    def received(self) -> list[dict[str, Any]]:
        """Every notification so far, oldest first."""
        while True:
            messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return list(self.events)
            for message in messages:
                self.events.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])

    def detail_types(self, job_name: str | None = None) -> list[str]:
        return [
            e["detail-type"]
            for e in self.received()
            if job_name is None or e["detail"]["job_name"] == job_name
        ]


STATES_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/labelchain-states"
WAITING_DEFINITION = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}})
"""A stand-in definition: moto (without its execution engine) keeps every started execution RUNNING
until it is stopped, which is all the lifecycle services need to see."""


def create_state_machine(stepfunctions: Any, suffix: str) -> str:
    """A moto state machine named as infra/ names LabelChain's (``<prefix>-<suffix>``); returns its ARN."""
    name = state_machine_name(TEST_SETTINGS.resource_prefix, suffix)
    response = stepfunctions.create_state_machine(
        name=name, definition=WAITING_DEFINITION, roleArn=STATES_ROLE_ARN
    )
    return str(response["stateMachineArn"])


def execution_arn(suffix: str, execution_name: str) -> str:
    """The ARN Step Functions gives execution ``execution_name`` of LabelChain's ``suffix`` machine."""
    machine = state_machine_name(TEST_SETTINGS.resource_prefix, suffix)
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{execution_name}"


def describe_response(
    job_name: str,
    status: str,
    *,
    created: datetime = EXAMPLE_TIME,
    modified: datetime | None = None,
    human: int = 0,
    machine: int = 0,
    unlabeled: int = 0,
    failure_reason: str | None = None,
    model_arn: str | None = None,
    output_uri: str | None = None,
    execution_arn: str | None = None,
    label_attribute: str = "category",
    extra_tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A DescribeLabelingJob response shaped exactly as botocore's model requires."""
    response: dict[str, Any] = {
        "LabelingJobStatus": status,
        "LabelCounters": {
            "TotalLabeled": human + machine,
            "HumanLabeled": human,
            "MachineLabeled": machine,
            "FailedNonRetryableError": 0,
            "Unlabeled": unlabeled,
        },
        "CreationTime": created,
        "LastModifiedTime": modified or created,
        "JobReferenceCode": "ref-0001",
        "LabelingJobName": job_name,
        "LabelingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}",
        "LabelAttributeName": label_attribute,
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": f"s3://{TEST_SETTINGS.data_bucket}/m"}}
        },
        "OutputConfig": {"S3OutputPath": s3_uri(TEST_SETTINGS.output_bucket, job_output_prefix("birds"))},
        "RoleArn": TEST_SETTINGS.ground_truth_role_arn,
        "HumanTaskConfig": {
            "WorkteamArn": f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default",
            "UiConfig": {"UiTemplateS3Uri": f"s3://{TEST_SETTINGS.data_bucket}/t.html"},
            "PreHumanTaskLambdaArn": f"arn:aws:lambda:{REGION}:432418664414:function:PRE-BoundingBox",
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 3,
            "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": ACS_BOUNDING_BOX},
        },
    }
    tags = dict(extra_tags or {})
    if execution_arn is not None:
        tags[EXECUTION_TAG] = execution_fingerprint(execution_arn)
    if tags:
        response["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    if failure_reason is not None:
        response["FailureReason"] = failure_reason
    if status in {"Completed", "Failed", "Stopped"}:
        output: dict[str, Any] = {"OutputDatasetS3Uri": output_uri or f"s3://{TEST_SETTINGS.output_bucket}/o"}
        if model_arn is not None:
            output["FinalActiveLearningModelArn"] = model_arn
        response["LabelingJobOutput"] = output
    return response


@contextmanager
def moto_account() -> Iterator[tuple[Any, Any, Any]]:
    """A moto account holding LabelChain's buckets and table, plus a SageMaker client to stub.

    Yields ``(s3, dynamodb, sagemaker)`` clients; SageMaker is never served by moto here (tests wrap
    it in a Stubber or ScriptedSageMaker).
    """
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_buckets(s3)
        create_table(dynamodb)
        sagemaker, _ = sagemaker_stub()
        yield s3, dynamodb, sagemaker


def empty_account(s3: Any, dynamodb: Any) -> None:
    """Remove every object and item a previous test left in a shared ``moto_account``."""
    for bucket in (TEST_SETTINGS.data_bucket, TEST_SETTINGS.output_bucket):
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    for item in dynamodb.scan(TableName=TEST_SETTINGS.table_name)["Items"]:
        dynamodb.delete_item(TableName=TEST_SETTINGS.table_name, Key={"pk": item["pk"], "sk": item["sk"]})


def bird_job_record(**values: Any) -> JobRecord:
    """A recorded job of AWS's tutorial (bird boxes, 1,250 objects, 3 public workers at $0.036);
    ``values`` set or override any field (``job_name`` and ``execution_arn`` at least)."""
    base: dict[str, Any] = {
        "project": "birds",
        "task_type": "bounding_box",
        "labels": ["Bird"],
        "label_attribute": "category",
        "manifest_uri": f"s3://{TEST_SETTINGS.data_bucket}/birds/half-a.manifest",
        "object_count": 1250,
        "auto_labeling": True,
        "workforce": {
            "kind": "public",
            "workteam_arn": f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default",
            "workers_per_object": 3,
            "task_price_usd": "0.036",
        },
        "prices": DEFAULT_PRICES,
        "initial_model_source": "none",
        "created_at": EXAMPLE_TIME,
    }
    return JobRecord.model_validate({**base, **values})


PRIVATE_TEAM_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/birders"


def small_bird_input(manifest: str, **changes: Any) -> dict[str, Any]:
    """A one-worker private-team bounding-box input for ``manifest`` (the pinning and TOCTOU tests)."""
    return {
        "project": "birds",
        "manifest": manifest,
        "task": {
            "type": "bounding_box",
            "labels": ["Bird"],
            "label_attribute": "category",
            "title": "Draw a box around each bird",
            "description": "Draw a tight box around every bird",
            "keywords": ["birds"],
            "instructions": {"short": "Box every bird.", "full": "<p>Box every bird.</p>"},
        },
        "workforce": {"kind": "private", "workteam_arn": PRIVATE_TEAM_ARN, "workers_per_object": 1},
        **changes,
    }
