"""Builders shared by the Ground Truth emulator's tests: S3 inputs, requests, clients, a world.

S3 is moto in-process (``mock_aws``) with SageMaker passed through, so boto3's SageMaker calls
really reach the emulator's HTTP server on 127.0.0.1; the clock is moved by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws

from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.output_layout import SUMMARIZED_KINDS, OutputFile, classify_output_key
from labelchain.core.output_summary import OutputSummary, summarize_output
from labelchain.core.regions import (
    algorithm_specification_arn,
    annotation_consolidation_lambda_arn,
    pre_human_task_lambda_arn,
    public_workteam_arn,
)
from local.ground_truth import EventSink, FaultInjection, GroundTruthEmulator, SimulationParams
from tests.conftest import ACCOUNT, REGION
from tests.support.aws import FixedClock

DATA_BUCKET = "gt-data"
OUTPUT_BUCKET = "gt-output"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/labelchain-ground-truth"
LABELS_URI = f"s3://{DATA_BUCKET}/config/labels.json"
PRIVATE_TEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/bird-team"
VENDOR_TEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/vendor-crowd/example-vendor"
NO_RETRIES = Config(retries={"total_max_attempts": 1})
SAGEMAKER_PASSES_THROUGH_MOTO = {
    "core": {
        "mock_credentials": True,
        "passthrough": {"urls": [], "services": ["sagemaker"]},
        "reset_boto3_session": True,
        "service_whitelist": None,
    }
}


def manifest_lines(
    count: int, prefix: str = "birds", task_type: TaskType = TaskType.BOUNDING_BOX
) -> list[str]:
    if spec_for(task_type).source_field == "source":
        return [json.dumps({"source": f"review number {i}: the birds were lovely"}) for i in range(count)]
    return [
        json.dumps({"source-ref": f"s3://{DATA_BUCKET}/{prefix}/images/bird-{i:05d}.png"})
        for i in range(count)
    ]


def put_manifest(s3: Any, key: str, lines: list[str]) -> str:
    s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=("\n".join(lines) + "\n").encode())
    return f"s3://{DATA_BUCKET}/{key}"


def put_labels(s3: Any, labels: list[str], key: str = "config/labels.json") -> str:
    document = {"document-version": "2018-11-28", "labels": [{"label": label} for label in labels]}
    s3.put_object(Bucket=DATA_BUCKET, Key=key, Body=json.dumps(document).encode())
    return f"s3://{DATA_BUCKET}/{key}"


def labeling_request(
    name: str,
    manifest_uri: str,
    *,
    task_type: TaskType = TaskType.BOUNDING_BOX,
    auto_labeling: bool = True,
    initial_model_arn: str | None = None,
    stopping: dict[str, int] | None = None,
    batch_size: int = 200,
    workers: int = 3,
    label_attribute: str = "category",
    labels_uri: str = LABELS_URI,
    tags: dict[str, str] | None = None,
    workteam_arn: str = PRIVATE_TEAM,
) -> dict[str, Any]:
    """A CreateLabelingJob request like LabelChain sends (a private team, the tutorial's settings)."""
    request: dict[str, Any] = {
        "LabelingJobName": name,
        "LabelAttributeName": label_attribute,
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": manifest_uri}},
            "DataAttributes": {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]},
        },
        "OutputConfig": {"S3OutputPath": f"s3://{OUTPUT_BUCKET}/birds/"},
        "RoleArn": ROLE_ARN,
        "LabelCategoryConfigS3Uri": labels_uri,
        "HumanTaskConfig": {
            "WorkteamArn": workteam_arn,
            "UiConfig": {"UiTemplateS3Uri": f"s3://{DATA_BUCKET}/config/template.liquid.html"},
            "PreHumanTaskLambdaArn": pre_human_task_lambda_arn(REGION, task_type),
            "TaskTitle": "Label the birds",
            "TaskDescription": "Label every bird",
            "NumberOfHumanWorkersPerDataObject": workers,
            "TaskTimeLimitInSeconds": 300,
            "TaskAvailabilityLifetimeInSeconds": 21600,
            "MaxConcurrentTaskCount": batch_size,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": annotation_consolidation_lambda_arn(REGION, task_type)
            },
        },
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if workteam_arn == public_workteam_arn(REGION):  # Mechanical Turk (closed 2026-09-30): history only
        request["HumanTaskConfig"]["PublicWorkforceTaskPrice"] = {
            "AmountInUsd": {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}
        }
    if auto_labeling:
        algorithms: dict[str, str] = {
            "LabelingJobAlgorithmSpecificationArn": algorithm_specification_arn(REGION, task_type)
        }
        if initial_model_arn is not None:
            algorithms["InitialActiveLearningModelArn"] = initial_model_arn
        request["LabelingJobAlgorithmsConfig"] = algorithms
    if stopping is not None:
        request["StoppingConditions"] = stopping
    return request


