"""The synthesized LabelingJob state machine, executed by moto's engine with the real handlers.

SageMaker is a botocore Stubber (each request checked against the API model, each answer scripted);
S3 and DynamoDB are moto. Every scenario reads its outcome back from the execution and the table.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from labelchain.core.naming import job_name_for_execution
from labelchain.core.polling import (
    EVENTS_PER_POLL_CYCLE,
    HISTORY_EVENT_LIMIT,
    LABELING_JOB_MAX_SECONDS,
    history_events_for_duration,
)
from labelchain.errors import TransientServiceError
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    EXAMPLE_TIME,
    FixedClock,
    describe_response,
    make_runtime,
    manifest_lines,
    put_manifest,
)
from tests.support.output import write_bounding_box_output
from tests.workflow.harness import Workflow, labeling_job_workflow

pytestmark = pytest.mark.workflow

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "bird-bounding-box.json").read_text())
MODEL_A = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/labelchain-run-a-model"
CREATED = {"LabelingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/x"}


class Scenario:
    """One test's world: the workflow, the SageMaker stub, the clock and the moto clients."""

    def __init__(self, workflow: Workflow, stub: Stubber, runtime: Runtime, clock: FixedClock) -> None:
        self.workflow = workflow
        self.stub = stub
        self.runtime = runtime
        self.clock = clock
        self.s3 = boto3.client("s3", region_name=REGION)
        self.create_requests: list[dict[str, Any]] = []

    def job_input(self, objects: int = 1250, **overrides: Any) -> dict[str, Any]:
        uri = put_manifest(self.s3, f"birds/{objects}.manifest", manifest_lines(objects))
        return {**copy.deepcopy(EXAMPLE), "manifest": uri, **overrides}

    def job_name(self, execution_name: str) -> str:
        return job_name_for_execution(
            TEST_SETTINGS.resource_prefix, execution_name, self.workflow.execution_arn(execution_name)
        )

    def expect_create(self) -> None:
        self.stub.add_response("create_labeling_job", CREATED)

    def expect_describe(self, job_name: str, status: str, **details: Any) -> None:
        self.stub.add_response("describe_labeling_job", describe_response(job_name, status, **details))

    def expect_run(
        self, execution_name: str, *, polls: list[str], model: str | None, final: dict[str, Any]
    ) -> str:
        """Queue create, one describe per poll, then ExtractModel/RecordMetrics describes."""
        name = self.job_name(execution_name)
        self.expect_create()
        for status in polls[:-1]:
            self.expect_describe(name, status, human=10)
        ended = {"modified": EXAMPLE_TIME + timedelta(hours=4), "model_arn": model, **final}
        self.expect_describe(name, polls[-1], **ended)
        if polls[-1] == "Completed":
            self.expect_describe(name, "Completed", **ended)  # ExtractModel
        self.expect_describe(name, polls[-1], **ended)  # RecordMetrics
        return name

    def job_record(self, job_name: str) -> Any:
        return self.runtime.store.get_job(job_name)


@pytest.fixture
def scenario() -> Any:
    clock = FixedClock(EXAMPLE_TIME + timedelta(minutes=1))
    holder: dict[str, Any] = {}

    def build_runtime() -> Runtime:
        client = boto3.client("sagemaker", region_name=REGION)
        holder["stub"] = Stubber(client)
        holder["stub"].activate()
        holder["client"] = client
        holder["runtime"] = make_runtime(client, clock)
        return holder["runtime"]

    with labeling_job_workflow(build_runtime) as workflow:
        world = Scenario(workflow, holder["stub"], holder["runtime"], clock)
        holder["client"].meta.events.register(
            "provide-client-params.sagemaker.CreateLabelingJob",
            lambda params, **_: world.create_requests.append(copy.deepcopy(params)),
        )
        yield world


def completed_counters() -> dict[str, Any]:
    return {"human": 250, "machine": 1000}


