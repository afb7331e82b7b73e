"""Specification of the two ends of a labeling job's execution: Finalize seals an ended job's record once
(its model, counters and cost) whoever gets there first, and RecordFailure keeps what went wrong without
touching anything else on the record.

moto gives S3 and DynamoDB; SageMaker is a botocore Stubber, so every request is checked against the API
model and a call nobody queued a response for fails the test.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.stub import Stubber

from labelchain.adapters.sagemaker import LabelingJobDescription, LabelingJobs
from labelchain.adapters.store import JobStore, item_to_plain
from labelchain.core.prices import DEFAULT_PRICES
from labelchain.core.records import Counters, ExecutionFailure, JobRecord, ModelPointer, execution_failure_key
from labelchain.core.s3_layout import job_output_key_prefix, s3_uri
from labelchain.errors import JobStillRunning, LabelingJobNotFound, TransientServiceError
from labelchain.services.events import ExecutionRef, RecordFailureEvent
from labelchain.services.finalize import Finalized, finalize_job
from labelchain.services.lifecycle import mark_not_found
from labelchain.services.record_failure import project_of_state, record_failure
from labelchain.services.record_metrics import FAILED_WITHOUT_REASON, STOPPED_REASON
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    EXAMPLE_TIME,
    FixedClock,
    bird_job_record,
    describe_response,
    make_runtime,
)

JOB = "labelchain-birds-half-a-0a1b2c3d"
NEWER_JOB = "labelchain-birds-half-b-1a2b3c4d"
EXECUTION = ExecutionRef(
    id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:labelchain-labeling-job:birds-half-a",
    name="birds-half-a",
)
ENDED_AT = EXAMPLE_TIME + timedelta(hours=4)
FINALIZED_AT = ENDED_AT + timedelta(minutes=3)
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def model_arn(job: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{job}-model"


@dataclass
class World:
    runtime: Runtime
    clock: FixedClock
    dynamodb: Any
    stub: Stubber
    requests: list[str] = field(default_factory=list)

    @property
    def store(self) -> JobStore:
        return self.runtime.store

    def writes(self) -> list[str]:
        """The DynamoDB writes made since the world began (or since the last ``forget_requests``)."""
        return [operation for operation in self.requests if operation in WRITES]

    def forget_requests(self) -> None:
        self.requests.clear()


@pytest.fixture
def world(aws: tuple[Any, Any, Any]) -> Iterator[World]:
    s3, dynamodb, sagemaker = aws
    for item in dynamodb.scan(TableName=TEST_SETTINGS.table_name)["Items"]:
        dynamodb.delete_item(TableName=TEST_SETTINGS.table_name, Key={"pk": item["pk"], "sk": item["sk"]})
    requests: list[str] = []

    def record_request(model: Any, **_: Any) -> None:
        requests.append(model.name)

    dynamodb.meta.events.register("provide-client-params.dynamodb.*", record_request)
    clock = FixedClock(FINALIZED_AT)
    runtime = make_runtime(sagemaker, clock, s3=s3, dynamodb=dynamodb)
    try:
        with Stubber(sagemaker) as stub:
            yield World(runtime, clock, dynamodb, stub, requests)
            stub.assert_no_pending_responses()
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.*", record_request)


def job_record(name: str = JOB, created_at: datetime = EXAMPLE_TIME, **changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "job_name": name,
        "execution_arn": EXECUTION.id,
        "job_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{name}",
        "created_at": created_at,
        "status": "InProgress",
    }
    return bird_job_record(**{**values, **changes})


def recorded(world: World, **changes: Any) -> JobRecord:
    record = job_record(**changes)
    world.store.create_job(record)
    return record


def stored(world: World, job: str = JOB) -> JobRecord:
    record = world.store.get_job(job)
    assert record is not None
    return record


def sagemaker_reports(world: World, status: str, job: str = JOB, **details: Any) -> None:
    details.setdefault("created", EXAMPLE_TIME)
    details.setdefault("modified", ENDED_AT)
    world.stub.add_response(
        "describe_labeling_job", describe_response(job, status, **details), {"LabelingJobName": job}
    )


def sagemaker_reports_completed(world: World, job: str = JOB, **details: Any) -> None:
    """The tutorial's outcome: 250 objects labeled by people, 1,000 by the model it trained."""
    values: dict[str, Any] = {"human": 250, "machine": 1000, "model_arn": model_arn(job)}
    sagemaker_reports(world, "Completed", job, **{**values, **details})


