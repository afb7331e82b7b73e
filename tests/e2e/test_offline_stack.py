"""End to end on the offline stack: moto server on loopback, the Ground Truth emulator, the
synthesized state machines and the real handlers — what ``make demo`` runs, checked.

Every job here is simulated by LabelChain's emulator (and recorded as such).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labelchain.core.records import JobRecord
from labelchain.handlers.runtime import get_runtime
from local.dataset import upload_bird_dataset
from local.ground_truth import FaultInjection, JobFailure, JobStop
from local.stack import LocalOptions, LocalStack, local_stack, s3_object_created_event
from tests.support.project_settings import write_project_settings
from tests.workflow.harness import synthesized_template

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
EXPERIMENT = json.loads((ROOT / "examples" / "experiment-birds.json").read_text())
BIRD_JOB = json.loads((ROOT / "examples" / "bird-bounding-box.json").read_text())
FAST = 20_000.0
"""Simulated seconds per real second in these tests (a 4-hour job in under a second)."""


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return synthesized_template()


@pytest.fixture
def stack(template: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[LocalStack]:
    options: LocalOptions = getattr(request, "param", LocalOptions(scale=FAST, seed=11))
    with local_stack(template, options) as running:
        yield running


def jobs_of(project: str) -> list[JobRecord]:
    return list(get_runtime().store.jobs_of_project(project, newest_first=False))


def manifest_body(prefix: str, objects: int, bucket: str) -> bytes:
    """A manifest of ``objects`` stand-in images (the emulator reads the manifest, not the images)."""
    return "".join(
        json.dumps({"source-ref": f"s3://{bucket}/{prefix}/{n:05d}.png"}) + "\n" for n in range(objects)
    ).encode()


def put_manifest(stack: LocalStack, prefix: str, objects: int) -> str:
    key = f"{prefix}/objects.manifest"
    stack.client("s3").put_object(
        Bucket=stack.data_bucket, Key=key, Body=manifest_body(prefix, objects, stack.data_bucket)
    )
    return f"s3://{stack.data_bucket}/{key}"


def run_single_job(stack: LocalStack, name: str, project: str = "birds-single") -> dict[str, Any]:
    manifest = put_manifest(stack, project, 1250)
    job_input = {**BIRD_JOB, "manifest": manifest, "project": project}
    return stack.wait(stack.start(stack.labeling_job_arn, job_input, name))


def test_the_seed_experiment_runs_end_to_end(stack: LocalStack) -> None:
    manifest = upload_bird_dataset(
        stack.client("s3"), stack.data_bucket, "birds", objects=2500, seed=7
    )  # as the demo

    described = stack.wait(stack.start(stack.experiment_arn, {**EXPERIMENT, "manifest": manifest}, "e2e-exp"))

    assert described["status"] == "SUCCEEDED", described.get("cause")
    records = jobs_of(EXPERIMENT["project"])
    assert len(records) == 3
    assert all(record.simulated and record.status == "Completed" for record in records)
    assert all(record.cost is not None and record.iterations for record in records)
    assert all(record.cross_check == [] for record in records), [r.cross_check for r in records]
    report_key = f"experiments/{EXPERIMENT['project']}/e2e-exp/report.json"
    report = json.loads(
        stack.client("s3").get_object(Bucket=stack.output_bucket, Key=report_key)["Body"].read()
    )
    assert report["simulated"] is True
    assert report["missing"] == {}
    machine = {
        role: float(report["jobs"][role]["figures"]["machine_labeled_percent"]) for role in report["jobs"]
    }
    assert machine["pretrained"] > machine["control"]
    pointer = get_runtime().store.latest_model(EXPERIMENT["project"])
    assert pointer is not None
    (pretrained,) = [r for r in records if "-pretrained-" in r.job_name]
    assert pointer.job_name == pretrained.job_name  # the control job's model never becomes "latest"


def test_a_manifest_dropped_under_incoming_starts_a_seeded_job_through_the_rule(stack: LocalStack) -> None:
    write_project_settings(get_runtime().store, "birds")  # what `labelchain project-settings put` writes
    first = stack.drop_manifest("birds", "batch-1", manifest_body("birds/a", 1250, stack.data_bucket))
    assert first is not None
    assert stack.wait(first)["status"] == "SUCCEEDED"
    second = stack.drop_manifest("birds", "batch-2", manifest_body("birds/b", 1250, stack.data_bucket))
    assert second is not None
    assert stack.wait(second)["status"] == "SUCCEEDED"

    first_job, second_job = jobs_of("birds")
    assert first_job.initial_model_arn is None
    assert second_job.initial_model_arn == first_job.final_model_arn
    assert second_job.initial_model_source == "latest"
    settings_event = s3_object_created_event(stack.data_bucket, "incoming/birds/project.json", "v1", 10)
    assert stack.deliver_s3_event(settings_event) is None  # a project.json upload starts and changes nothing


THROTTLED = LocalOptions(
    scale=FAST,
    seed=5,
    ground_truth_faults=FaultInjection(throttle_rate=0.3, throttle_seed=5),
    dynamodb_throttle_rate=0.3,
)


@pytest.mark.parametrize("stack", [THROTTLED], indirect=True)
def test_thirty_percent_throttling_on_sagemaker_and_dynamodb_still_succeeds(stack: LocalStack) -> None:
    results = [run_single_job(stack, f"e2e-throttled-{n}", project=f"throttled-{n}") for n in (1, 2)]

    assert [r["status"] for r in results] == ["SUCCEEDED", "SUCCEEDED"], [r.get("cause") for r in results]
    (dynamodb,) = stack.throttling
    assert dynamodb.throttled > 0
    assert stack.emulator.throttled_requests > 0
    assert all(len(jobs_of(f"throttled-{n}")) == 1 for n in (1, 2))


FAILING = LocalOptions(
    scale=FAST,
    seed=5,
    ground_truth_faults=FaultInjection(
        failures=(JobFailure(name_pattern="e2e-fails", reason="ClientError: simulated workteam outage"),),
        stops=(JobStop(name_pattern="e2e-stopped", at_fraction=0.4),),
    ),
)


@pytest.mark.parametrize("stack", [FAILING], indirect=True)
def test_a_failed_job_keeps_its_metrics_and_fails_the_execution_with_the_cause(stack: LocalStack) -> None:
    described = run_single_job(stack, "e2e-fails", project="fails")

    assert described["status"] == "FAILED"
    assert described["error"] == "LabelingJobFailed"
    assert described["cause"] == "ClientError: simulated workteam outage"
    (record,) = jobs_of("fails")
    assert record.status == "Failed"
    assert record.cost is not None
    assert record.counters.human_labeled > 0


@pytest.mark.parametrize("stack", [FAILING], indirect=True)
def test_a_stopped_job_is_recorded_and_fails_the_execution_as_stopped(stack: LocalStack) -> None:
    described = run_single_job(stack, "e2e-stopped", project="stopped")

    assert described["status"] == "FAILED"
    assert described["error"] == "LabelingJobStopped"
    (record,) = jobs_of("stopped")
    assert record.status == "Stopped"
    assert 0 < record.counters.total_labeled < 1250


def test_a_create_retried_after_the_job_started_produces_exactly_one_job(stack: LocalStack) -> None:
    store = get_runtime().store
    original = store.create_job
    calls = {"n": 0}

    def lose_the_first_record(record: JobRecord) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:  # SageMaker created the job, then the Lambda failed before recording it
            from labelchain.errors import TransientServiceError  # noqa: PLC0415

            raise TransientServiceError("DynamoDB PutItem refused transiently (injected)")
        return original(record)

    object.__setattr__(store, "create_job", lose_the_first_record)
    try:
        described = run_single_job(stack, "e2e-retried", project="retried")
    finally:
        object.__setattr__(store, "create_job", original)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    listed = stack.client("sagemaker").list_labeling_jobs(NameContains="e2e-retried")[
        "LabelingJobSummaryList"
    ]
    assert len(listed) == 1
    assert len(jobs_of("retried")) == 1
    assert calls["n"] == 2
