"""Specification of the rules every watcher of a labeling job shares: WatchJob (the execution's wait),
JobEvents (Ground Truth's state-change event), ExecutionEnded (an execution that ended early) and the
reconciler (the safety net). Whoever sees a job's end first resumes the waiting execution or, when none
waits, finalizes the job; a job whose execution is gone is stopped (or adopted, by policy).

moto gives S3, DynamoDB and Step Functions (its executions stay RUNNING until stopped); SageMaker is a
botocore Stubber, so every request is validated against the API model and a call nobody queued a
response for fails the test. Where the exact Step Functions request or error matters (SendTaskSuccess,
stale tokens), a Stubber answers on the Step Functions client instead of moto.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from labelchain.adapters.sagemaker import LabelingJobs
from labelchain.adapters.store import JobStore
from labelchain.core.experiment import child_execution_name
from labelchain.core.naming import (
    EXPERIMENT_STATE_MACHINE_SUFFIX,
    LABELING_JOB_STATE_MACHINE_SUFFIX,
    job_name_for_execution,
    labeling_job_arn,
    state_machine_name,
)
from labelchain.core.records import Counters, JobRecord, ProgressSnapshot
from labelchain.errors import JobNameConflict, LabelingJobQuotaExceeded
from labelchain.services.create_job import create_labeling_job
from labelchain.services.events import CreateJobEvent, ExecutionRef, WatchJobEvent
from labelchain.services.execution_ended import ExecutionStatusChange, handle_execution_ended
from labelchain.services.job_events import JOB_STATE_CHANGE, JobStateChange, handle_job_state_change
from labelchain.services.reconcile import reconcile
from labelchain.services.runtime import Runtime
from labelchain.services.watch_job import watch_job
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    EXAMPLE_TIME,
    FixedClock,
    bird_job_record,
    create_state_machine,
    describe_response,
    execution_arn,
    make_runtime,
    manifest_lines,
    moto_account,
    put_manifest,
)

NOW = EXAMPLE_TIME + timedelta(hours=5)
ENDED_AT = EXAMPLE_TIME + timedelta(hours=4)
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAe1N4dm9rZW4tMQ=="
ABORTED_REASON = "execution birds-half-a ended ABORTED (stopped by a person or an API call: StopExecution)"


def labeling_job_execution(name: str) -> str:
    return execution_arn(LABELING_JOB_STATE_MACHINE_SUFFIX, name)


def job_of(execution_name: str) -> str:
    """The job name LabelChain derives from a LabelingJob execution."""
    arn = labeling_job_execution(execution_name)
    return job_name_for_execution(TEST_SETTINGS.resource_prefix, execution_name, arn)


JOB = job_of("birds-half-a")


@dataclass
class World:
    runtime: Runtime
    stub: Stubber
    stepfunctions: Any
    s3: Any
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def store(self) -> JobStore:
        return self.runtime.store

    def adopting(self) -> Runtime:
        """The runtime of a deployment whose ``on_execution_failure`` policy is ``adopt``."""
        settings = TEST_SETTINGS.model_copy(update={"on_execution_failure": "adopt"})
        return dataclasses.replace(self.runtime, settings=settings)

    def record(self, execution_name: str = "birds-half-a", **changes: Any) -> JobRecord:
        """Record the job of a LabelingJob execution (running in SageMaker unless ``changes`` say)."""
        job = job_of(execution_name)
        values: dict[str, Any] = {
            "job_name": job,
            "execution_arn": labeling_job_execution(execution_name),
            "job_arn": labeling_job_arn(REGION, ACCOUNT, job),
            "status": "InProgress",
        }
        record = bird_job_record(**{**values, **changes})
        assert self.store.create_job(record)
        return record

    def stored(self, job: str = JOB) -> JobRecord:
        record = self.store.get_job(job)
        assert record is not None
        return record

    def active(self) -> list[str]:
        return sorted(record.job_name for record in self.store.active_jobs())

    def start_execution(self, name: str) -> str:
        """A LabelingJob execution that runs (moto keeps it RUNNING until it is stopped)."""
        machine = labeling_job_execution(name).replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        return str(self.stepfunctions.start_execution(stateMachineArn=machine, name=name)["executionArn"])

    def sagemaker_reports(self, status: str, job: str = JOB, **details: Any) -> None:
        details.setdefault("modified", ENDED_AT if status in {"Completed", "Failed", "Stopped"} else NOW)
        self.stub.add_response(
            "describe_labeling_job", describe_response(job, status, **details), {"LabelingJobName": job}
        )

    def sagemaker_does_not_know(self, job: str = JOB, code: str = "ResourceNotFound") -> None:
        self.stub.add_client_error(
            "describe_labeling_job",
            service_error_code=code,
            http_status_code=400,
            expected_params={"LabelingJobName": job},
        )

    def sagemaker_stops(self, job: str = JOB) -> None:
        self.stub.add_response("stop_labeling_job", {}, {"LabelingJobName": job})

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.requests if name == operation]

    @contextmanager
    def stubbed_stepfunctions(self) -> Iterator[Stubber]:
        """Step Functions answered by a Stubber (exact requests, stale-token errors) instead of moto."""
        with Stubber(self.stepfunctions) as stub:
            yield stub
            stub.assert_no_pending_responses()


@pytest.fixture
def world() -> Iterator[World]:
    with moto_account() as (s3, dynamodb, sagemaker):
        stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        create_state_machine(stepfunctions, LABELING_JOB_STATE_MACHINE_SUFFIX)
        create_state_machine(stepfunctions, EXPERIMENT_STATE_MACHINE_SUFFIX)
        runtime = make_runtime(
            sagemaker, FixedClock(NOW), s3=s3, dynamodb=dynamodb, stepfunctions=stepfunctions
        )
        requests: list[tuple[str, dict[str, Any]]] = []

        def record_request(model: Any, params: dict[str, Any], **_: Any) -> None:
            requests.append((model.name, dict(params)))

        for client in (stepfunctions, sagemaker):
            client.meta.events.register("provide-client-params.*.*", record_request)
        with Stubber(sagemaker) as stub:
            yield World(runtime, stub, stepfunctions, s3, requests)
            stub.assert_no_pending_responses()


def job_ended_payload(status: str, detected_by: str, job: str = JOB) -> dict[str, str]:
    return {"job_name": job, "status": status, "detected_by": detected_by, "detected_at": NOW.isoformat()}


def sent_output(world: World) -> dict[str, Any]:
    (request,) = world.calls("SendTaskSuccess")
    output: dict[str, Any] = json.loads(request["output"])
    return output


# --- WatchJob: the execution arms its wait ----------------------------------------------------------


def watch_event(execution_name: str = "birds-half-a", job: str = JOB) -> WatchJobEvent:
    execution = ExecutionRef(id=labeling_job_execution(execution_name), name=execution_name)
    return WatchJobEvent(job_name=job, project="birds", task_token=TOKEN, execution=execution)


def test_watching_a_running_job_stores_the_token_on_its_record_and_waits(world: World) -> None:
    world.record()
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)

    result = watch_job(watch_event(), world.runtime)

    assert (result.status, result.resumed) == ("InProgress", False)
    assert (world.stored().watch_token, world.stored().watcher) == (TOKEN, "execution")
    assert world.calls("SendTaskSuccess") == []


def test_another_execution_cannot_watch_the_job_and_stores_no_token(world: World) -> None:
    record = world.record()
    intruder = watch_event(execution_name="birds-half-a-retry", job=JOB)

    with pytest.raises(JobNameConflict, match=record.execution_arn):
        watch_job(intruder, world.runtime)

    assert world.stored() == record  # and no SageMaker call: nothing is queued on the Stubber


def test_watching_a_job_that_already_ended_resumes_the_execution_at_once(world: World) -> None:
    world.record()
    world.sagemaker_reports("Completed", human=250, machine=1000)

    with world.stubbed_stepfunctions() as stepfunctions:
        stepfunctions.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": ANY})
        result = watch_job(watch_event(), world.runtime)

    assert (result.status, result.resumed) == ("Completed", True)
    assert sent_output(world) == job_ended_payload("Completed", "watch")
    record = world.stored()
    assert (record.end_detected_by, record.end_detected_at) == ("watch", NOW)
    assert record.finalized_at is None  # the resumed execution's Finalize seals it


# --- JobEvents: Ground Truth says a job changed -----------------------------------------------------


def state_change(job: str, status: str) -> JobStateChange:
    return JobStateChange.model_validate(
        {
            "version": "0",
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": JOB_STATE_CHANGE,
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [labeling_job_arn(REGION, ACCOUNT, job)],
            "detail": {"LabelingJobStatus": status},
        }
    )


def test_an_event_for_another_deployments_job_is_not_ours(world: World) -> None:
    result, finalized = handle_job_state_change(state_change("otherapp-birds-1", "Completed"), world.runtime)

    assert (result.action, result.job_name, finalized) == ("not-ours", "otherapp-birds-1", None)


def test_an_event_for_a_job_labelchain_never_recorded_is_ignored(world: World) -> None:
    result, finalized = handle_job_state_change(state_change(JOB, "Completed"), world.runtime)

    assert (result.action, finalized) == ("unknown-job", None)
    assert world.store.get_job(JOB) is None


def test_an_event_for_a_job_already_final_changes_nothing(world: World) -> None:
    record = world.record(status="Completed")
    final = record.model_copy(update={"finalized_at": ENDED_AT})
    world.store.seal_job(final)

    result, finalized = handle_job_state_change(state_change(JOB, "Completed"), world.runtime)

    assert (result.action, finalized) == ("already-final", None)
    assert world.stored() == final


def test_an_early_completed_event_moves_only_the_status_while_sagemaker_says_the_job_runs(
    world: World,
) -> None:
    record = world.record(status="Initializing", watch_token=TOKEN)
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)

    result, finalized = handle_job_state_change(state_change(JOB, "Completed"), world.runtime)

    assert (result.action, result.event_status, finalized) == ("progress", "Completed", None)
    assert world.stored() == record.model_copy(update={"status": "InProgress"})
    assert world.store.snapshots(JOB) == []
    assert world.calls("SendTaskSuccess") == []


def test_an_ended_job_resumes_its_waiting_execution_with_the_job_ended_payload(world: World) -> None:
    world.record(watch_token=TOKEN)
    world.sagemaker_reports("Completed", human=250, machine=1000)

    with world.stubbed_stepfunctions() as stepfunctions:
        stepfunctions.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": ANY})
        result, finalized = handle_job_state_change(state_change(JOB, "Completed"), world.runtime)

    assert (result.action, finalized) == ("resumed", None)
    assert sent_output(world) == job_ended_payload("Completed", "event")
    record = world.stored()
    assert (record.end_detected_by, record.end_detected_at, record.finalized_at) == ("event", NOW, None)


def test_an_ended_job_whose_execution_is_gone_is_finalized_by_the_event(world: World) -> None:
    record = world.record(watch_token=TOKEN)
    world.sagemaker_reports("Completed", human=250, machine=1000)  # the event handler's look
    world.sagemaker_reports("Completed", human=250, machine=1000)  # Finalize's

    with world.stubbed_stepfunctions() as stepfunctions:
        stepfunctions.add_client_error("send_task_success", "TaskTimedOut", http_status_code=400)
        stepfunctions.add_response(
            "describe_execution",
            {
                "executionArn": record.execution_arn,
                "stateMachineArn": record.execution_arn.replace(":execution:", ":stateMachine:").rsplit(
                    ":", 1
                )[0],
                "status": "ABORTED",
                "startDate": EXAMPLE_TIME,
            },
            {"executionArn": record.execution_arn},
        )
        result, finalized = handle_job_state_change(state_change(JOB, "Completed"), world.runtime)

    assert result.action == "finalized"
    assert finalized is not None
    assert (finalized.sealed_now, finalized.result.status) == (True, "Completed")
    sealed = world.stored()
    assert (sealed.finalized_at, sealed.end_detected_by, sealed.watch_token) == (NOW, "event", None)
    assert world.active() == []


# --- ExecutionEnded: an execution that ends early takes its job with it ------------------------------


def execution_status_change(
    arn: str,
    status: str,
    *,
    machine: str = LABELING_JOB_STATE_MACHINE_SUFFIX,
    error: str | None = None,
    cause: str | None = None,
) -> ExecutionStatusChange:
    """Step Functions' "Execution Status Change" event as EventBridge delivers it."""
    machine_name = state_machine_name(TEST_SETTINGS.resource_prefix, machine)
    detail: dict[str, Any] = {
        "executionArn": arn,
        "stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine_name}",
        "name": arn.rsplit(":", 1)[-1],
        "status": status,
        "startDate": int(EXAMPLE_TIME.timestamp() * 1000),
        "stopDate": int(NOW.timestamp() * 1000),
        "input": "{}",
        "output": None,
    }
    if error is not None:
        detail.update(error=error, cause=cause)
    return ExecutionStatusChange.model_validate(
        {
            "version": "0",
            "id": "315c1398-40ff-a850-213b-158f73e60175",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": ACCOUNT,
            "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [arn],
            "detail": detail,
        }
    )