def sagemaker_client(endpoint_url: str, *, validate_parameters: bool = True) -> Any:
    """A boto3 SageMaker client of the emulator that does not retry (errors surface at once)."""
    config = NO_RETRIES.merge(Config(parameter_validation=validate_parameters))
    return boto3.client("sagemaker", region_name=REGION, endpoint_url=endpoint_url, config=config)


def output_files(s3: Any, bucket: str, prefix: str) -> list[tuple[OutputFile, list[bytes]]]:
    """The job's files ``summarize_output`` reads, as RecordMetrics lists and classifies them."""
    files = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            output_file = classify_output_key(item["Key"], prefix)
            if output_file is not None and output_file.kind in SUMMARIZED_KINDS:
                files.append((output_file, [s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()]))
    return files


def all_output_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]


def summarize_job(
    s3: Any, description: dict[str, Any], task_type: TaskType = TaskType.BOUNDING_BOX
) -> OutputSummary:
    """Parse a described job's output with LabelChain's real parser, against its counters."""
    path = description["OutputConfig"]["S3OutputPath"]
    bucket, _, key_path = path[len("s3://") :].partition("/")
    prefix = f"{key_path}{description['LabelingJobName']}/"
    return summarize_output(
        output_files(s3, bucket, prefix),
        description["LabelAttributeName"],
        task_type,
        description["LabelCounters"],
    )


@dataclass
class World:
    s3: Any
    emulator: GroundTruthEmulator
    sagemaker: Any
    clock: FixedClock

    def put_dataset(self, key: str, count: int, **kwargs: Any) -> str:
        return put_manifest(self.s3, key, manifest_lines(count, **kwargs))

    def run_to_end(self, job_name: str, step_seconds: float = 3600.0, limit: int = 200) -> dict[str, Any]:
        """Advance the clock until the job has ended; returns the last description."""
        for _ in range(limit):
            described: dict[str, Any] = self.sagemaker.describe_labeling_job(LabelingJobName=job_name)
            if described["LabelingJobStatus"] in {"Completed", "Failed", "Stopped"}:
                return described
            self.clock.advance(step_seconds)
        raise AssertionError(f"{job_name} did not end")


@contextmanager
def emulator_world(
    params: SimulationParams | None = None,
    faults: FaultInjection | None = None,
    labels: tuple[str, ...] = ("Bird",),
    event_sink: EventSink | None = None,
) -> Iterator[World]:
    """moto S3 with the two buckets and a label file, the emulator on a hand-moved clock, a client."""
    with mock_aws(config=SAGEMAKER_PASSES_THROUGH_MOTO):  # type: ignore[arg-type]
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (DATA_BUCKET, OUTPUT_BUCKET):
            s3.create_bucket(Bucket=bucket)
        put_labels(s3, list(labels))
        clock = FixedClock()
        with GroundTruthEmulator(
            s3, clock=clock, params=params, faults=faults, event_sink=event_sink
        ) as emulator:
            yield World(s3, emulator, sagemaker_client(emulator.endpoint_url), clock)
