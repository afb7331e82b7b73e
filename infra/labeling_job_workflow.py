"""The **LabelingJob** state machine: one Ground Truth labeling job, from request to recorded result.

::

    InputSource: {"trigger": …} (EventBridge) ─► ResolveTrigger ─► CreateJob; anything else ─► CreateJob
    CreateJob ─► WaitForProgress ─► PollJob ─► JobStatus
                      ▲                          │ Initializing | InProgress | Stopping ─► WaitForProgress
                      └──────────────────────────┤ Completed ─► ExtractModel ─► RecordMetrics ─► JobOutcome
                                                 │ Failed | Stopped ─────────► RecordMetrics ─► JobOutcome
                                                 └ anything else ─► UnknownJobStatus (Fail)
    JobOutcome: Completed ─► JobSucceeded · Failed ─► JobFailed · Stopped ─► JobStopped
    any task error (after retries) ─► RecordFailure ─► ExecutionFailed

Standard workflow, JSONPath query language (the offline engine runs no JSONata). Every task keeps CDK's
retry of Lambda service exceptions and adds a backoff retry of throttling and ``TransientServiceError``;
every other error, domain errors included, fails fast into RecordFailure. The wait between polls comes
from PollJob (``$.poll.wait_seconds``), so a 30-day job fits one execution's 25,000-event history.

The payload and result paths below are the contract with the handlers in ``labelchain.handlers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import DeploymentConfig
from infra.functions import LabelChainFunctions
from infra.state_machine import logged_state_machine
from labelchain.errors import RETRYABLE_ERRORS


class LabelingJobStates:
    """State names of the LabelingJob state machine (what the console, logs and tests show)."""

    INPUT_SOURCE: Final = "InputSource"
    RESOLVE_TRIGGER: Final = "ResolveTrigger"
    CREATE_JOB: Final = "CreateJob"
    WAIT_FOR_PROGRESS: Final = "WaitForProgress"
    POLL_JOB: Final = "PollJob"
    JOB_STATUS: Final = "JobStatus"
    EXTRACT_MODEL: Final = "ExtractModel"
    RECORD_METRICS: Final = "RecordMetrics"
    JOB_OUTCOME: Final = "JobOutcome"
    JOB_SUCCEEDED: Final = "JobSucceeded"
    JOB_FAILED: Final = "JobFailed"
    JOB_STOPPED: Final = "JobStopped"
    UNKNOWN_JOB_STATUS: Final = "UnknownJobStatus"
    RECORD_FAILURE: Final = "RecordFailure"
    EXECUTION_FAILED: Final = "ExecutionFailed"


JOB_STILL_RUNNING_STATUSES: Final = ("Initializing", "InProgress", "Stopping")
JOB_COMPLETED_STATUS: Final = "Completed"
JOB_FAILED_STATUS: Final = "Failed"
JOB_STOPPED_STATUS: Final = "Stopped"
LABELING_JOB_STATUSES: Final = (
    *JOB_STILL_RUNNING_STATUSES,
    JOB_COMPLETED_STATUS,
    JOB_FAILED_STATUS,
    JOB_STOPPED_STATUS,
)
"""Every ``LabelingJobStatus`` SageMaker documents; the JobStatus choice routes each one explicitly."""

LABELING_JOB_FAILED_ERROR: Final = "LabelingJobFailed"
LABELING_JOB_STOPPED_ERROR: Final = "LabelingJobStopped"
UNKNOWN_JOB_STATUS_ERROR: Final = "UnknownLabelingJobStatus"

TRANSIENT_ERRORS: Final = (*(error.__name__ for error in RETRYABLE_ERRORS), "Lambda.TooManyRequestsException")
"""Errors retried with backoff: ``labelchain.errors.RETRYABLE_ERRORS`` (``TransientServiceError``) and Lambda
throttling. Every other domain error (InvalidJobInput, ModelNotFound, ...) fails fast, never retried."""
TRANSIENT_RETRY_INTERVAL: Final = Duration.seconds(2)
TRANSIENT_RETRY_BACKOFF_RATE: Final = 2.0
TRANSIENT_RETRY_MAX_ATTEMPTS: Final = 6
TRANSIENT_RETRY_MAX_DELAY: Final = Duration.seconds(60)

EXECUTION_TIMEOUT: Final = Duration.days(31)
"""Ground Truth fails a labeling job after 30 days; the execution outlives it by a day to record that."""

ERROR_PATH: Final = "$.error"
"""Where a caught task error (``{"Error", "Cause"}``) is kept for RecordFailure and ExecutionFailed."""


def retry_transient_errors(task: tasks.LambdaInvoke) -> tasks.LambdaInvoke:
    """Retry throttling and ``TransientServiceError`` with capped, jittered exponential backoff."""
    task.add_retry(
        errors=list(TRANSIENT_ERRORS),
        interval=TRANSIENT_RETRY_INTERVAL,
        backoff_rate=TRANSIENT_RETRY_BACKOFF_RATE,
        max_attempts=TRANSIENT_RETRY_MAX_ATTEMPTS,
        max_delay=TRANSIENT_RETRY_MAX_DELAY,
        jitter_strategy=sfn.JitterType.FULL,
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
    """A synchronous invocation returning only the handler's result (CDK keeps its service retry)."""
    return tasks.LambdaInvoke(
        scope,
        state_name,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(dict(payload)),
        payload_response_only=True,
        result_selector=dict(result_selector) if result_selector is not None else None,
        result_path=result_path,
    )


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
        states = LabelingJobStates

        # Failure path first: every task below catches into it.
        self._record_failure = retry_transient_errors(
            invoke_lambda(
                self,
                states.RECORD_FAILURE,
                functions.record_failure,
                payload={
                    "state": sfn.JsonPath.entire_payload,
                    "execution": {"id": sfn.JsonPath.execution_id, "name": sfn.JsonPath.execution_name},
                },
                result_path="$.recorded",
            )
        )
        execution_failed = sfn.Fail(
            self, states.EXECUTION_FAILED, error_path=f"{ERROR_PATH}.Error", cause_path=f"{ERROR_PATH}.Cause"
        )
        # If recording itself fails, still fail with the original error (kept in $.error).
        self._record_failure.add_catch(
            execution_failed, errors=[sfn.Errors.ALL], result_path="$.record_failure_error"
        )
        self._record_failure.next(execution_failed)

        create_job = self._step(
            states.CREATE_JOB,
            functions.create_job,
            payload={
                "input": sfn.JsonPath.entire_payload,
                "execution": {
                    "id": sfn.JsonPath.execution_id,
                    "name": sfn.JsonPath.execution_name,
                    "start_time": sfn.JsonPath.execution_start_time,
                },
            },
            result_path="$",
        )
        wait_for_progress = sfn.Wait(
            self, states.WAIT_FOR_PROGRESS, time=sfn.WaitTime.seconds_path("$.poll.wait_seconds")
        )
        poll_job = self._step(
            states.POLL_JOB,
            functions.poll_job,
            payload={
                "job_name": sfn.JsonPath.string_at("$.job_name"),
                "project": sfn.JsonPath.string_at("$.project"),
                "previous": sfn.JsonPath.object_at("$.poll"),
            },
            result_path="$.poll",
        )
        job_reference = {
            "job_name": sfn.JsonPath.string_at("$.job_name"),
            "project": sfn.JsonPath.string_at("$.project"),
        }
        extract_model = self._step(
            states.EXTRACT_MODEL, functions.extract_model, payload=job_reference, result_path="$.model"
        )
        record_metrics = self._step(
            states.RECORD_METRICS, functions.record_metrics, payload=job_reference, result_path="$.result"
        )
        unknown_job_status = sfn.Fail(
            self,
            states.UNKNOWN_JOB_STATUS,
            error=UNKNOWN_JOB_STATUS_ERROR,
            cause="PollJob returned a labeling job status this workflow does not know",
        )

        job_status = sfn.Choice(self, states.JOB_STATUS)
        for status in JOB_STILL_RUNNING_STATUSES:
            job_status.when(_status_is(status), wait_for_progress)
        job_status.when(_status_is(JOB_COMPLETED_STATUS), extract_model)
        job_status.when(_status_is(JOB_FAILED_STATUS), record_metrics)
        job_status.when(_status_is(JOB_STOPPED_STATUS), record_metrics)
        job_status.otherwise(unknown_job_status)

        job_outcome = (
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
                    error=LABELING_JOB_FAILED_ERROR,
                    cause_path="$.poll.failure_reason",
                ),
            )
            .when(
                _status_is(JOB_STOPPED_STATUS),
                sfn.Fail(
                    self,
                    states.JOB_STOPPED,
                    error=LABELING_JOB_STOPPED_ERROR,
                    cause_path="$.poll.failure_reason",
                ),
            )
            .otherwise(unknown_job_status)
        )

        extract_model.next(record_metrics)
        record_metrics.next(job_outcome)
        create_job.next(wait_for_progress).next(poll_job).next(job_status)

        # An EventBridge-started execution carries {"trigger": {...}} (infra/triggers.py); ResolveTrigger
        # turns it into a LabelingJob input (project.json + the dropped manifest) that replaces the state.
        resolve_trigger = self._step(
            states.RESOLVE_TRIGGER,
            functions.resolve_trigger,
            payload={
                "trigger": sfn.JsonPath.object_at("$.trigger"),
                "execution": {"id": sfn.JsonPath.execution_id, "name": sfn.JsonPath.execution_name},
            },
            result_path="$",
        )
        resolve_trigger.next(create_job)
        definition = (
            sfn.Choice(self, states.INPUT_SOURCE)
            .when(sfn.Condition.is_present("$.trigger"), resolve_trigger)
            .otherwise(create_job)
        )

        self.state_machine, self.log_group = logged_state_machine(
            self,
            name_suffix="labeling-job",
            comment="LabelChain: runs one SageMaker Ground Truth labeling job and records its results",
            definition=definition,
            timeout=EXECUTION_TIMEOUT,
            config=config,
            encryption_key=encryption_key,
        )

    def _step(
        self,
        state_name: str,
        function: lambda_.IFunction,
        *,
        payload: Mapping[str, object],
        result_path: str,
    ) -> tasks.LambdaInvoke:
        """A business step: invoke, retry transient errors, and hand any other error to RecordFailure."""
        task = retry_transient_errors(
            invoke_lambda(self, state_name, function, payload=payload, result_path=result_path)
        )
        task.add_catch(self._record_failure, errors=[sfn.Errors.ALL], result_path=ERROR_PATH)
        return task


def _status_is(status: str) -> sfn.Condition:
    return sfn.Condition.string_equals("$.poll.status", status)