def test_an_aborted_execution_stops_its_job_and_hands_it_to_the_reconciler(world: World) -> None:
    record = world.record(watch_token=TOKEN)
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)
    world.sagemaker_stops()

    result, finalized = handle_execution_ended(
        execution_status_change(record.execution_arn, "ABORTED"), world.runtime
    )

    assert (result.action, result.job_name, finalized) == ("stopped", JOB, None)
    stopped = world.stored()
    assert (stopped.watcher, stopped.watch_token, stopped.stop_reason) == ("reconciler", None, ABORTED_REASON)
    assert stopped.repairs == [f"{NOW.isoformat()}: stopped ({ABORTED_REASON})"]
    assert world.active() == [JOB]  # the reconciler finalizes it once SageMaker says Stopped


def test_a_failed_execution_under_the_adopt_policy_leaves_its_job_running_for_the_reconciler(
    world: World,
) -> None:
    record = world.record(watch_token=TOKEN)
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)  # and no StopLabelingJob queued

    result, _ = handle_execution_ended(
        execution_status_change(record.execution_arn, "FAILED", error="States.TaskFailed", cause="boom"),
        world.adopting(),
    )

    assert result.action == "adopted"
    adopted = world.stored()
    assert (adopted.watcher, adopted.watch_token, adopted.stop_reason) == ("reconciler", None, None)
    assert len(adopted.repairs) == 1
    assert (
        "adopted by the reconciler (execution birds-half-a ended FAILED with States.TaskFailed: boom)"
        in (adopted.repairs[0])
    )
    assert world.active() == [JOB]