# --- Finalize: one seal, whoever gets there first ---------------------------------------------------


def test_an_ended_job_is_sealed_with_its_counters_cost_and_model(world: World) -> None:
    recorded(world, watch_token="token-1")
    sagemaker_reports_completed(world)

    finalized = finalize_job(JOB, world.runtime)

    assert finalized.sealed_now is True
    result = finalized.result
    assert (result.status, result.failure_reason) == ("Completed", None)
    assert result.counters == Counters(total_labeled=1250, human_labeled=250, machine_labeled=1000)
    assert result.cost.total_usd == "127.0000"  # 250 × (0.08 + 3 × 0.036) + 1,000 × 0.08
    assert (result.duration_seconds, result.machine_labeled_percent) == (4 * 3600, "80.00")
    assert (result.model_outcome, result.final_model_arn) == ("trained", model_arn(JOB))
    assert result.finalized_at == FINALIZED_AT.isoformat()
    record = stored(world)
    assert (record.finalized_at, record.watch_token) == (FINALIZED_AT, None)
    assert (record.end_detected_at, record.end_detected_by) == (FINALIZED_AT, "watch")
    assert list(world.store.active_jobs()) == []


PRIVATE_JOB = "labelchain-birds-private-2b3c4d5e"


def put_worker_response(
    world: World, iteration: int, object_id: int, body: bytes, job_prefix: str | None = None
) -> None:
    job_prefix = job_prefix or job_output_key_prefix("birds", PRIVATE_JOB)
    key = f"{job_prefix}annotations/worker-response/iteration-{iteration}/{object_id}/t.json"
    world.runtime.objects.client.put_object(Bucket=TEST_SETTINGS.output_bucket, Key=key, Body=body)


def test_a_private_teams_labor_is_its_worker_time_from_the_output_at_its_hourly_rate(world: World) -> None:
    """Given a private team (1 worker) at 36 USD an hour whose answers in iterations 1 and 11 took
    1,800 s and 1,800 s, one more answer without any time and one unreadable file, when the job is
    finalized, then the untimed answer counts at the 1,800 s mean of the timed ones (docs/COST.md), so
    labor is 1.5 h x 36 USD; each iteration row carries the seconds its files reported, and the unknown
    answer and the malformed file are counted on the record instead of failing it."""
    workforce = {
        "kind": "private",
        "workteam_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/birders",
        "workers_per_object": 1,
    }
    prices = {**DEFAULT_PRICES.model_dump(), "labor_rate_usd_per_hour": "36"}
    world.store.create_job(job_record(PRIVATE_JOB, workforce=workforce, prices=prices))
    answer = {"workerId": "private.us-east-1.a", "timeSpentInSeconds": 1800, "answerContent": {}}
    put_worker_response(world, 1, 0, json.dumps({"answers": [answer]}).encode())
    put_worker_response(world, 11, 1, json.dumps({"answers": [answer, {"workerId": "b"}]}).encode())
    put_worker_response(world, 11, 2, b"{not json")
    sagemaker_reports(world, "Completed", PRIVATE_JOB, human=2, machine=0)

    finalize_job(PRIVATE_JOB, world.runtime)

    cost = stored(world, PRIVATE_JOB).cost
    assert cost is not None
    assert (cost.worker_seconds, cost.answers_time_unknown, cost.labor_cost_usd) == (
        Decimal(5400),  # 1,800 + 1,800 + the untimed answer at their 1,800 s mean
        1,
        Decimal(54),
    )
    assert cost.total_cost_usd == 2 * Decimal("0.08") + 54
    assert any("1 of 3 worker answers had no time" in note for note in cost.notes)
    assert any("1 worker-response files are malformed" in note for note in cost.notes)
    rows = stored(world, PRIVATE_JOB).iterations
    assert [(row.iteration, row.worker_seconds, row.worker_answers) for row in rows] == [
        (1, Decimal(1800), 1),
        (11, Decimal(1800), 2),
    ]


PRIVATE_WORKFORCE = {
    "kind": "private",
    "workteam_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/birders",
    "workers_per_object": 1,
}


