"""The synthesized LabelingJob state machine, executed by moto's engine with the real handlers.

SageMaker is scripted per job (every request still validated against botocore's API model); S3,
DynamoDB and Step Functions are moto. The tests decide when Ground Truth's state-change event arrives —
delivered, duplicated or lost — and what goes wrong, and read the outcome back from the execution, its
history and the table.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from labelchain.core.naming import job_name_for_execution
from labelchain.core.records import JobRecord
from labelchain.services.runtime import Runtime
from local.moto_engine import InvokedFunction, LambdaRuntimeFault
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    EXAMPLE_TIME,
    FixedClock,
    NotificationInbox,
    make_runtime,
    manifest_lines,
    put_manifest,
)
from tests.support.lifecycle import (
    deliver_execution_end,
    deliver_job_event,
    run_reconciler,
    wait_for_execution_status,
    wait_until_waiting,
)
from tests.support.output import write_bounding_box_output
from tests.support.scripted_sagemaker import JobScript, ScriptedSageMaker
from tests.workflow.harness import PROCEED, Deployment, ExecutionResult, deployed_stack

pytestmark = pytest.mark.workflow

EXAMPLE = json.loads((Path(__file__).parents[2] / "examples" / "bird-bounding-box.json").read_text())
MODEL_A = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/labelchain-run-a-model"
ITERATIONS = [(200, 0), (50, 0), (0, 600), (0, 400)]
FINAL = {"human": 250, "machine": 1000, "model_arn": MODEL_A, "modified": EXAMPLE_TIME + timedelta(hours=4)}
VENDOR = {
    "kind": "vendor",
    "workteam_arn": f"arn:aws:sagemaker:{REGION}:111122223333:workteam/vendor-crowd/bird-vendor",
    "workers_per_object": 1,
    "price_per_object_usd": "0.10",
}
"""A vendor work team: its price per human-labeled object is known while the job runs (docs/COST.md)."""


class World:
    """One test's world: the deployed stack, scripted SageMaker, the handlers' Runtime."""

    def __init__(self, deployment: Deployment, sagemaker: ScriptedSageMaker, runtime: Runtime) -> None:
        self.deployment = deployment
        self.sagemaker = sagemaker
        self.runtime = runtime
        self.s3 = boto3.client("s3", region_name=REGION)
        self.stepfunctions = boto3.client("stepfunctions", region_name=REGION)

    def job_input(self, objects: int = 1250, **overrides: Any) -> dict[str, Any]:
        uri = put_manifest(self.s3, f"birds/{objects}.manifest", manifest_lines(objects))
        return {**copy.deepcopy(EXAMPLE), "manifest": uri, **overrides}

    def job_name(self, execution_name: str) -> str:
        arn = self.deployment.labeling_job.execution_arn(execution_name)
        return job_name_for_execution(TEST_SETTINGS.resource_prefix, execution_name, arn)

    def start_and_wait_for_the_job(self, execution_name: str, **overrides: Any) -> tuple[str, str, JobRecord]:
        """Start an execution; return its ARN, its job's name and the record once WaitForJob waits."""
        arn = self.deployment.labeling_job.start(self.job_input(**overrides), execution_name)
        name = self.job_name(execution_name)
        record = wait_until_waiting(self.runtime, name)
        # WatchJob stores the token, then looks at the job once: let that look finish, so the test's
        # own change of the job's status is what the event, the reconciler or the timeout sees.
        deadline = time.monotonic() + 10
        while self.invocations_of("watch-job") == 0:
            assert time.monotonic() < deadline, "WatchJob never finished"
            time.sleep(0.01)
        return arn, name, record

    def end(self, execution_arn: str) -> ExecutionResult:
        return self.deployment.labeling_job.wait(execution_arn)

    def record(self, job_name: str) -> JobRecord:
        record = self.runtime.store.get_job(job_name)
        assert record is not None
        return record

    def invocations_of(self, function_suffix: str) -> int:
        return sum(1 for i in self.deployment.engine.invocations if i.function.name.endswith(function_suffix))


@pytest.fixture
def world() -> Iterator[World]:
    holder: dict[str, Any] = {}

    def script_for(job_name: str) -> JobScript:
        def write_output(name: str, request: dict[str, Any]) -> None:
            write_bounding_box_output(boto3.client("s3", region_name=REGION), "birds", name, ITERATIONS)

        statuses = holder.get("statuses", ["InProgress"])
        return JobScript(statuses=statuses, final=dict(FINAL), on_create=write_output)

    def build_runtime() -> Runtime:
        holder["sagemaker"] = ScriptedSageMaker(script_for)
        holder["runtime"] = make_runtime(holder["sagemaker"].client, FixedClock(EXAMPLE_TIME))
        return holder["runtime"]

    with deployed_stack(build_runtime) as deployment:
        w = World(deployment, holder["sagemaker"], holder["runtime"])
        w.holder = holder  # type: ignore[attr-defined]
        yield w