def test_a_timed_out_execution_stops_its_job_even_under_the_adopt_policy(world: World) -> None:
    record = world.record(watch_token=TOKEN)
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)
    world.sagemaker_stops()

    result, _ = handle_execution_ended(
        execution_status_change(record.execution_arn, "TIMED_OUT"), world.adopting()
    )

    assert result.action == "stopped"
    assert world.stored().stop_reason == "execution birds-half-a ended TIMED_OUT"


def test_a_queued_job_whose_execution_ended_never_starts(world: World) -> None:
    record = world.record(status="Queued", job_arn=None, queued_since=EXAMPLE_TIME, queue_attempts=3)
    world.sagemaker_does_not_know()  # the one look: no create got through

    result, finalized = handle_execution_ended(
        execution_status_change(record.execution_arn, "ABORTED"), world.runtime
    )

    assert (result.action, finalized) == ("not-started", None)
    never_started = world.stored()
    assert (never_started.status, never_started.finalized_at) == ("NotStarted", NOW)
    assert never_started.stop_reason == ABORTED_REASON
    assert world.active() == []


class EndedWhileCreating(LabelingJobs):
    """CreateLabelingJob succeeds, and the execution's "ABORTED" event is handled before CreateJob goes on
    (an operator stops a long-queued execution during the one CreateJob attempt that gets a slot)."""

    def __init__(self, client: Any, runtime: Runtime, event: ExecutionStatusChange) -> None:
        super().__init__(client)
        self._runtime = runtime
        self._event = event

    def create(self, request: dict[str, Any]) -> str:
        job_arn = super().create(request)
        handle_execution_ended(self._event, self._runtime)
        return job_arn