def test_a_job_started_before_the_output_moved_under_jobs_is_read_where_its_output_manifest_is(
    world: World,
) -> None:
    """Given a private team's job whose output Ground Truth wrote under ``birds/<job>/`` (the layout
    before ``jobs/``), as DescribeLabelingJob's output manifest says, when the job is finalized, then its
    worker time is read from there."""
    world.store.create_job(job_record(PRIVATE_JOB, workforce=PRIVATE_WORKFORCE))
    earlier = f"birds/{PRIVATE_JOB}/"
    answer = {"workerId": "private.us-east-1.a", "timeSpentInSeconds": 1800, "answerContent": {}}
    put_worker_response(world, 1, 0, json.dumps({"answers": [answer]}).encode(), job_prefix=earlier)
    output_manifest = s3_uri(TEST_SETTINGS.output_bucket, f"{earlier}manifests/output/output.manifest")
    sagemaker_reports(world, "Completed", PRIVATE_JOB, human=1, machine=0, output_uri=output_manifest)

    finalize_job(PRIVATE_JOB, world.runtime)

    cost = stored(world, PRIVATE_JOB).cost
    assert cost is not None
    assert cost.worker_seconds == Decimal(1800)


def test_a_job_whose_output_may_not_be_listed_is_still_sealed_with_its_cost(world: World) -> None:
    """Given a job whose output manifest is outside ``jobs/`` (a job started before the output moved), and
    S3 refusing to list there (as the finalizing roles' ``s3:prefix`` condition ``jobs/*`` makes AWS do),
    when the job is finalized, then its record is still sealed with its cost and says why worker time is
    unknown (moto does not enforce IAM: a botocore hook answers AccessDenied as S3 would)."""
    world.store.create_job(job_record(PRIVATE_JOB, workforce=PRIVATE_WORKFORCE))
    earlier = f"birds/{PRIVATE_JOB}/"
    output_manifest = s3_uri(TEST_SETTINGS.output_bucket, f"{earlier}manifests/output/output.manifest")
    sagemaker_reports(world, "Completed", PRIVATE_JOB, human=1, machine=0, output_uri=output_manifest)

    def refuse_outside_jobs(params: dict[str, Any], **_: Any) -> None:
        if not params.get("Prefix", "").startswith("jobs/"):
            error = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
            raise ClientError({**error, "ResponseMetadata": {"HTTPStatusCode": 403}}, "ListObjectsV2")

    events = world.runtime.objects.client.meta.events
    events.register("provide-client-params.s3.ListObjectsV2", refuse_outside_jobs)
    try:
        finalize_job(PRIVATE_JOB, world.runtime)
    finally:
        events.unregister("provide-client-params.s3.ListObjectsV2", refuse_outside_jobs)

    record = stored(world, PRIVATE_JOB)
    assert record.finalized_at is not None
    assert record.cost is not None
    assert "output not parsed: worker time is unknown" in record.cost.notes
    assert any("listing refused (AccessDenied)" in note for note in record.cross_check), record.cross_check


def test_finalizing_again_returns_the_same_result_and_writes_nothing(world: World) -> None:
    recorded(world)
    sagemaker_reports_completed(world)
    first = finalize_job(JOB, world.runtime)
    sealed = stored(world)
    world.clock.advance(3600)
    world.forget_requests()

    again = finalize_job(JOB, world.runtime)  # no DescribeLabelingJob queued: SageMaker is not asked

    assert again == Finalized(first.result, sealed_now=False)
    assert world.writes() == []
    assert stored(world) == sealed


class SealedByARivalDuringDescribe(LabelingJobs):
    """DescribeLabelingJob during which another finalizer (the rival) seals the same job."""

    def __init__(self, client: Any, rival: Callable[[], Finalized]) -> None:
        super().__init__(client)
        self._rival = rival
        self.rival_finalized: Finalized | None = None

    def describe(self, job_name: str) -> LabelingJobDescription:
        if self.rival_finalized is None:
            self.rival_finalized = self._rival()
        return super().describe(job_name)


def test_of_two_racing_finalizers_exactly_one_seals_and_both_return_the_sealed_result(world: World) -> None:
    recorded(world)
    sagemaker_reports_completed(world)  # the rival's describe
    sagemaker_reports_completed(world)  # the slower finalizer's describe
    racing = SealedByARivalDuringDescribe(
        world.runtime.jobs.client, rival=lambda: finalize_job(JOB, world.runtime)
    )

    slower = finalize_job(JOB, dataclasses.replace(world.runtime, jobs=racing))

    rival = racing.rival_finalized
    assert rival is not None
    assert (rival.sealed_now, slower.sealed_now) == (True, False)
    assert slower.result == rival.result