def test_ground_truths_event_resumes_the_waiting_execution_which_finalizes_the_job(world: World) -> None:
    arn, name, waiting = world.start_and_wait_for_the_job("run-event")
    assert waiting.status == "Initializing"

    world.sagemaker.set_status(name, "Completed")
    delivered = deliver_job_event(name, "Completed")
    result = world.end(arn)

    assert delivered["action"] == "resumed"
    assert result.status == "SUCCEEDED", result.cause
    # A private team without a labor rate: every labeled object pays the 0.08 USD fee, nothing else
    assert result.output["cost"]["total_usd"] == "100.0000"  # 1,250 × 0.08
    assert result.output["end_detected_by"] == "event"
    record = world.record(name)
    assert record.finalized_at is not None
    assert record.status == "Completed"
    assert record.model_outcome == "trained"
    assert record.watch_token is None
    assert [row.iteration for row in record.iterations] == [1, 2, 3, 4]
    pointer = world.runtime.store.latest_model("birds")
    assert pointer is not None
    assert pointer.model_arn == MODEL_A
    assert "Wait" not in {e["type"].removesuffix("StateEntered") for e in result.events}


def test_a_duplicated_event_changes_nothing_and_the_job_is_finalized_once(world: World) -> None:
    arn, name, _ = world.start_and_wait_for_the_job("run-duplicate")
    world.sagemaker.set_status(name, "Completed")

    first = deliver_job_event(name, "Completed")
    assert world.end(arn).status == "SUCCEEDED"
    sealed = world.record(name)
    second = deliver_job_event(name, "Completed")

    assert (first["action"], second["action"]) == ("resumed", "already-final")
    assert world.record(name) == sealed
    assert world.invocations_of("finalize-job") == 1


def test_a_lost_event_is_made_up_for_by_the_reconciler(world: World) -> None:
    arn, name, _ = world.start_and_wait_for_the_job("run-lost")
    world.sagemaker.set_status(name, "Completed")  # Ground Truth's event never arrives

    report = run_reconciler()
    result = world.end(arn)

    assert report["outcomes"] == {"resumed": 1}
    assert report["repairs"] == 1
    assert result.status == "SUCCEEDED", result.cause
    assert world.record(name).end_detected_by == "reconciler"


def test_the_reconciler_keeps_progress_and_a_running_cost_while_the_job_runs(world: World) -> None:
    arn, name, _ = world.start_and_wait_for_the_job("run-progress", workforce=VENDOR)

    report = run_reconciler()

    assert report["outcomes"] == {"progress": 1}
    record = world.record(name)
    assert record.status == "InProgress"
    assert record.counters.human_labeled == 10  # the script's running counters
    assert record.running_cost_usd == "1.8000"  # 10 × (0.08 fee + 0.10 vendor price)
    assert len(world.runtime.store.snapshots(name)) == 1
    world.sagemaker.set_status(name, "Completed")
    deliver_job_event(name, "Completed")
    assert world.end(arn).status == "SUCCEEDED"


def test_a_job_that_ended_before_the_wait_was_armed_resumes_the_execution_at_once(world: World) -> None:
    world.holder["statuses"] = ["Completed"]  # type: ignore[attr-defined]

    result = world.deployment.labeling_job.run(world.job_input(), "run-early")

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["end_detected_by"] == "watch"


def test_a_failed_job_is_finalized_and_fails_the_execution_with_sagemakers_reason(world: World) -> None:
    reason = "ClientError: More than 10% of the validation sample failed"
    arn, name, _ = world.start_and_wait_for_the_job("run-failed")
    world.sagemaker.set_status(name, "Failed")
    world.sagemaker._scripts[name].final["failure_reason"] = reason

    deliver_job_event(name, "Failed")
    result = world.end(arn)

    assert (result.status, result.error, result.cause) == ("FAILED", "LabelingJobFailed", reason)
    record = world.record(name)
    assert record.status == "Failed"
    assert record.cost is not None
    assert record.finalized_at is not None
    assert world.runtime.store.latest_model("birds") is None  # a failed job's model seeds nothing


