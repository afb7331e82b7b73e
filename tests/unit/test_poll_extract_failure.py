"""Specification of the three Lambdas after CreateJob: PollJob keeps progress and paces the polls,
ExtractModel keeps the trained model and moves the project's pointer only forward, RecordFailure keeps
what went wrong without losing anything already recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from labelchain.adapters.sagemaker import LabelingJobs
from labelchain.adapters.store import JobStore, item_to_plain
from labelchain.core.polling import next_wait_seconds
from labelchain.core.prices import DEFAULT_PRICES, PriceOverrides, resolve_prices
from labelchain.core.records import Counters, ExecutionFailure, JobRecord, ModelPointer, execution_failure_key
from labelchain.errors import LabelingJobNotFound, TransientServiceError
from labelchain.services.events import ExecutionRef, JobEvent, PollState, RecordFailureEvent
from labelchain.services.extract_model import extract_model
from labelchain.services.poll_job import poll_labeling_job
from labelchain.services.record_failure import record_failure
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    EXAMPLE_TIME,
    FixedClock,
    bird_job_record,
    describe_response,
    make_runtime,
    moto_account,
)

JOB = "labelchain-birds-half-a-0a1b2c3d"
EXECUTION = ExecutionRef(
    id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:birds-half-a", name="birds-half-a"
)
OUTPUT_MANIFEST = f"s3://{TEST_SETTINGS.output_bucket}/birds/{JOB}/manifests/output/output.manifest"


@dataclass
class World:
    runtime: Runtime
    clock: FixedClock
    dynamodb: Any
    stub: Stubber

    @property
    def store(self) -> JobStore:
        return self.runtime.store


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any, Any]]:
    with moto_account() as (s3, dynamodb, sagemaker):
        yield s3, dynamodb, sagemaker


@pytest.fixture
def world(aws: tuple[Any, Any, Any]) -> Iterator[World]:
    s3, dynamodb, sagemaker = aws
    for item in dynamodb.scan(TableName=TEST_SETTINGS.table_name)["Items"]:
        dynamodb.delete_item(TableName=TEST_SETTINGS.table_name, Key={"pk": item["pk"], "sk": item["sk"]})
    clock = FixedClock()
    runtime = make_runtime(sagemaker, clock, s3=s3, dynamodb=dynamodb)
    with Stubber(sagemaker) as stub:
        yield World(runtime, clock, dynamodb, stub)
        stub.assert_no_pending_responses()


def job_record(name: str = JOB, created_at: datetime = EXAMPLE_TIME, **changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "job_name": name,
        "execution_arn": EXECUTION.id,
        "job_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{name}",
        "created_at": created_at,
    }
    return bird_job_record(**{**values, **changes})


def sagemaker_reports(world: World, status: str, job: str = JOB, **details: Any) -> None:
    world.stub.add_response(
        "describe_labeling_job", describe_response(job, status, **details), {"LabelingJobName": job}
    )


def sagemaker_refuses(world: World, code: str, job: str = JOB) -> None:
    world.stub.add_client_error(
        "describe_labeling_job",
        service_error_code=code,
        http_status_code=400,
        expected_params={"LabelingJobName": job},
    )


# --- PollJob ----------------------------------------------------------------------------------------


def poll(world: World, previous: PollState | None = None) -> PollState:
    return poll_labeling_job(JobEvent(job_name=JOB, project="birds", previous=previous), world.runtime)


def test_each_poll_keeps_a_snapshot_so_progress_can_be_drawn_over_time(world: World) -> None:
    world.store.create_job(job_record())
    previous = None
    for minutes, human, machine in [(1, 0, 0), (61, 200, 0), (181, 250, 480)]:
        world.clock.now = EXAMPLE_TIME + timedelta(minutes=minutes)
        sagemaker_reports(world, "InProgress", human=human, machine=machine, unlabeled=1250 - human - machine)
        previous = poll(world, previous)

    snapshots = world.store.snapshots(JOB)

    assert [(s.poll, s.counters.human_labeled, s.counters.machine_labeled) for s in snapshots] == [
        (1, 0, 0),
        (2, 200, 0),
        (3, 250, 480),
    ]
    assert [s.taken_at for s in snapshots] == [EXAMPLE_TIME + timedelta(minutes=m) for m in (1, 61, 181)]
    assert [s.counters.unlabeled for s in snapshots] == [1250, 1050, 520]


def test_a_poll_moves_the_job_records_status_and_counters_forward(world: World) -> None:
    world.store.create_job(job_record())
    sagemaker_reports(world, "InProgress", human=200, unlabeled=1050)

    poll(world)

    record = world.store.get_job(JOB)
    assert record.status == "InProgress"
    assert record.counters == Counters(total_labeled=200, human_labeled=200, unlabeled=1050)
    assert record.prices == DEFAULT_PRICES


@pytest.mark.parametrize(
    ("elapsed", "wait"),
    [(30, 60), (3_600, 360), (6 * 3_600, 1_800), (20 * 86_400, 1_800)],
    ids=["30s", "1h", "6h", "20d"],
)
def test_the_next_wait_is_the_backoff_for_the_jobs_age(world: World, elapsed: int, wait: int) -> None:
    world.clock.advance(elapsed)
    sagemaker_reports(world, "InProgress", created=EXAMPLE_TIME)

    state = poll(world)

    assert state.elapsed_seconds == elapsed
    assert state.wait_seconds == next_wait_seconds(elapsed) == wait


def test_polls_are_counted_on_from_the_previous_state(world: World) -> None:
    sagemaker_reports(world, "InProgress")

    state = poll(world, PollState(status="InProgress", wait_seconds=60, polls=41))

    assert state.polls == 42


def test_a_failed_job_reports_sagemakers_failure_reason(world: World) -> None:
    reason = "ClientError: more than 10% of the validation set failed"
    sagemaker_reports(world, "Failed", failure_reason=reason)

    state = poll(world)

    assert (state.status, state.failure_reason) == ("Failed", reason)


def test_a_failed_job_without_a_reason_still_reports_one(world: World) -> None:
    sagemaker_reports(world, "Failed")

    assert poll(world).failure_reason == "SageMaker reported the job Failed without a FailureReason"


def test_a_stopped_job_reports_a_reason_even_without_one_from_sagemaker(world: World) -> None:
    sagemaker_reports(world, "Stopped")

    state = poll(world)

    assert state.status == "Stopped"
    assert "stopped before it finished" in state.failure_reason


def test_a_running_job_has_no_failure_reason(world: World) -> None:
    sagemaker_reports(world, "InProgress")

    assert poll(world).failure_reason is None


def test_a_throttled_describe_is_a_transient_error(world: World) -> None:
    sagemaker_refuses(world, "ThrottlingException")

    with pytest.raises(TransientServiceError) as refused:
        poll(world)

    assert "SageMaker DescribeLabelingJob refused transiently (ThrottlingException)" in str(refused.value)
    assert world.store.snapshots(JOB) == []


def test_polling_a_job_sagemaker_does_not_know_is_labeling_job_not_found(world: World) -> None:
    sagemaker_refuses(world, "ResourceNotFound")

    with pytest.raises(LabelingJobNotFound):
        poll(world)


# --- ExtractModel -----------------------------------------------------------------------------------

NEWER_JOB = "labelchain-birds-half-b-1a2b3c4d"


def model_arn(job: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{job}-model"


def extract(world: World, job: str = JOB) -> Any:
    return extract_model(JobEvent(job_name=job, project="birds"), world.runtime)


def test_a_trained_model_is_recorded_and_becomes_the_projects_latest(world: World) -> None:
    world.store.create_job(job_record())
    sagemaker_reports(world, "Completed", model_arn=model_arn(JOB), output_uri=OUTPUT_MANIFEST)

    result = extract(world)

    assert (result.model_arn, result.outcome, result.pointer_moved) == (model_arn(JOB), "trained", True)
    record = world.store.get_job(JOB)
    assert (record.final_model_arn, record.model_outcome, record.output_manifest_uri) == (
        model_arn(JOB),
        "trained",
        OUTPUT_MANIFEST,
    )
    assert world.store.latest_model("birds") == ModelPointer(
        project="birds",
        model_arn=model_arn(JOB),
        job_name=JOB,
        job_created_at=EXAMPLE_TIME,
        task_type="bounding_box",
        labels=["Bird"],
        label_attribute="category",
    )
    assert world.store.model_by_arn(model_arn(JOB)).job_name == JOB


def test_a_job_without_a_model_is_recorded_as_no_model_and_leaves_the_pointer_alone(world: World) -> None:
    world.store.create_job(job_record(NEWER_JOB, created_at=EXAMPLE_TIME + timedelta(hours=1)))
    world.store.create_job(job_record())
    sagemaker_reports(world, "Completed", model_arn=model_arn(JOB))
    extract(world, JOB)
    sagemaker_reports(world, "Completed", job=NEWER_JOB)

    result = extract(world, NEWER_JOB)

    assert (result.model_arn, result.outcome, result.pointer_moved) == (None, "no-model", False)
    assert world.store.get_job(NEWER_JOB).model_outcome == "no-model"
    assert world.store.latest_model("birds").model_arn == model_arn(JOB)


def test_an_older_job_finishing_later_does_not_replace_a_newer_jobs_model(world: World) -> None:
    world.store.create_job(job_record(JOB, created_at=EXAMPLE_TIME))
    world.store.create_job(job_record(NEWER_JOB, created_at=EXAMPLE_TIME + timedelta(hours=1)))
    sagemaker_reports(world, "Completed", job=NEWER_JOB, model_arn=model_arn(NEWER_JOB))
    extract(world, NEWER_JOB)
    sagemaker_reports(world, "Completed", job=JOB, model_arn=model_arn(JOB))

    older = extract(world, JOB)

    assert (older.outcome, older.pointer_moved) == ("trained", False)
    assert world.store.latest_model("birds").model_arn == model_arn(NEWER_JOB)
    assert world.store.get_job(JOB).final_model_arn == model_arn(JOB)
    assert world.store.model_by_arn(model_arn(JOB)).job_name == JOB


def test_extracting_the_same_job_twice_changes_nothing_the_second_time(world: World) -> None:
    world.store.create_job(job_record())
    sagemaker_reports(world, "Completed", model_arn=model_arn(JOB), output_uri=OUTPUT_MANIFEST)
    first = extract(world)
    record_after_first = world.store.get_job(JOB)
    pointer_after_first = world.store.latest_model("birds")
    sagemaker_reports(world, "Completed", model_arn=model_arn(JOB), output_uri=OUTPUT_MANIFEST)

    second = extract(world)

    assert second == first
    assert world.store.get_job(JOB) == record_after_first
    assert world.store.latest_model("birds") == pointer_after_first


def test_extracting_a_job_labelchain_never_recorded_is_labeling_job_not_found(world: World) -> None:
    sagemaker_reports(world, "Completed", model_arn=model_arn(JOB))

    with pytest.raises(LabelingJobNotFound):
        extract(world)

    assert world.store.latest_model("birds") is None


# --- RecordFailure ----------------------------------------------------------------------------------


def lambda_error_cause(error_type: str, message: str) -> str:
    """The Cause Step Functions passes on when a Lambda raised: the runtime's JSON error payload."""
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": "c0ffee00-0000-4000-8000-000000000000",
            "stackTrace": ['  File "/var/task/labelchain/handlers/create_job.py", line 17, in handler\n'],
        }
    )