def test_a_queued_job_that_starts_as_its_execution_ends_is_not_left_running_untracked(world: World) -> None:
    example = json.loads((Path(__file__).parents[2] / "examples" / "bird-bounding-box.json").read_text())
    manifest = put_manifest(world.s3, "birds/half-a.manifest", manifest_lines(1250))
    arn = labeling_job_execution("birds-half-a")
    create = CreateJobEvent(
        input={**example, "manifest": manifest}, execution=ExecutionRef(id=arn, name="birds-half-a")
    )
    world.stub.add_client_error("create_labeling_job", "ResourceLimitExceeded", http_status_code=400)
    with pytest.raises(LabelingJobQuotaExceeded):
        create_labeling_job(create, world.runtime)
    world.stub.add_response("create_labeling_job", {"LabelingJobArn": labeling_job_arn(REGION, ACCOUNT, JOB)})
    racing = EndedWhileCreating(
        world.runtime.jobs.client, world.runtime, execution_status_change(arn, "ABORTED")
    )
    world.sagemaker_reports("InProgress")  # ExecutionEnded looks: the job got its slot after all …
    world.sagemaker_reports("InProgress")  # … so it is taken over like any other
    world.sagemaker_stops()

    create_labeling_job(create, dataclasses.replace(world.runtime, jobs=racing))

    assert JOB in world.active() or world.calls("StopLabelingJob"), (
        "the started job is neither tracked nor stopped"
    )


