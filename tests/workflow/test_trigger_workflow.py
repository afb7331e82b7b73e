"""Continuous chaining: a manifest dropped into incoming/<project>/ starts a seeded LabelingJob, with the
project's settings read from the table (an operator's ``labelchain project-settings put``).

moto's EventBridge cannot target Step Functions, so the harness does what the rule does, from the
synthesized template: it matches the rule's pattern (moto's matcher) against a real S3 "Object
Created" event and starts the LabelingJob execution with the rule's input transformation applied.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto.events.models import EventPattern

from infra.definitions import resolve_intrinsics, resources_of_type
from labelchain.core.trigger import apply_input_transformer, input_transformer
from labelchain.services.runtime import Runtime
from local.stack import s3_object_created_event
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, FixedClock, make_runtime, manifest_lines
from tests.support.lifecycle import job_event_pump
from tests.support.output import write_bounding_box_output
from tests.support.project_settings import EXAMPLE_SETTINGS_PATH, write_project_settings
from tests.support.scripted_sagemaker import JobScript, ScriptedSageMaker
from tests.workflow.harness import Deployment, ExecutionResult, deployed_stack, synthesized_template

pytestmark = pytest.mark.workflow

PROJECT_SETTINGS = EXAMPLE_SETTINGS_PATH.read_text()
DATA_BUCKET_LOGICAL_ID_PART = "StorageDataBucket"
LABELING_JOB_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:labelchain-labeling-job"


def s3_object_created(key: str, version_id: str, bucket: str = TEST_SETTINGS.data_bucket) -> dict[str, Any]:
    """An S3 "Object Created" event as S3 sends it to EventBridge (the offline stack's builder)."""
    return s3_object_created_event(bucket, key, version_id, size=5)


def synthesized_rule() -> dict[str, Any]:
    """The manifest rule from the template, the data bucket's Ref resolved to the test bucket."""
    template = synthesized_template()
    (rule,) = [
        resource
        for logical_id, resource in resources_of_type(template, "AWS::Events::Rule").items()
        if logical_id.startswith("TriggerManifestDropped")
    ]

    def reference(logical_id: str, attribute: str | None) -> str:
        if attribute is None and logical_id.startswith(DATA_BUCKET_LOGICAL_ID_PART):
            return TEST_SETTINGS.data_bucket
        if attribute is None and logical_id.startswith("LabelingJobStateMachine"):
            return LABELING_JOB_ARN
        if attribute == "Arn":
            return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        raise AssertionError(f"unexpected reference {logical_id}.{attribute}")

    properties: dict[str, Any] = resolve_intrinsics(dict(rule["Properties"]), reference)
    return properties


def test_the_rule_matches_a_manifest_dropped_under_incoming_and_nothing_else() -> None:
    pattern = EventPattern.load(json.dumps(synthesized_rule()["EventPattern"]))

    assert pattern.matches_event(s3_object_created("incoming/birds/batch-1.manifest", "v1"))
    assert pattern.matches_event(s3_object_created("incoming/birds/2026/11/batch-2.manifest", "v1"))
    assert not pattern.matches_event(s3_object_created("incoming/birds/project.json", "v1"))
    assert not pattern.matches_event(s3_object_created("birds/batch-1.manifest", "v1"))
    assert not pattern.matches_event(
        s3_object_created("incoming/birds/batch-1.manifest", "v1", bucket="other")
    )


def test_the_rule_starts_the_labeling_job_with_the_trigger_input() -> None:
    (target,) = synthesized_rule()["Targets"]
    paths, template = input_transformer()

    assert target["InputTransformer"] == {"InputPathsMap": paths, "InputTemplate": template}
    assert target["Arn"] == LABELING_JOB_ARN
    execution_input = apply_input_transformer(s3_object_created("incoming/birds/batch-1.manifest", "v1"))
    assert execution_input["trigger"]["key"] == "incoming/birds/batch-1.manifest"
    assert execution_input["trigger"]["version_id"] == "v1"


class Drops:
    """Drop manifests like a team would, and deliver the events like the rule would."""

    def __init__(self, deployment: Deployment, sagemaker: ScriptedSageMaker, runtime: Runtime) -> None:
        self.deployment = deployment
        self.sagemaker = sagemaker
        self.runtime = runtime
        self.s3 = boto3.client("s3", region_name=REGION)

    def settings(self, text: str, project: str = "birds") -> None:
        """The operator writes the project's settings (the table, not the data bucket)."""
        write_project_settings(self.runtime.store, project, text)

    def upload_project_json(self, text: str, project: str = "birds") -> None:
        """An uploader drops a project.json next to the batches (what settings used to be)."""
        self.s3.put_object(
            Bucket=TEST_SETTINGS.data_bucket, Key=f"incoming/{project}/project.json", Body=text
        )

    def drop(
        self, batch: str, execution: str, project: str = "birds", deliver_twice: bool = False
    ) -> list[ExecutionResult]:
        key = f"incoming/{project}/{batch}.manifest"
        lines = manifest_lines(1250, prefix=f"{project}/{batch}")
        version = self.s3.put_object(Bucket=TEST_SETTINGS.data_bucket, Key=key, Body="\n".join(lines))[
            "VersionId"
        ]
        event = s3_object_created(key, version)
        deliveries = 2 if deliver_twice else 1
        with job_event_pump(self.sagemaker.created.copy) as errors:
            results = [
                self.deployment.labeling_job.run(apply_input_transformer(event), f"{execution}-{n}")
                for n in range(1, deliveries + 1)
            ]
        assert errors == []
        return results


@pytest.fixture
def drops() -> Any:
    holder: dict[str, Any] = {}
    models = iter(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/batch-{n}" for n in range(1, 10))

    def script_for(job_name: str) -> JobScript:
        def write_output(name: str, request: dict[str, Any]) -> None:
            write_bounding_box_output(
                boto3.client("s3", region_name=REGION), "birds", name, [(250, 0), (0, 1000)]
            )

        final = {
            "human": 250,
            "machine": 1000,
            "model_arn": next(models),
            "modified": EXAMPLE_TIME + timedelta(hours=3),
        }
        return JobScript(statuses=["InProgress", "Completed"], final=final, on_create=write_output)

    def build_runtime() -> Runtime:
        holder["sagemaker"] = ScriptedSageMaker(script_for)
        runtime = make_runtime(holder["sagemaker"].client, FixedClock(EXAMPLE_TIME + timedelta(minutes=1)))
        holder["runtime"] = runtime
        return runtime

    with deployed_stack(build_runtime) as deployment:
        s3 = boto3.client("s3", region_name=REGION)
        s3.put_bucket_versioning(
            Bucket=TEST_SETTINGS.data_bucket, VersioningConfiguration={"Status": "Enabled"}
        )
        yield Drops(deployment, holder["sagemaker"], holder["runtime"])


def algorithms(request: dict[str, Any]) -> dict[str, Any]:
    return dict(request["LabelingJobAlgorithmsConfig"])


def test_each_dropped_batch_starts_a_job_seeded_with_the_projects_latest_model(drops: Drops) -> None:
    drops.settings(PROJECT_SETTINGS)

    (first,) = drops.drop("batch-1", "drop-a")
    (second,) = drops.drop("batch-2", "drop-b")

    assert first.status == "SUCCEEDED", first.cause
    assert second.status == "SUCCEEDED", second.cause
    requests = list(drops.sagemaker.created.values())
    assert "InitialActiveLearningModelArn" not in algorithms(requests[0])  # no model yet: start fresh
    assert algorithms(requests[1])["InitialActiveLearningModelArn"] == first.output["final_model_arn"]
    records = list(drops.runtime.store.jobs_of_project("birds", newest_first=False))
    assert [job.job_name for job in records] == [first.output["job_name"], second.output["job_name"]]
    assert records[1].manifest_uri == f"s3://{TEST_SETTINGS.data_bucket}/incoming/birds/batch-2.manifest"
    pointer = drops.runtime.store.latest_model("birds")
    assert pointer is not None
    assert pointer.model_arn == second.output["final_model_arn"]


def test_invalid_project_settings_fail_the_execution_and_create_no_job(drops: Drops) -> None:
    settings = json.loads(PROJECT_SETTINGS)
    settings["workforce"]["workers_per_object"] = 10
    drops.settings(json.dumps(settings))

    (result,) = drops.drop("batch-1", "drop-bad")

    assert result.status == "FAILED"
    assert result.error == "InvalidJobInput"
    assert "project settings of 'birds': workforce.workers_per_object" in (result.cause or "")
    assert drops.sagemaker.created == {}


def test_a_project_without_settings_fails_the_execution_even_with_a_project_json_uploaded(
    drops: Drops,
) -> None:
    drops.upload_project_json(PROJECT_SETTINGS)

    (result,) = drops.drop("batch-1", "drop-nosettings")

    assert result.status == "FAILED"
    assert "project settings of 'birds': none in the table" in (result.cause or "")
    assert drops.sagemaker.created == {}


def test_a_project_json_uploaded_next_to_the_batches_cannot_raise_the_workers(drops: Drops) -> None:
    drops.settings(PROJECT_SETTINGS)
    hostile = json.loads(PROJECT_SETTINGS)
    hostile["workforce"]["workers_per_object"] = 9
    drops.upload_project_json(json.dumps(hostile))

    (result,) = drops.drop("batch-1", "drop-hostile")

    assert result.status == "SUCCEEDED", result.cause
    (request,) = drops.sagemaker.created.values()
    assert request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] == 3


def test_an_event_delivered_twice_starts_only_one_job(drops: Drops) -> None:
    drops.settings(PROJECT_SETTINGS)

    first, second = drops.drop("batch-1", "drop-twice", deliver_twice=True)

    assert first.status == "SUCCEEDED", first.cause
    assert second.status == "FAILED"
    assert second.error == "DuplicateTrigger"
    assert len(drops.sagemaker.created) == 1
