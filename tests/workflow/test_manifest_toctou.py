"""The synthesized LabelingJob state machine labels the manifest version CreateJob validated.

A manifest overwritten after validation (here: at the moment CreateLabelingJob is called, the latest a
swap could happen before Ground Truth reads it) must not change what Ground Truth reads; a made-up
version id fails the execution before any job or file exists. Real handlers, moto S3/DynamoDB/Step
Functions, SageMaker scripted (requests validated against botocore's model).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from labelchain.core.s3_layout import LABELCHAIN_PREFIX
from labelchain.services.runtime import Runtime
from tests.conftest import REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, FixedClock, make_runtime, manifest_lines, small_bird_input
from tests.support.lifecycle import job_event_pump
from tests.support.output import write_bounding_box_output
from tests.support.scripted_sagemaker import JobScript, ScriptedSageMaker
from tests.workflow.harness import Deployment, deployed_stack

pytestmark = pytest.mark.workflow

DATA = TEST_SETTINGS.data_bucket
MANIFEST_KEY = "incoming/birds/batch-1.manifest"
VALIDATED = ("\n".join(manifest_lines(1250)) + "\n").encode()
SWAPPED = ('{"source-ref": "s3://labelchain-output/birds/another-projects-labels.jpg"}\n' * 1250).encode()
"""What an attacker puts at the key once the manifest has been validated."""


def job_input(**changes: Any) -> dict[str, Any]:
    return small_bird_input(f"s3://{DATA}/{MANIFEST_KEY}", **changes)


class World:
    def __init__(self, deployment: Deployment, sagemaker: ScriptedSageMaker, runtime: Runtime) -> None:
        self.deployment = deployment
        self.sagemaker = sagemaker
        self.runtime = runtime
        self.s3 = boto3.client("s3", region_name=REGION)
        self.read_by_ground_truth: dict[str, bytes] = {}

    def job_files(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=DATA, Prefix=LABELCHAIN_PREFIX).get("Contents", [])
        return [item["Key"] for item in listed]


@pytest.fixture
def world() -> Iterator[World]:
    holder: dict[str, Any] = {}

    def script_for(job_name: str) -> JobScript:
        def swap_then_read(name: str, request: dict[str, Any]) -> None:
            s3 = boto3.client("s3", region_name=REGION)
            s3.put_object(Bucket=DATA, Key=MANIFEST_KEY, Body=SWAPPED)
            uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            holder["world"].read_by_ground_truth[uri] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            write_bounding_box_output(s3, "birds", name, [(250, 0), (0, 1000)])

        final = {"human": 250, "machine": 1000, "modified": EXAMPLE_TIME + timedelta(hours=3)}
        return JobScript(statuses=["InProgress", "Completed"], final=final, on_create=swap_then_read)

    def build_runtime() -> Runtime:
        holder["sagemaker"] = ScriptedSageMaker(script_for)
        runtime = make_runtime(holder["sagemaker"].client, FixedClock(EXAMPLE_TIME))
        holder["runtime"] = runtime
        return runtime

    with deployed_stack(build_runtime) as deployment:
        s3 = boto3.client("s3", region_name=REGION)
        s3.put_bucket_versioning(Bucket=DATA, VersioningConfiguration={"Status": "Enabled"})
        holder["world"] = World(deployment, holder["sagemaker"], holder["runtime"])
        yield holder["world"]


def test_a_manifest_overwritten_after_validation_does_not_change_what_ground_truth_labels(
    world: World,
) -> None:
    version = world.s3.put_object(Bucket=DATA, Key=MANIFEST_KEY, Body=VALIDATED)["VersionId"]

    with job_event_pump(world.sagemaker.created.copy) as errors:
        result = world.deployment.labeling_job.run(job_input(), "toctou")

    assert errors == []
    assert result.status == "SUCCEEDED", result.cause
    ((job_name, request),) = world.sagemaker.created.items()
    labeled_uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    assert labeled_uri == f"s3://{DATA}/labelchain/birds/{job_name}/input.manifest"
    assert world.read_by_ground_truth == {labeled_uri: VALIDATED}
    record = world.runtime.store.get_job(job_name)
    assert record is not None
    assert (record.manifest_version_id, record.labeled_manifest_uri) == (version, labeled_uri)
    assert record.manifest_sha256 == hashlib.sha256(VALIDATED).hexdigest()


def test_a_made_up_manifest_version_fails_the_execution_before_anything_exists(world: World) -> None:
    world.s3.put_object(Bucket=DATA, Key=MANIFEST_KEY, Body=VALIDATED)

    result = world.deployment.labeling_job.run(job_input(manifest_version="made-up-version"), "replay")

    assert result.status == "FAILED"
    assert result.error == "InvalidJobInput"
    refusal = f"manifest_version: s3://{DATA}/{MANIFEST_KEY} has no version 'made-up-version'"
    assert refusal in (result.cause or "")
    assert (world.sagemaker.created, world.job_files()) == ({}, [])