def fail(world: World, state: dict[str, Any]) -> Any:
    return record_failure(RecordFailureEvent(state=state, execution=EXECUTION), world.runtime)


def stored_execution_failure(world: World) -> ExecutionFailure:
    key = {k: {"S": v} for k, v in execution_failure_key(EXECUTION.id).items()}
    item = world.dynamodb.get_item(TableName=TEST_SETTINGS.table_name, Key=key)["Item"]
    return ExecutionFailure.model_validate(item_to_plain(item))


def test_a_failure_after_the_job_started_is_saved_on_its_record_and_nothing_is_lost(world: World) -> None:
    prices = resolve_prices(DEFAULT_PRICES, PriceOverrides(object_fee_usd=Decimal("0.09")))
    world.store.create_job(job_record(prices=prices))
    counters = Counters(total_labeled=450, human_labeled=250, machine_labeled=200, unlabeled=800)
    world.store.update_job_progress(JOB, "InProgress", counters, EXAMPLE_TIME)
    sagemaker_reports(world, "InProgress", human=250, machine=200, unlabeled=800)

    result = fail(
        world,
        {"job_name": JOB, "project": "birds", "error": {"Error": "States.Timeout", "Cause": "timed out"}},
    )

    record = world.store.get_job(JOB)
    assert record.execution_error == "States.Timeout: timed out"
    assert (record.status, record.counters, record.prices) == ("InProgress", counters, prices)
    assert record.prices.version == "aws-gt-tutorial-2019+overrides(object_fee_usd)"
    assert (result.error, result.cause, result.job_name) == ("States.Timeout", "timed out", JOB)