def test_a_job_that_ended_before_its_execution_did_is_finalized(world: World) -> None:
    record = world.record(watch_token=TOKEN)
    world.sagemaker_reports("Completed", human=250, machine=1000)  # ExecutionEnded's look
    world.sagemaker_reports("Completed", human=250, machine=1000)  # Finalize's (no StopLabelingJob)

    result, finalized = handle_execution_ended(
        execution_status_change(record.execution_arn, "ABORTED"), world.runtime
    )

    assert result.action == "finalized"
    assert finalized is not None
    assert (finalized.sealed_now, finalized.result.status) == (True, "Completed")
    sealed = world.stored()
    assert (sealed.status, sealed.finalized_at, sealed.watcher) == ("Completed", NOW, "reconciler")


def test_an_ended_experiment_stops_its_child_executions_that_still_run(world: World) -> None:
    experiment = execution_arn(EXPERIMENT_STATE_MACHINE_SUFFIX, "birds-experiment")
    initial, pretrained, control = (
        world.start_execution(child_execution_name("birds-experiment", experiment, role))
        for role in ("initial", "pretrained", "control")
    )
    unrelated = world.start_execution("birds-experiment-control")  # a person's own execution of that name
    world.stepfunctions.stop_execution(executionArn=initial)  # the first stage was already over
    world.requests.clear()

    result, _ = handle_execution_ended(
        execution_status_change(experiment, "ABORTED", machine=EXPERIMENT_STATE_MACHINE_SUFFIX), world.runtime
    )

    assert (result.action, result.stopped_children) == ("children-stopped", [pretrained, control])
    stops = world.calls("StopExecution")
    assert [stop["executionArn"] for stop in stops] == [pretrained, control]
    assert {stop["error"] for stop in stops} == {"ExperimentStopped"}
    assert all("execution birds-experiment ended ABORTED" in stop["cause"] for stop in stops)
    statuses = [world.runtime.executions.status(arn) for arn in (initial, pretrained, control, unrelated)]
    assert statuses == ["ABORTED", "ABORTED", "ABORTED", "RUNNING"]


# --- the reconciler ---------------------------------------------------------------------------------


