"""The **LabelingJob** state machine: one Ground Truth labeling job, from request to recorded result.

::

    InputSource: {"trigger": …} (EventBridge) ─► ResolveTrigger ─► CreateJob; anything else ─► CreateJob
    CreateJob ─► WaitForJob (lambda:invoke.waitForTaskToken → WatchJob) ─► Finalize ─► JobOutcome
                    ▲ resumed by SendTaskSuccess: JobEvents (Ground Truth's state-change event),
                    │ the Reconciler (safety net for a lost event), or WatchJob itself (job already ended)
                    └ re-armed after ``wait_rearm_hours`` without news (States.Timeout → a new token)
    JobOutcome: Completed ─► JobSucceeded · Failed ─► JobFailed · Stopped ─► JobStopped
    any task error (after retries) ─► RecordFailure ─► ExecutionFailed

Standard workflow, JSONPath query language (the offline engine runs no JSONata). Nothing polls: while the
job runs, the history grows only when the wait is re-armed (4 events a day). Every task retries
Lambda's own transient errors and ``TransientServiceError`` for at least 15 minutes; CreateJob also waits
out the account's concurrent-job quota (``LabelingJobQuotaExceeded``) for up to ``create_queue_max_hours``;
every other error, domain errors included, fails fast into RecordFailure. The payload and result paths
below are the contract with the handlers in ``labelchain.handlers``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final, TypeVar

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import DeploymentConfig
from infra.functions import LabelChainFunctions
from infra.state_machine import logged_state_machine
from labelchain.core.naming import LABELING_JOB_STATE_MACHINE_SUFFIX
from labelchain.errors import RETRYABLE_ERRORS, LabelingJobQuotaExceeded


class LabelingJobStates:
    """State names of the LabelingJob state machine (what the console, logs and tests show)."""

    INPUT_SOURCE: Final = "InputSource"
    RESOLVE_TRIGGER: Final = "ResolveTrigger"
    CREATE_JOB: Final = "CreateJob"
    WAIT_FOR_JOB: Final = "WaitForJob"
    PAUSE_BEFORE_REARM: Final = "PauseBeforeRearm"
    FINALIZE: Final = "Finalize"
    JOB_OUTCOME: Final = "JobOutcome"
    JOB_SUCCEEDED: Final = "JobSucceeded"
    JOB_FAILED: Final = "JobFailed"
    JOB_STOPPED: Final = "JobStopped"
    UNKNOWN_JOB_STATUS: Final = "UnknownJobStatus"
    RECORD_FAILURE: Final = "RecordFailure"
    EXECUTION_FAILED: Final = "ExecutionFailed"


JOB_COMPLETED_STATUS: Final = "Completed"
JOB_FAILED_STATUS: Final = "Failed"
JOB_STOPPED_STATUS: Final = "Stopped"
UNKNOWN_JOB_STATUS_ERROR: Final = "UnknownLabelingJobStatus"

LAMBDA_TRANSIENT_ERRORS: Final = (
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
)
"""Lambda's own transient failures: throttling, service errors, and a function that timed out or died
(``Sandbox.Timedout``, ``Lambda.Unknown``). Every LabelChain task is idempotent, so retrying is safe
(CreateJob adopts the job it started before it timed out)."""
TRANSIENT_ERRORS: Final = (*(error.__name__ for error in RETRYABLE_ERRORS), *LAMBDA_TRANSIENT_ERRORS)
"""Errors retried with backoff; every other domain error (InvalidJobInput, ModelNotFound, ...) fails fast."""
TRANSIENT_RETRY_INTERVAL: Final = Duration.seconds(5)
TRANSIENT_RETRY_BACKOFF_RATE: Final = 2.0
TRANSIENT_RETRY_MAX_ATTEMPTS: Final = 12
TRANSIENT_RETRY_MAX_DELAY: Final = Duration.minutes(5)
MIN_TRANSIENT_RETRY_SECONDS: Final = 15 * 60
"""Transient trouble is retried for at least this long (5 s doubling to 5 min, 12 attempts: ~35 min) —
no jitter, so the floor holds for every execution."""

QUOTA_ERROR: Final = LabelingJobQuotaExceeded.__name__
QUOTA_RETRY_INTERVAL: Final = Duration.minutes(1)
QUOTA_RETRY_BACKOFF_RATE: Final = 2.0
QUOTA_RETRY_MAX_DELAY: Final = Duration.minutes(30)

LABELING_JOB_MAX_DAYS: Final = 30
EXECUTION_MARGIN: Final = Duration.days(1)
REARM_PAUSE_AFTER_TRANSIENT_FAILURE: Final = Duration.minutes(15)


def execution_timeout(create_queue_max_hours: int) -> Duration:
    """Ground Truth fails a job after 30 days; the execution outlives the longest queue wait plus that by a
    day, so it never times out (and so stops its job) while the job could still be legitimately running."""
    return Duration.hours(LABELING_JOB_MAX_DAYS * 24 + create_queue_max_hours + EXECUTION_MARGIN.to_hours())


ERROR_PATH: Final = "$.error"
"""Where a caught task error (``{"Error", "Cause"}``) is kept for RecordFailure and ExecutionFailed."""


def backoff_delays(
    interval_seconds: float, rate: float, max_delay_seconds: float, attempts: int
) -> list[float]:
    """The waits before each retry of a Step Functions retrier without jitter."""
    delays, delay = [], interval_seconds
    for _ in range(attempts):
        delays.append(min(delay, max_delay_seconds))
        delay = min(delay * rate, max_delay_seconds)
    return delays


def transient_retry_seconds() -> float:
    """How long a task keeps retrying transient errors before it gives up (no jitter: exact)."""
    return sum(
        backoff_delays(
            TRANSIENT_RETRY_INTERVAL.to_seconds(),
            TRANSIENT_RETRY_BACKOFF_RATE,
            TRANSIENT_RETRY_MAX_DELAY.to_seconds(),
            TRANSIENT_RETRY_MAX_ATTEMPTS,
        )
    )


def quota_retry_attempts(max_hours: int) -> int:
    """Enough retries of CreateJob that the waits add up to ``max_hours`` (the configurable queue limit)."""
    delays = backoff_delays(
        QUOTA_RETRY_INTERVAL.to_seconds(),
        QUOTA_RETRY_BACKOFF_RATE,
        QUOTA_RETRY_MAX_DELAY.to_seconds(),
        10_000,
    )
    total, attempts = 0.0, 0
    while total < max_hours * 3600:
        total += delays[attempts]
        attempts += 1
    return attempts


def rearm_attempts(rearm_hours: int, create_queue_max_hours: int) -> int:
    """Re-arms of WaitForJob needed to outlast the execution — the wait never gives up first."""
    return math.ceil(execution_timeout(create_queue_max_hours).to_hours() / rearm_hours) + 1


TaskT = TypeVar("TaskT", bound=sfn.TaskStateBase)


def retry_transient_errors(task: TaskT) -> TaskT:
    """Retry Lambda's transient errors and ``TransientServiceError`` with capped exponential backoff."""
    task.add_retry(
        errors=list(TRANSIENT_ERRORS),
        interval=TRANSIENT_RETRY_INTERVAL,
        backoff_rate=TRANSIENT_RETRY_BACKOFF_RATE,
        max_attempts=TRANSIENT_RETRY_MAX_ATTEMPTS,
        max_delay=TRANSIENT_RETRY_MAX_DELAY,
        jitter_strategy=sfn.JitterType.NONE,
    )
    return task