def test_a_failure_before_any_job_is_kept_as_an_execution_failure(world: World) -> None:
    message = "task.labels: List should have at least 1 item after validation, not 0"

    result = fail(
        world,
        {
            "project": "birds",
            "task": {"labels": []},
            "error": {"Error": "InvalidJobInput", "Cause": lambda_error_cause("InvalidJobInput", message)},
        },
    )

    assert stored_execution_failure(world) == ExecutionFailure(
        execution_arn=EXECUTION.id,
        execution_name=EXECUTION.name,
        project="birds",
        error="InvalidJobInput",
        cause=message,
        failed_at=EXAMPLE_TIME,
    )
    assert result.job_name is None


def test_a_lambda_errors_json_cause_is_reduced_to_its_message(world: World) -> None:
    message = "initial_model: project 'birds' has no model yet"

    result = fail(
        world,
        {
            "project": "birds",
            "error": {"Error": "ModelNotFound", "Cause": lambda_error_cause("ModelNotFound", message)},
        },
    )

    assert result.cause == message
    assert stored_execution_failure(world).cause == message


def test_a_plain_text_cause_is_kept_as_it_is(world: World) -> None:
    result = fail(world, {"project": "birds", "error": {"Error": "States.Timeout", "Cause": "not JSON {"}})

    assert result.cause == "not JSON {"