def test_a_job_that_has_not_ended_is_not_finalized(world: World) -> None:
    before = recorded(world, watch_token="token-1")
    sagemaker_reports(world, "InProgress", human=200, unlabeled=1050)
    world.forget_requests()

    with pytest.raises(JobStillRunning, match="InProgress"):
        finalize_job(JOB, world.runtime)

    assert world.writes() == []
    assert stored(world) == before


def test_a_job_labelchain_never_recorded_is_not_finalized(world: World) -> None:
    with pytest.raises(LabelingJobNotFound, match="no LabelChain record"):
        finalize_job(JOB, world.runtime)

    assert world.writes() == []


def test_a_throttled_describe_is_transient_and_leaves_the_record_as_it_was(world: World) -> None:
    before = recorded(world)
    world.stub.add_client_error(
        "describe_labeling_job", service_error_code="ThrottlingException", http_status_code=400
    )

    with pytest.raises(TransientServiceError, match="DescribeLabelingJob refused transiently"):
        finalize_job(JOB, world.runtime)

    assert stored(world) == before


def test_finalizing_a_job_sealed_as_unknown_to_sagemaker_is_labeling_job_not_found(world: World) -> None:
    record = recorded(world)
    mark_not_found(record, "reconciler", world.runtime)

    with pytest.raises(LabelingJobNotFound):
        finalize_job(JOB, world.runtime)


def trimmed_numbers(value: Any) -> Any:
    """An item as DynamoDB returns it: numbers lose their leading and trailing zeroes ("127.0000" → "127";
    moto keeps the text it was given)."""
    if isinstance(value, dict):
        if set(value) == {"N"}:
            number = str(value["N"])
            return {"N": number.rstrip("0").rstrip(".") if "." in number else number}
        return {k: trimmed_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trimmed_numbers(v) for v in value]
    return value


def test_a_second_finalize_reports_the_cost_as_the_first_did_after_dynamodbs_round_trip(world: World) -> None:
    recorded(world)
    sagemaker_reports_completed(world)
    first = finalize_job(JOB, world.runtime)
    key = {"pk": {"S": f"JOB#{JOB}"}, "sk": {"S": "JOB"}}
    item = world.dynamodb.get_item(TableName=TEST_SETTINGS.table_name, Key=key)["Item"]
    world.dynamodb.put_item(TableName=TEST_SETTINGS.table_name, Item=trimmed_numbers(item))

    again = finalize_job(JOB, world.runtime)

    assert again.result.cost == first.result.cost


# --- Finalize: why a job did not complete -----------------------------------------------------------


def test_a_failed_job_fails_with_sagemakers_failure_reason(world: World) -> None:
    reason = "ClientError: more than 10% of the validation set failed"
    recorded(world)
    sagemaker_reports(world, "Failed", human=120, unlabeled=1130, failure_reason=reason)

    result = finalize_job(JOB, world.runtime).result

    assert (result.status, result.failure_reason) == ("Failed", reason)
    assert stored(world).failure_reason == reason


def test_a_failed_job_without_a_reason_from_sagemaker_still_has_one(world: World) -> None:
    recorded(world)
    sagemaker_reports(world, "Failed")

    assert finalize_job(JOB, world.runtime).result.failure_reason == FAILED_WITHOUT_REASON


def test_a_job_labelchain_stopped_fails_with_the_reason_it_was_stopped(world: World) -> None:
    why = "execution birds-half-a ended ABORTED (stopped by a person or an API call: StopExecution)"
    recorded(world, status="Stopping", watcher="reconciler", stop_reason=why)
    sagemaker_reports(world, "Stopped", human=120, unlabeled=1130)

    result = finalize_job(JOB, world.runtime).result

    assert (result.status, result.failure_reason, result.stop_reason) == ("Stopped", why, why)


def test_a_job_stopped_by_someone_else_says_it_was_stopped(world: World) -> None:
    recorded(world)
    sagemaker_reports(world, "Stopped")

    assert finalize_job(JOB, world.runtime).result.failure_reason == STOPPED_REASON


# --- Finalize: the model and the project's latest-model pointer -------------------------------------


def pointer_to(job: str, created_at: datetime = EXAMPLE_TIME) -> ModelPointer:
    return ModelPointer(
        project="birds",
        model_arn=model_arn(job),
        job_name=job,
        job_created_at=created_at,
        task_type="bounding_box",
        labels=["Bird"],
        label_attribute="category",
    )