def test_completed_job_with_a_model_records_metrics_and_moves_the_model_pointer(scenario: Scenario) -> None:
    name = scenario.expect_run(
        "run-a", polls=["InProgress", "InProgress", "Completed"], model=MODEL_A, final=completed_counters()
    )
    write_bounding_box_output(scenario.s3, "birds", name, [(200, 0), (50, 0), (0, 600), (0, 400)])

    result = scenario.workflow.run(scenario.job_input(), "run-a")

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["job_name"] == name
    assert result.output["final_model_arn"] == MODEL_A
    # 250 human × (0.08 fee + 3 workers × 0.036) + 1000 machine × 0.08 = 47.00 + 80.00
    assert result.output["cost"]["total_usd"] == "127.0000"
    record = scenario.job_record(name)
    assert record.status == "Completed"
    assert record.model_outcome == "trained"
    assert record.duration_seconds == 4 * 3600
    assert [row.iteration for row in record.iterations] == [1, 2, 3, 4]
    assert sum(row.machine_objects for row in record.iterations) == 1000
    assert record.cross_check == []
    pointer = scenario.runtime.store.latest_model("birds")
    assert pointer is not None
    assert pointer.model_arn == MODEL_A
    assert len(scenario.runtime.store.snapshots(name)) == 3
    scenario.stub.assert_no_pending_responses()


def test_completed_job_without_a_model_succeeds_and_records_no_model(scenario: Scenario) -> None:
    name = scenario.expect_run(
        "run-nomodel", polls=["Completed"], model=None, final={"human": 1250, "machine": 0}
    )

    result = scenario.workflow.run(scenario.job_input(), "run-nomodel")

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["final_model_arn"] is None
    record = scenario.job_record(name)
    assert record.model_outcome == "no-model"
    assert record.final_model_arn is None
    assert scenario.runtime.store.latest_model("birds") is None
    scenario.stub.assert_no_pending_responses()


def test_failed_job_keeps_its_metrics_and_fails_the_execution_with_the_reason(scenario: Scenario) -> None:
    reason = "ClientError: More than 10% of the validation sample failed"
    name = scenario.expect_run(
        "run-failed",
        polls=["InProgress", "Failed"],
        model=None,
        final={"human": 120, "machine": 0, "failure_reason": reason},
    )

    result = scenario.workflow.run(scenario.job_input(), "run-failed")

    assert result.status == "FAILED"
    assert result.error == "LabelingJobFailed"
    assert result.cause == reason
    record = scenario.job_record(name)
    assert record.status == "Failed"
    assert record.failure_reason == reason
    assert record.counters.human_labeled == 120
    assert record.cost is not None
    assert str(record.cost.human_cost_usd) == "22.5600"  # 120 × (0.08 + 3 × 0.036)
    assert "ExtractModel" not in result.state_names_entered()


def test_stopped_job_fails_the_execution_as_stopped_with_metrics_recorded(scenario: Scenario) -> None:
    name = scenario.expect_run(
        "run-stopped",
        polls=["InProgress", "Stopping", "Stopped"],
        model=None,
        final={"human": 300, "machine": 0},
    )

    result = scenario.workflow.run(scenario.job_input(), "run-stopped")

    assert result.status == "FAILED"
    assert result.error == "LabelingJobStopped"
    assert "stopped" in (result.cause or "")
    assert scenario.job_record(name).status == "Stopped"


def test_throttled_sagemaker_is_retried_with_backoff_then_the_job_completes(scenario: Scenario) -> None:
    name = scenario.job_name("run-throttled")
    scenario.expect_create()
    scenario.stub.add_client_error("describe_labeling_job", "ThrottlingException", "Rate exceeded", 400)
    scenario.stub.add_client_error("describe_labeling_job", "ThrottlingException", "Rate exceeded", 400)
    ended = {"modified": EXAMPLE_TIME + timedelta(hours=1), "human": 1250}
    for _ in range(3):  # PollJob, ExtractModel, RecordMetrics
        scenario.expect_describe(name, "Completed", **ended)

    result = scenario.workflow.run(scenario.job_input(), "run-throttled")

    assert result.status == "SUCCEEDED", result.cause
    retried = [d for d in scenario.workflow.engine.retries if d.state == "PollJob"]
    assert len(retried) == 2
    failures = [e for e in result.events if e["type"] == "TaskFailed"]
    assert all(e["taskFailedEventDetails"]["error"] == TransientServiceError.__name__ for e in failures)
    scenario.stub.assert_no_pending_responses()