def invoke_lambda(
    scope: Construct,
    state_name: str,
    function: lambda_.IFunction,
    *,
    payload: Mapping[str, object],
    result_path: str,
    result_selector: Mapping[str, object] | None = None,
) -> tasks.LambdaInvoke:
    """A synchronous invocation returning only the handler's result. CDK's own service-exception retry is
    off: ``retry_transient_errors`` covers those errors with LabelChain's longer backoff."""
    return tasks.LambdaInvoke(
        scope,
        state_name,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        payload_response_only=True,
        retry_on_service_exceptions=False,
        result_selector=dict(result_selector) if result_selector is not None else None,
        result_path=result_path,
    )


EXECUTION_REFERENCE: Final = {"id": sfn.JsonPath.execution_id, "name": sfn.JsonPath.execution_name}
"""What every task is told about its execution."""
JOB_REFERENCE: Final = {
    "job_name": sfn.JsonPath.string_at("$.job_name"),
    "project": sfn.JsonPath.string_at("$.project"),
}
"""What WatchJob and Finalize are told about the job CreateJob started."""


class LabelingJobWorkflow(Construct):
    """The state machine and its log group; ``self.state_machine`` is what callers start."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        functions: LabelChainFunctions,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        # Failure path first: every task below catches into it.
        self._record_failure = self._record_failure_path(functions.record_failure)
        create_job = self._create_job(functions.create_job, config)
        wait_for_job = self._wait_for_job(functions.watch_job, config)
        finalize = invoke_lambda(
            self,
            LabelingJobStates.FINALIZE,
            functions.finalize_job,
            payload=JOB_REFERENCE,
            result_path="$.result",
        )
        self._catch_into_failure(retry_transient_errors(finalize))
        create_job.next(wait_for_job).next(finalize).next(self._job_outcome())

        # An EventBridge-started execution carries {"trigger": {...}} (infra/triggers.py); ResolveTrigger
        # turns it into a LabelingJob input (the project's settings + the dropped manifest) that replaces
        # the state.
        resolve_trigger = invoke_lambda(
            self,
            LabelingJobStates.RESOLVE_TRIGGER,
            functions.resolve_trigger,
            payload={"trigger": sfn.JsonPath.object_at("$.trigger"), "execution": EXECUTION_REFERENCE},
            result_path="$",
        )
        self._catch_into_failure(retry_transient_errors(resolve_trigger))
        resolve_trigger.next(create_job)
        definition = (
            sfn.Choice(self, LabelingJobStates.INPUT_SOURCE)
            .when(sfn.Condition.is_present("$.trigger"), resolve_trigger)
            .otherwise(create_job)
        )

        self.state_machine, self.log_group = logged_state_machine(
            self,
            name_suffix=LABELING_JOB_STATE_MACHINE_SUFFIX,
            comment="LabelChain: runs one SageMaker Ground Truth labeling job and records its results",
            definition=definition,
            timeout=execution_timeout(config.create_queue_max_hours),
            config=config,
            encryption_key=encryption_key,
            invokes=[
                functions.record_failure,
                functions.create_job,
                functions.watch_job,
                functions.finalize_job,
                functions.resolve_trigger,
            ],
        )

    def _record_failure_path(self, record_failure: lambda_.IFunction) -> tasks.LambdaInvoke:
        """RecordFailure ─► ExecutionFailed, failing with the original error even if recording fails."""
        states = LabelingJobStates
        task = retry_transient_errors(
            invoke_lambda(
                self,
                states.RECORD_FAILURE,
                record_failure,
                payload={"state": sfn.JsonPath.entire_payload, "execution": EXECUTION_REFERENCE},
                # The cause the execution fails with is the handler's readable message, never the Lambda
                # runtime's JSON error payload (which names the exception class and carries a stack frame).
                result_selector={"Error.$": "$.error", "Cause.$": "$.cause"},
                result_path=ERROR_PATH,
            )
        )
        execution_failed = sfn.Fail(
            self, states.EXECUTION_FAILED, error_path=f"{ERROR_PATH}.Error", cause_path=f"{ERROR_PATH}.Cause"
        )
        # If recording itself fails, still fail with the original error (kept in $.error).
        task.add_catch(execution_failed, errors=[sfn.Errors.ALL], result_path="$.record_failure_error")
        task.next(execution_failed)
        return task

    def _create_job(
        self, create_job_function: lambda_.IFunction, config: DeploymentConfig
    ) -> tasks.LambdaInvoke:
        """CreateJob, waiting out the account's concurrent-job quota."""
        create_job = invoke_lambda(
            self,
            LabelingJobStates.CREATE_JOB,
            create_job_function,
            payload={
                "input": sfn.JsonPath.entire_payload,
                "execution": {**EXECUTION_REFERENCE, "start_time": sfn.JsonPath.execution_start_time},
            },
            result_path="$",
        )
        # The account's concurrent-job quota: wait for a slot (the record says "Queued") instead of failing.
        create_job.add_retry(
            errors=[QUOTA_ERROR],
            interval=QUOTA_RETRY_INTERVAL,
            backoff_rate=QUOTA_RETRY_BACKOFF_RATE,
            max_delay=QUOTA_RETRY_MAX_DELAY,
            max_attempts=quota_retry_attempts(config.create_queue_max_hours),
            jitter_strategy=sfn.JitterType.NONE,
        )
        self._catch_into_failure(retry_transient_errors(create_job))
        return create_job

    def _wait_for_job(self, watch_job: lambda_.IFunction, config: DeploymentConfig) -> tasks.LambdaInvoke:
        """WaitForJob: WatchJob arms the task token; re-armed after ``wait_rearm_hours`` without news."""
        wait_for_job = tasks.LambdaInvoke(
            self,
            LabelingJobStates.WAIT_FOR_JOB,
            lambda_function=watch_job,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {**JOB_REFERENCE, "task_token": sfn.JsonPath.task_token, "execution": EXECUTION_REFERENCE}
            ),
            retry_on_service_exceptions=False,
            task_timeout=sfn.Timeout.duration(Duration.hours(config.wait_rearm_hours)),
            result_path="$.watch",
        )
        # No news for wait_rearm_hours: re-arm (WatchJob stores a new token and looks at the job once).
        wait_for_job.add_retry(
            errors=[sfn.Errors.TIMEOUT],
            interval=Duration.seconds(1),
            backoff_rate=1.0,
            max_attempts=rearm_attempts(config.wait_rearm_hours, config.create_queue_max_hours),
        )
        # A transient outage that outlasts the retries (≥ 35 min) must not end a healthy job's tracking:
        # pause, then arm the wait again. Only other errors go to RecordFailure.
        pause_before_rearm = sfn.Wait(
            self,
            LabelingJobStates.PAUSE_BEFORE_REARM,
            time=sfn.WaitTime.duration(REARM_PAUSE_AFTER_TRANSIENT_FAILURE),
        )
        retry_transient_errors(wait_for_job).add_catch(
            pause_before_rearm, errors=list(TRANSIENT_ERRORS), result_path="$.watch_error"
        )
        pause_before_rearm.next(wait_for_job)
        self._catch_into_failure(wait_for_job)
        return wait_for_job

    def _job_outcome(self) -> sfn.Choice:
        """JobOutcome: the execution ends as the labeling job did."""
        states = LabelingJobStates
        unknown_job_status = sfn.Fail(
            self,
            states.UNKNOWN_JOB_STATUS,
            error=UNKNOWN_JOB_STATUS_ERROR,
            cause="Finalize returned a labeling job status this workflow does not know",
        )
        return (
            sfn.Choice(self, states.JOB_OUTCOME)
            .when(
                _status_is(JOB_COMPLETED_STATUS),
                sfn.Succeed(self, states.JOB_SUCCEEDED, output_path="$.result"),
            )
            .when(
                _status_is(JOB_FAILED_STATUS),
                sfn.Fail(
                    self,
                    states.JOB_FAILED,
                    error_path="$.result.outcome_error",
                    cause_path="$.result.failure_reason",
                ),
            )
            .when(
                _status_is(JOB_STOPPED_STATUS),
                # LabelingJobStopped, or BudgetExceeded when the reconciler stopped it for its budget.
                sfn.Fail(
                    self,
                    states.JOB_STOPPED,
                    error_path="$.result.outcome_error",
                    cause_path="$.result.failure_reason",
                ),
            )
            .otherwise(unknown_job_status)
        )

    def _catch_into_failure(self, task: sfn.TaskStateBase) -> None:
        """Any error left after the task's retries goes to RecordFailure (and the execution fails)."""
        task.add_catch(self._record_failure, errors=[sfn.Errors.ALL], result_path=ERROR_PATH)


def _status_is(status: str) -> sfn.Condition:
    return sfn.Condition.string_equals("$.result.status", status)