def test_a_completed_jobs_model_becomes_the_projects_latest(world: World) -> None:
    recorded(world)
    sagemaker_reports_completed(world)

    result = finalize_job(JOB, world.runtime).result

    assert (result.model_outcome, result.pointer_moved) == ("trained", True)
    assert world.store.latest_model("birds") == pointer_to(JOB)
    assert world.store.model_by_arn(model_arn(JOB)) == pointer_to(JOB)


def test_a_job_that_must_not_advance_the_pointer_keeps_its_model_but_leaves_the_pointer(world: World) -> None:
    recorded(world, advance_latest_model=False)
    sagemaker_reports_completed(world)

    result = finalize_job(JOB, world.runtime).result

    assert (result.model_outcome, result.pointer_moved) == ("trained", False)
    assert world.store.latest_model("birds") is None
    assert world.store.model_by_arn(model_arn(JOB)) == pointer_to(JOB)


def test_a_job_that_did_not_complete_never_moves_the_pointer_even_with_a_model(world: World) -> None:
    recorded(world)
    sagemaker_reports(world, "Stopped", human=250, machine=600, model_arn=model_arn(JOB))

    result = finalize_job(JOB, world.runtime).result

    assert (result.model_outcome, result.pointer_moved) == ("no-model", False)
    assert world.store.latest_model("birds") is None


def test_a_completed_job_without_a_model_leaves_the_pointer_where_it_was(world: World) -> None:
    world.store.advance_latest_model(pointer_to(JOB))
    recorded(world, name=NEWER_JOB, created_at=EXAMPLE_TIME + timedelta(hours=1))
    sagemaker_reports(world, "Completed", NEWER_JOB, human=1250)

    result = finalize_job(NEWER_JOB, world.runtime).result

    assert (result.model_outcome, result.pointer_moved) == ("no-model", False)
    assert world.store.latest_model("birds") == pointer_to(JOB)


def test_an_older_job_finishing_later_does_not_replace_a_newer_jobs_model(world: World) -> None:
    newer_created = EXAMPLE_TIME + timedelta(hours=1)
    world.store.advance_latest_model(pointer_to(NEWER_JOB, newer_created))
    recorded(world)
    sagemaker_reports_completed(world)

    result = finalize_job(JOB, world.runtime).result

    assert (result.model_outcome, result.pointer_moved) == ("trained", False)
    assert world.store.latest_model("birds") == pointer_to(NEWER_JOB, newer_created)
    assert world.store.model_by_arn(model_arn(JOB)) == pointer_to(JOB)


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


def test_a_failure_after_the_job_started_sets_only_the_records_execution_error(world: World) -> None:
    counters = Counters(total_labeled=450, human_labeled=250, machine_labeled=200, unlabeled=800)
    before = recorded(world, counters=counters, watch_token="token-1")
    world.forget_requests()

    result = fail(
        world,
        {"job_name": JOB, "project": "birds", "error": {"Error": "States.Timeout", "Cause": "timed out"}},
    )

    assert world.writes() == ["UpdateItem"]  # no SageMaker call either: the Stubber has nothing queued
    assert stored(world) == before.model_copy(update={"execution_error": "States.Timeout: timed out"})
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
        failed_at=FINALIZED_AT,
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


def test_a_failed_execution_never_writes_onto_another_executions_job(world: World) -> None:
    other = recorded(world, execution_arn=f"{EXECUTION.id}-someone-else")
    stray_input = {
        "project": "birds",
        "job_name": JOB,  # an unknown field of a bad input, not a job this execution created
        "error": {"Error": "InvalidJobInput", "Cause": "job_name: unknown field"},
    }

    fail(world, stray_input)

    assert stored(world) == other
    assert stored_execution_failure(world).error == "InvalidJobInput"


def test_a_failed_triggered_execution_is_recorded_under_the_project_of_its_manifest() -> None:
    state = {"trigger": {"bucket": "b", "key": "incoming/birds/batch-1.manifest"}, "error": {}}

    assert project_of_state(state) == "birds"
    assert project_of_state({"trigger": {"key": "elsewhere/x.manifest"}}) is None
    assert project_of_state({"project": "fish"}) == "fish"


def test_a_request_botocore_refuses_is_not_retried_as_transient() -> None:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    with Stubber(sagemaker) as stub:
        stub.add_response("describe_labeling_job", describe_response(JOB, "InProgress"))

        with pytest.raises(ParamValidationError):
            LabelingJobs(sagemaker).describe("")  # LabelingJobName: at least 1 character