def test_a_job_stopped_in_the_console_ends_its_execution_as_stopped_with_metrics(world: World) -> None:
    arn, name, _ = world.start_and_wait_for_the_job("run-console-stop")
    world.sagemaker.set_status(name, "Stopped")

    deliver_job_event(name, "Stopped")
    result = world.end(arn)

    assert (result.status, result.error) == ("FAILED", "LabelingJobStopped")
    record = world.record(name)
    assert record.status == "Stopped"
    assert record.cost is not None


def test_an_aborted_execution_stops_its_job_and_the_record_ends_final_with_its_cost(world: World) -> None:
    arn, name, _ = world.start_and_wait_for_the_job("run-aborted")

    world.stepfunctions.stop_execution(executionArn=arn, error="Operator", cause="wrong manifest")
    wait_for_execution_status(arn, "ABORTED")
    ended = deliver_execution_end(arn)

    assert ended["action"] == "stopped"
    assert world.sagemaker.stops == [name]
    handed_over = world.record(name)
    assert handed_over.watcher == "reconciler"
    assert handed_over.watch_token is None
    assert "ABORTED" in (handed_over.stop_reason or "")
    assert handed_over.finalized_at is None  # Stopping: final once SageMaker says Stopped

    finalized = deliver_job_event(name, "Stopped")

    assert finalized["action"] == "finalized"
    record = world.record(name)
    assert (record.status, record.finalized_at is not None) == ("Stopped", True)
    assert record.cost is not None
    assert record.failure_reason == record.stop_reason


def test_a_timed_out_execution_stops_its_job_even_when_its_end_event_is_lost(world: World) -> None:
    # The execution's 32 days (30 + the quota queue + a day) pass in about 4 real seconds: long enough for
    # CreateJob and WatchJob to arm the wait on a loaded machine, short of wait_for_execution_status' 10 s
    world.deployment.engine.execution_timeout_scale = 32 * 24 * 3600 / 4.0
    arn, name, _ = world.start_and_wait_for_the_job("run-timed-out")
    wait_for_execution_status(arn, "TIMED_OUT")
    world.deployment.engine.execution_timeout_scale = None

    report = run_reconciler()  # the "Execution Status Change" event was lost

    assert report["outcomes"] == {"stopped": 1}
    assert world.sagemaker.stops == [name]
    assert "TIMED_OUT" in (world.record(name).stop_reason or "")
    report = run_reconciler()  # the job has stopped by the next run
    assert report["outcomes"] == {"finalized": 1}
    assert world.record(name).status == "Stopped"


def test_a_create_that_times_out_after_starting_the_job_is_retried_and_adopts_it(world: World) -> None:
    def time_out_once_after_creating(function: InvokedFunction, event: Any) -> object:
        if function.name.endswith("create-job") and not world.sagemaker.created:
            from local.lambda_dispatch import dispatch_to_handler  # noqa: PLC0415

            dispatch_to_handler(function, event)  # the job is created and recorded ...
            raise LambdaRuntimeFault("Sandbox.Timedout")  # ... then the function runs out of time
        return PROCEED

    world.deployment.interceptors.append(time_out_once_after_creating)
    arn, name, _ = world.start_and_wait_for_the_job("run-timeout")
    world.sagemaker.set_status(name, "Completed")
    deliver_job_event(name, "Completed")
    result = world.end(arn)

    assert result.status == "SUCCEEDED", result.cause
    assert list(world.sagemaker.created) == [name]
    failures = [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in result.events
        if e["type"] == "LambdaFunctionFailed"
    ]
    assert failures == ["Sandbox.Timedout"]


def test_ten_minutes_of_lambda_throttling_on_finalize_are_survived(world: World) -> None:
    throttled = {"n": 0}

    def throttle(function: InvokedFunction, event: Any) -> object:
        if function.name.endswith("finalize-job") and throttled["n"] < 7:
            throttled["n"] += 1
            raise LambdaRuntimeFault("Lambda.TooManyRequestsException", "Rate exceeded")
        return PROCEED

    world.deployment.interceptors.append(throttle)
    arn, name, _ = world.start_and_wait_for_the_job("run-throttled")
    world.sagemaker.set_status(name, "Completed")
    deliver_job_event(name, "Completed")
    result = world.end(arn)

    assert result.status == "SUCCEEDED", result.cause
    waited = sum(d.seconds for d in world.deployment.engine.retries if d.state == "Finalize")
    assert waited >= 600  # 5 + 10 + 20 + 40 + 80 + 160 + 300 s of backoff: more than ten minutes