def test_a_failure_of_a_job_sagemaker_no_longer_knows_keeps_the_recorded_status(world: World) -> None:
    world.store.create_job(job_record(status="InProgress"))
    sagemaker_refuses(world, "ResourceNotFound")

    fail(world, {"job_name": JOB, "project": "birds", "error": {"Error": "States.Timeout", "Cause": ""}})

    assert world.store.get_job(JOB).status == "InProgress"


def test_a_failed_execution_never_writes_onto_another_executions_job(world: World) -> None:
    other = job_record(execution_arn=f"{EXECUTION.id}-someone-else", status="InProgress")
    world.store.create_job(other)
    stray_input = {
        "project": "birds",
        "job_name": JOB,  # an unknown field of a bad input, not a job this execution created
        "error": {"Error": "InvalidJobInput", "Cause": "job_name: unknown field"},
    }

    fail(world, stray_input)

    assert world.store.get_job(JOB) == other


def test_a_request_botocore_refuses_is_not_retried_as_transient() -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    with Stubber(sagemaker) as stub:
        stub.add_response("describe_labeling_job", describe_response(JOB, "InProgress"))

        with pytest.raises(ParamValidationError):
            LabelingJobs(sagemaker).describe("")  # LabelingJobName: at least 1 character


def test_a_failed_triggered_execution_is_recorded_under_the_project_of_its_manifest() -> None:
    from labelchain.services.record_failure import project_of_state  # noqa: PLC0415

    state = {"trigger": {"bucket": "b", "key": "incoming/birds/batch-1.manifest"}, "error": {}}

    assert project_of_state(state) == "birds"
    assert project_of_state({"trigger": {"key": "elsewhere/x.manifest"}}) is None
    assert project_of_state({"project": "fish"}) == "fish"