def test_retried_create_adopts_the_job_it_already_started(scenario: Scenario) -> None:
    name = scenario.job_name("run-retried")
    store = scenario.runtime.store
    original_create = store.create_job
    calls = {"n": 0}

    def create_then_lose_the_response(record: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:  # the job exists in SageMaker, then the Lambda dies before recording it
            raise TransientServiceError("DynamoDB PutItem refused transiently (simulated)")
        return original_create(record)

    object.__setattr__(store, "create_job", create_then_lose_the_response)
    scenario.expect_create()
    scenario.stub.add_client_error("create_labeling_job", "ResourceInUse", "Job name in use", 400)
    scenario.expect_describe(name, "InProgress", execution_arn=scenario.workflow.execution_arn("run-retried"))
    ended = {"modified": EXAMPLE_TIME + timedelta(hours=1), "human": 1250}
    for _ in range(3):
        scenario.expect_describe(name, "Completed", **ended)

    result = scenario.workflow.run(scenario.job_input(), "run-retried")

    assert result.status == "SUCCEEDED", result.cause
    assert len(scenario.create_requests) == 2  # the first created the job, the retry met ResourceInUse
    assert {r["LabelingJobName"] for r in scenario.create_requests} == {name}
    assert scenario.job_record(name) is not None
    assert [job.job_name for job in store.jobs_of_project("birds")] == [name]
    scenario.stub.assert_no_pending_responses()


def test_bad_input_fails_before_any_sagemaker_call_and_is_recorded(scenario: Scenario) -> None:
    bad = scenario.job_input()
    bad["workforce"]["workers_per_object"] = 12

    result = scenario.workflow.run(bad, "run-bad")

    assert result.status == "FAILED"
    assert result.error == "InvalidJobInput"
    assert "workforce.workers_per_object" in (result.cause or "")
    assert scenario.create_requests == []
    assert "RecordFailure" in result.state_names_entered()
    retries = [d for d in scenario.workflow.engine.retries if d.state == "CreateJob"]
    assert retries == []  # a domain error is not retried


def test_too_small_manifest_is_refused_before_any_sagemaker_call(scenario: Scenario) -> None:
    result = scenario.workflow.run(scenario.job_input(objects=1249), "run-small")

    assert result.status == "FAILED"
    assert result.error == "InvalidJobInput"
    assert "1,250" in (result.cause or "")
    assert scenario.create_requests == []


def test_second_job_is_chained_from_the_first_jobs_model(scenario: Scenario) -> None:
    scenario.expect_run("run-first", polls=["Completed"], model=MODEL_A, final=completed_counters())
    first = scenario.workflow.run(scenario.job_input(), "run-first")
    assert first.status == "SUCCEEDED", first.cause
    second_name = scenario.expect_run(
        "run-second", polls=["Completed"], model=None, final=completed_counters()
    )

    second = scenario.workflow.run(scenario.job_input(initial_model="latest"), "run-second")

    assert second.status == "SUCCEEDED", second.cause
    seeded = scenario.create_requests[-1]["LabelingJobAlgorithmsConfig"]
    assert seeded["InitialActiveLearningModelArn"] == MODEL_A
    record = scenario.job_record(second_name)
    assert record.initial_model_arn == MODEL_A
    assert record.initial_model_source == "latest"
    assert record.initial_model_check == "verified"


def test_poll_loop_history_fits_a_thirty_day_job(scenario: Scenario) -> None:
    """Measure events per poll cycle on the executed definition, then do the 30-day arithmetic."""
    short = scenario.expect_run(
        "run-short", polls=["InProgress", "Completed"], model=None, final=completed_counters()
    )
    two = scenario.workflow.run(scenario.job_input(), "run-short")
    long = scenario.expect_run(
        "run-long", polls=["InProgress"] * 4 + ["Completed"], model=None, final=completed_counters()
    )
    five = scenario.workflow.run(scenario.job_input(), "run-long")
    assert short != long
    assert two.status == five.status == "SUCCEEDED"

    per_cycle = (len(five.events) - len(two.events)) // 3
    fixed = len(two.events) - 2 * per_cycle
    thirty_days = history_events_for_duration(LABELING_JOB_MAX_SECONDS, fixed, per_cycle)

    assert per_cycle == EVENTS_PER_POLL_CYCLE
    assert thirty_days < HISTORY_EVENT_LIMIT
    fixed_30s_poll = fixed + per_cycle * (LABELING_JOB_MAX_SECONDS // 30)
    assert fixed_30s_poll > HISTORY_EVENT_LIMIT  # what a 30 s loop would need