def test_a_finalize_that_fails_for_good_is_healed_by_the_reconciler(world: World) -> None:
    def finalize_always_dies(function: InvokedFunction, event: Any) -> object:
        if function.name.endswith("finalize-job"):
            raise LambdaRuntimeFault("Lambda.Unknown", "the function crashed")
        return PROCEED

    world.deployment.interceptors.append(finalize_always_dies)
    arn, name, _ = world.start_and_wait_for_the_job("run-finalize-dies")
    world.sagemaker.set_status(name, "Completed")
    deliver_job_event(name, "Completed")
    result = world.end(arn)
    assert (result.status, result.error) == ("FAILED", "Lambda.Unknown")
    assert world.record(name).finalized_at is None

    report = run_reconciler()  # the execution is gone: the reconciler finalizes the ended job itself

    assert report["outcomes"] == {"finalized": 1}
    record = world.record(name)
    assert (record.status, record.model_outcome) == ("Completed", "trained")
    assert record.cost is not None
    pointer = world.runtime.store.latest_model("birds")
    assert pointer is not None
    assert pointer.model_arn == MODEL_A


def test_a_job_over_its_budget_is_stopped_and_its_execution_ends_budget_exceeded(world: World) -> None:
    inbox = NotificationInbox()
    arn = world.deployment.labeling_job.start(world.job_input(budget_usd="0.50"), "run-budget")
    name = world.job_name("run-budget")
    wait_until_waiting(world.runtime, name)

    report = run_reconciler()  # 10 objects labeled by the private team: 10 × 0.08 fee = 0.80 USD
    assert report["outcomes"] == {"budget-stopped": 1}
    assert world.sagemaker.stops == [name]
    deliver_job_event(name, "Stopped")
    result = world.end(arn)

    assert (result.status, result.error) == ("FAILED", "BudgetExceeded")
    assert "0.80 USD reached the job's budget of 0.50 USD" in (result.cause or "")
    record = world.record(name)
    assert (record.status, record.budget_usd) == ("Stopped", "0.50")
    assert record.cost is not None
    assert run_reconciler()["outcomes"] == {}  # final: nothing left to watch, nothing stopped twice
    assert inbox.detail_types(name) == [
        "LabelChain Job Started",
        "LabelChain Job Budget Exceeded",
        "LabelChain Job Stopped",
    ]


def test_a_job_nearing_its_budget_is_warned_about_once(world: World) -> None:
    inbox = NotificationInbox()
    arn, name, _ = world.start_and_wait_for_the_job("run-budget-warning", budget_usd="0.85")

    first, second = run_reconciler(), run_reconciler()  # 0.80 (10 × 0.08) of 0.85 USD: 94 %

    assert (first["outcomes"], second["outcomes"]) == ({"budget-warning": 1}, {"progress": 1})
    (warning,) = [e for e in inbox.received() if e["detail-type"] == "LabelChain Job Budget Warning"]
    assert warning["detail"]["budget_usd"] == "0.85"
    assert warning["detail"]["cost_usd"] == "0.8000"
    assert "94%" in warning["detail"]["reason"]
    world.sagemaker.set_status(name, "Completed")
    deliver_job_event(name, "Completed")
    assert world.end(arn).status == "SUCCEEDED"
    assert inbox.detail_types(name)[-1] == "LabelChain Job Completed"


def test_a_thirty_day_job_keeps_its_execution_history_far_below_the_limit(world: World) -> None:
    """30 daily re-arms of WaitForJob (each a States.Timeout, a retry and one WatchJob look), then the
    job's end: the whole history of a 30-day job, measured on the synthesized definition."""
    day = 24 * 3600
    world.deployment.engine.timeout_scale = day / 0.3  # a day without news passes in 0.3 s
    arn, name, _ = world.start_and_wait_for_the_job("run-thirty-days")
    deadline = time.monotonic() + 30
    while world.invocations_of("watch-job") < 31:  # the first arming and 30 re-arms
        assert time.monotonic() < deadline, "WaitForJob did not re-arm 30 times"
        time.sleep(0.01)
    world.deployment.engine.timeout_scale = None
    world.sagemaker.set_status(name, "Completed")

    # The event, or the re-arm still running on the compressed timeout: either resumes the execution.
    assert deliver_job_event(name, "Completed")["action"] in {"resumed", "execution-not-waiting-yet"}
    result = world.end(arn)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    rearms = [e for e in result.events if e["type"] == "TaskTimedOut"]
    assert len(rearms) >= 30
    assert len(result.events) <= 1_000  # the target for a whole 30-day job (limit: 25,000)
    per_rearm = (len(result.events) - 30) / len(rearms)  # ≈ 5 events a day, everything else is fixed
    assert per_rearm <= 60  # the steady-state target: ≤ 60 events per job-day