def test_a_running_job_gets_a_progress_snapshot_and_a_running_cost(world: World) -> None:
    arn = world.start_execution("birds-half-a")
    world.record(execution_arn=arn, watch_token=TOKEN)
    counters = Counters(total_labeled=200, human_labeled=200, unlabeled=1050)
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)

    run = reconcile(world.runtime, max_workers=1)

    assert (run.report.jobs, run.report.outcomes, run.report.repairs) == (1, {"progress": 1}, 0)
    assert world.store.snapshots(JOB) == [
        ProgressSnapshot(
            job_name=JOB,
            taken_at=NOW,
            status="InProgress",
            counters=counters,
            poll=0,
            next_wait_seconds=TEST_SETTINGS.reconcile_interval_minutes * 60,
        )
    ]
    record = world.stored()
    assert (record.status, record.counters, record.progress_at) == ("InProgress", counters, NOW)
    assert record.running_cost_usd == "37.6000"  # 200 × (0.08 + 3 × 0.036)
    assert world.runtime.executions.status(arn) == "RUNNING"


def test_a_running_job_whose_execution_ended_is_stopped(world: World) -> None:
    arn = world.start_execution("birds-half-a")
    world.stepfunctions.stop_execution(executionArn=arn)  # its "Execution Status Change" event was lost
    world.record(execution_arn=arn, watch_token=TOKEN)
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)  # the reconciler's look
    world.sagemaker_reports("InProgress", human=200, unlabeled=1050)  # take-over's look
    world.sagemaker_stops()

    run = reconcile(world.runtime, max_workers=1)

    assert (run.report.outcomes, run.report.repairs) == ({"stopped": 1}, 1)
    stopped = world.stored()
    assert (stopped.watcher, stopped.watch_token) == ("reconciler", None)
    assert stopped.stop_reason == "reconciler: execution birds-half-a is ABORTED while its job runs"


def test_a_job_sagemaker_does_not_know_three_runs_in_a_row_is_sealed_as_not_found(world: World) -> None:
    world.record()
    for _ in range(3):
        world.sagemaker_does_not_know()

    first, second, third = (reconcile(world.runtime, max_workers=1) for _ in range(3))

    # A job just created may not be visible yet: one miss is not enough to give up on it.
    assert [run.report.outcomes for run in (first, second)] == [{"not-found-yet": 1}] * 2
    assert (third.report.outcomes, third.report.repairs) == ({"unknown-job": 1}, 1)
    record = world.stored()
    assert (record.status, record.finalized_at) == ("NotFoundInSageMaker", NOW)
    assert record.repairs == [
        f"{NOW.isoformat()}: SageMaker does not know this job (reconciler, 3 runs in a row)"
    ]
    assert world.active() == []


def test_one_jobs_transient_error_is_counted_and_the_other_jobs_are_still_handled(world: World) -> None:
    throttled = world.record("birds-throttled")
    running = world.record("birds-running", watcher="reconciler")
    ended = world.record("birds-ended", watcher="reconciler")
    for record in world.store.active_jobs():  # the order the reconciler reads them in (one worker)
        if record.job_name == throttled.job_name:
            world.sagemaker_does_not_know(throttled.job_name, code="ThrottlingException")
        elif record.job_name == running.job_name:
            world.sagemaker_reports("InProgress", running.job_name, human=200, unlabeled=1050)
        else:
            world.sagemaker_reports("Completed", ended.job_name, human=250, machine=1000)
            world.sagemaker_reports("Completed", ended.job_name, human=250, machine=1000)

    run = reconcile(world.runtime, max_workers=1)

    report = run.report
    assert (report.jobs, report.errors, report.repairs) == (3, 1, 1)
    assert report.outcomes == {"error": 1, "finalized": 1, "progress": 1}
    (error,) = [outcome for outcome in run.outcomes if outcome.action == "error"]
    assert error.job_name == throttled.job_name
    assert error.error is not None
    assert error.error.startswith("TransientServiceError: SageMaker DescribeLabelingJob")
    assert [finalized.result.job_name for finalized in run.sealed] == [ended.job_name]
    assert world.stored(throttled.job_name) == throttled
    assert world.active() == sorted([throttled.job_name, running.job_name])


def test_the_clients_pool_holds_a_connection_for_every_reconciler_worker() -> None:
    from labelchain.services.reconcile import MAX_WORKERS  # noqa: PLC0415
    from labelchain.settings import BOTO_MAX_POOL_CONNECTIONS  # noqa: PLC0415

    assert BOTO_MAX_POOL_CONNECTIONS >= MAX_WORKERS
