"""Replayed manifest uploads start no second job: the synthesized LabelingJob state machine, triggered
as the EventBridge rule triggers it, with the real ResolveTrigger and CreateJob handlers.

EventBridge delivers an S3 event at least once, and anyone who can start an execution can hand it a
trigger of their own making. Whatever arrives, an upload (an object version) starts at most one job:
a second delivery of the same event fails with ``DuplicateTrigger``; a trigger naming an older version
that already started a job fails the same way; one naming a version S3 never had fails with
``InvalidJobInput``. None of them reaches CreateLabelingJob. moto S3/DynamoDB/Step Functions; SageMaker
scripted (requests validated against botocore's model).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest

from labelchain.core.s3_layout import LABELCHAIN_PREFIX
from labelchain.core.trigger import apply_input_transformer
from labelchain.services.runtime import Runtime
from local.stack import s3_object_created_event
from tests.conftest import REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, FixedClock, make_runtime, manifest_lines
from tests.support.lifecycle import job_event_pump
from tests.support.output import write_bounding_box_output
from tests.support.project_settings import write_project_settings
from tests.support.scripted_sagemaker import JobScript, ScriptedSageMaker
from tests.workflow.harness import Deployment, ExecutionResult, deployed_stack

pytestmark = pytest.mark.workflow

DATA = TEST_SETTINGS.data_bucket
BATCH_KEY = "incoming/birds/batch-1.manifest"


@dataclass
class Uploads:
    """The deployed stack, the scripted SageMaker, and an uploader's S3 client."""

    deployment: Deployment
    sagemaker: ScriptedSageMaker
    runtime: Runtime

    @property
    def s3(self) -> Any:
        return boto3.client("s3", region_name=REGION)

    def upload(self, batch: str) -> str:
        """Put a 1,250-object manifest at ``BATCH_KEY``; its S3 version id."""
        body = "\n".join(manifest_lines(1250, prefix=f"birds/{batch}")).encode()
        return str(self.s3.put_object(Bucket=DATA, Key=BATCH_KEY, Body=body)["VersionId"])

    def deliver(self, event: dict[str, Any], *execution_names: str) -> list[ExecutionResult]:
        """Start one execution per name with the rule's input for ``event``, all at once, then wait."""
        workflow = self.deployment.labeling_job
        with job_event_pump(self.sagemaker.created.copy) as errors:
            started = [workflow.start(apply_input_transformer(event), name) for name in execution_names]
            results = [workflow.wait(arn) for arn in started]
        assert errors == []
        return results

    def job_files(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=DATA, Prefix=LABELCHAIN_PREFIX).get("Contents", [])
        return [item["Key"] for item in listed]


def upload_event(version_id: str) -> dict[str, Any]:
    """The S3 "Object Created" event of ``version_id`` of the batch, as S3 sends it to EventBridge."""
    return s3_object_created_event(DATA, BATCH_KEY, version_id, size=5)


@pytest.fixture
def uploads() -> Iterator[Uploads]:
    holder: dict[str, Any] = {}

    def script_for(job_name: str) -> JobScript:
        def write_output(name: str, request: dict[str, Any]) -> None:
            write_bounding_box_output(
                boto3.client("s3", region_name=REGION), "birds", name, [(250, 0), (0, 1000)]
            )

        final = {"human": 250, "machine": 1000, "modified": EXAMPLE_TIME + timedelta(hours=3)}
        return JobScript(statuses=["InProgress", "Completed"], final=final, on_create=write_output)

    def build_runtime() -> Runtime:
        holder["sagemaker"] = ScriptedSageMaker(script_for)
        runtime = make_runtime(holder["sagemaker"].client, FixedClock(EXAMPLE_TIME + timedelta(minutes=1)))
        holder["runtime"] = runtime
        return runtime

    with deployed_stack(build_runtime) as deployment:
        write_project_settings(holder["runtime"].store, "birds")
        yield Uploads(deployment, holder["sagemaker"], holder["runtime"])


def test_the_same_upload_delivered_twice_at_once_starts_one_job(uploads: Uploads) -> None:
    event = upload_event(uploads.upload("batch-1"))

    results = uploads.deliver(event, "delivery-1", "delivery-2")

    outcomes = sorted((result.status, result.error) for result in results)
    assert outcomes == [("FAILED", "DuplicateTrigger"), ("SUCCEEDED", None)], [r.cause for r in results]
    assert len(uploads.sagemaker.created) == 1
    (duplicate,) = [result for result in results if result.status == "FAILED"]
    assert "already started execution" in (duplicate.cause or "")
    assert "CreateJob" not in duplicate.state_names_entered()


def test_a_trigger_naming_an_older_already_claimed_version_starts_no_job(uploads: Uploads) -> None:
    first_version = uploads.upload("batch-1")
    (first,) = uploads.deliver(upload_event(first_version), "first-upload")
    uploads.upload("batch-2")  # the key now holds a newer version

    (replay,) = uploads.deliver(upload_event(first_version), "replayed-upload")

    assert first.status == "SUCCEEDED", first.cause
    assert (replay.status, replay.error) == ("FAILED", "DuplicateTrigger")
    assert list(uploads.sagemaker.created) == [first.output["job_name"]]
    assert "CreateJob" not in replay.state_names_entered()


def test_a_trigger_naming_a_made_up_version_is_refused_before_any_job_or_file(uploads: Uploads) -> None:
    uploads.upload("batch-1")

    (result,) = uploads.deliver(upload_event("made-up-version-id"), "made-up-version")

    assert (result.status, result.error) == ("FAILED", "InvalidJobInput")
    refusal = f"manifest_version: s3://{DATA}/{BATCH_KEY} has no version 'made-up-version-id'"
    assert refusal in (result.cause or "")
    assert uploads.sagemaker.created == {}
    assert uploads.job_files() == []
