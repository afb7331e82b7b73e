"""The **Experiment** state machine: AWS's pre-trained-model experiment as one execution.

::

    PrepareDataset ─► InitialJob ─► InitialModel? ─► SeedFromInitialJob ─► SecondStage (Parallel)
                          │ failed        │ no model                        ├ PretrainedJob (seeded)
                          ▼               ▼                                 └ ControlJob    (no model)
                 RecordInitialJobFailure  RecordNoModel                     ─► CompareJobs ─► BothJobsRan?
                          ▼               ▼                                      ├ yes ─► ExperimentSucceeded
                 InitialJobFailed (Fail)  NoModelFromInitialJob (Fail)    └ no ─► SecondStageIncomplete (Fail)
    PrepareDataset or CompareJobs error ─► RecordFailure ─► ExperimentFailed

Each job is a nested LabelingJob execution (``startExecution.sync:2``) named by PrepareDataset
(``<parent>-initial`` / ``-pretrained`` / ``-control``), so each keeps its own history and the two
second-stage jobs run at the same time: wall time T1 + max(T2, T3). A failed second-stage job does not
stop the other; CompareJobs records whatever ran and says which side is missing.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import DeploymentConfig
from infra.functions import LabelChainFunctions
from infra.labeling_job_workflow import (
    ERROR_PATH,
    EXECUTION_REFERENCE,
    TRANSIENT_RETRY_BACKOFF_RATE,
    TRANSIENT_RETRY_INTERVAL,
    TRANSIENT_RETRY_MAX_ATTEMPTS,
    TRANSIENT_RETRY_MAX_DELAY,
    execution_timeout,
    invoke_lambda,
    retry_transient_errors,
)
from infra.nag import acknowledge, nag_text, wildcard_finding
from infra.state_machine import logged_state_machine
from labelchain.core.naming import EXPERIMENT_STATE_MACHINE_SUFFIX

NESTED_START_TRANSIENT_ERRORS: Final = (
    "StepFunctions.ThrottlingException",
    "StepFunctions.ExecutionLimitExceededException",
    "StepFunctions.AWSStepFunctionsException",
    "StepFunctions.SdkClientException",
)
"""Step Functions refusing or throttling StartExecution of a child: retried (the child's name is fixed, so a
retry never starts a second one). A child that *failed* (``States.TaskFailed``) is not retried."""


class ExperimentStates:
    """State names of the Experiment state machine."""

    PREPARE_DATASET: Final = "PrepareDataset"
    INITIAL_JOB: Final = "InitialJob"
    INITIAL_JOB_CAUGHT: Final = "InitialJobCaught"
    RECORD_INITIAL_JOB_FAILURE: Final = "RecordInitialJobFailure"
    INITIAL_JOB_FAILED: Final = "InitialJobFailed"
    INITIAL_MODEL: Final = "InitialModel?"
    RECORD_NO_MODEL: Final = "RecordNoModel"
    NO_MODEL: Final = "NoModelFromInitialJob"
    SEED_FROM_INITIAL_JOB: Final = "SeedFromInitialJob"
    SECOND_STAGE: Final = "SecondStage"
    PRETRAINED_JOB: Final = "PretrainedJob"
    PRETRAINED_JOB_CAUGHT: Final = "PretrainedJobCaught"
    CONTROL_JOB: Final = "ControlJob"
    CONTROL_JOB_CAUGHT: Final = "ControlJobCaught"
    COMPARE_JOBS: Final = "CompareJobs"
    BOTH_JOBS_RAN: Final = "BothJobsRan?"
    SUCCEEDED: Final = "ExperimentSucceeded"
    SECOND_STAGE_INCOMPLETE: Final = "SecondStageIncomplete"
    RECORD_FAILURE: Final = "RecordFailure"
    EXPERIMENT_FAILED: Final = "ExperimentFailed"


INITIAL_JOB_FAILED_ERROR: Final = "InitialJobFailed"
NO_MODEL_ERROR: Final = "NoModelFromInitialJob"
SECOND_STAGE_INCOMPLETE_ERROR: Final = "SecondStageJobFailed"


def experiment_timeout(create_queue_max_hours: int) -> Duration:
    """Two LabelingJob executions back to back (the second stage runs in parallel), plus a day."""
    child = execution_timeout(create_queue_max_hours)
    return Duration.hours(2 * child.to_hours() + 24)


NO_MODEL_REASON: Final = (
    "the initial job completed without a model (automated labeling trained none), so there is nothing "
    "to seed the pretrained job with"
)
SECOND_STAGE_INCOMPLETE_REASON: Final = (
    "a second-stage job did not complete; the comparison report says which side is missing"
)
INITIAL_FAILED_REASON: Final = "the initial job did not complete, so the second stage was not run"


def _child_succeeded() -> dict[str, object]:
    """What a finished nested execution leaves in the state (``Output`` is its MetricsResult)."""
    return {
        "status": "SUCCEEDED",
        "execution_arn": sfn.JsonPath.string_at("$.ExecutionArn"),
        "result": sfn.JsonPath.object_at("$.Output"),
    }


def _child_failed() -> dict[str, object]:
    return {
        "status": "FAILED",
        "error": sfn.JsonPath.string_at(f"{ERROR_PATH}.Error"),
        "cause": sfn.JsonPath.string_at(f"{ERROR_PATH}.Cause"),
    }


class ExperimentWorkflow(Construct):
    """The Experiment state machine; ``self.state_machine`` is what a user starts."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        functions: LabelChainFunctions,
        encryption_key: kms.IKey,
        labeling_job: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions
        self._labeling_job = labeling_job
        self._record_failure = self._record_failure_path()
        # PrepareDataset's plan replaces the input (which the plan contains): one copy fewer of the
        # job settings in a state that must stay under 256 KiB (PrepareDataset checks the rest).
        prepare = self._lambda_step(
            ExperimentStates.PREPARE_DATASET,
            functions.prepare_dataset,
            {"input": sfn.JsonPath.entire_payload, "execution": EXECUTION_REFERENCE},
            "$",
            {"prepared": sfn.JsonPath.object_at("$")},
        )
        seed = sfn.Pass(
            self,
            ExperimentStates.SEED_FROM_INITIAL_JOB,
            parameters={
                "input": sfn.JsonPath.json_merge(
                    sfn.JsonPath.object_at("$.prepared.jobs.pretrained.input"),
                    sfn.JsonPath.object_at("$.initial.seed"),
                )
            },
            result_path="$.pretrained",
        )
        seed.next(self._second_stage()).next(self._compare(ExperimentStates.COMPARE_JOBS, None, True)).next(
            self._both_ran()
        )
        definition = prepare.next(self._initial_job()).next(self._has_model(seed))

        self.state_machine, self.log_group = logged_state_machine(
            self,
            name_suffix=EXPERIMENT_STATE_MACHINE_SUFFIX,
            comment="LabelChain: the pre-trained-model experiment (initial, seeded and control jobs)",
            definition=definition,
            timeout=experiment_timeout(config.create_queue_max_hours),
            config=config,
            encryption_key=encryption_key,
            invokes=[functions.record_failure, functions.prepare_dataset, functions.compare_jobs],
        )
        self._acknowledge_child_executions()

    def _record_failure_path(self) -> tasks.LambdaInvoke:
        """RecordFailure ─► ExperimentFailed, failing with the original error even if recording fails."""
        record_failure = retry_transient_errors(
            invoke_lambda(
                self,
                ExperimentStates.RECORD_FAILURE,
                self._functions.record_failure,
                payload={"state": sfn.JsonPath.entire_payload, "execution": EXECUTION_REFERENCE},
                # The cause the execution fails with is the handler's readable message, never the Lambda
                # runtime's JSON error payload (which names the exception class and carries a stack frame).
                result_selector={"Error.$": "$.error", "Cause.$": "$.cause"},
                result_path=ERROR_PATH,
            )
        )
        experiment_failed = sfn.Fail(
            self,
            ExperimentStates.EXPERIMENT_FAILED,
            error_path=f"{ERROR_PATH}.Error",
            cause_path=f"{ERROR_PATH}.Cause",
        )
        record_failure.add_catch(
            experiment_failed, errors=[sfn.Errors.ALL], result_path="$.record_failure_error"
        )
        record_failure.next(experiment_failed)
        return record_failure

    def _lambda_step(
        self,
        name: str,
        function: lambda_.IFunction,
        payload: dict[str, object],
        result_path: str,
        result_selector: dict[str, object] | None = None,
    ) -> tasks.LambdaInvoke:
        """A Lambda task that retries transient errors and records any other error as the failure."""
        task = retry_transient_errors(
            invoke_lambda(
                self,
                name,
                function,
                payload=payload,
                result_path=result_path,
                result_selector=result_selector,
            )
        )
        task.add_catch(self._record_failure, errors=[sfn.Errors.ALL], result_path=ERROR_PATH)
        return task

    def _compare(self, name: str, stop_reason: str | None, second_stage: bool) -> tasks.LambdaInvoke:
        """CompareJobs over whatever ran; ``stop_reason`` says why the experiment stopped early."""
        payload: dict[str, object] = {
            "execution": EXECUTION_REFERENCE,
            "prepared": sfn.JsonPath.object_at("$.prepared"),
            "initial": sfn.JsonPath.object_at("$.initial"),
        }
        if second_stage:
            payload["pretrained"] = sfn.JsonPath.object_at("$.second_stage.pretrained")
            payload["control"] = sfn.JsonPath.object_at("$.second_stage.control")
        if stop_reason is not None:
            payload["stop_reason"] = stop_reason
        return self._lambda_step(name, self._functions.compare_jobs, payload, "$.comparison")

    def _initial_job(self) -> tasks.StepFunctionsStartExecution:
        """InitialJob; if it fails: RecordInitialJobFailure ─► InitialJobFailed."""
        states = ExperimentStates
        initial_job = self._child(
            states.INITIAL_JOB, "initial", sfn.TaskInput.from_json_path_at("$.prepared.jobs.initial.input")
        )
        initial_job_caught = sfn.Pass(
            self, states.INITIAL_JOB_CAUGHT, parameters=_child_failed(), result_path="$.initial"
        )
        initial_job.add_catch(initial_job_caught, errors=[sfn.Errors.ALL], result_path=ERROR_PATH)
        initial_job_caught.next(
            self._compare(states.RECORD_INITIAL_JOB_FAILURE, INITIAL_FAILED_REASON, False)
        ).next(
            sfn.Fail(
                self,
                states.INITIAL_JOB_FAILED,
                error=INITIAL_JOB_FAILED_ERROR,
                cause_path=f"{ERROR_PATH}.Cause",
            )
        )
        return initial_job

    def _has_model(self, seed: sfn.Pass) -> sfn.Choice:
        """InitialModel?: seed the second stage, or RecordNoModel ─► NoModelFromInitialJob."""
        states = ExperimentStates
        no_model = self._compare(states.RECORD_NO_MODEL, NO_MODEL_REASON, False).next(
            sfn.Fail(self, states.NO_MODEL, error=NO_MODEL_ERROR, cause=NO_MODEL_REASON)
        )
        return (
            sfn.Choice(self, states.INITIAL_MODEL)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.is_present("$.initial.result.final_model_arn"),
                    sfn.Condition.is_string("$.initial.result.final_model_arn"),
                ),
                seed,
            )
            .otherwise(no_model)
        )

    def _second_stage(self) -> sfn.Parallel:
        """PretrainedJob and ControlJob side by side; a failed one does not stop the other."""
        states = ExperimentStates
        pretrained_job = self._child(
            states.PRETRAINED_JOB, "pretrained", sfn.TaskInput.from_json_path_at("$.pretrained.input")
        )
        pretrained_job.add_catch(
            sfn.Pass(self, states.PRETRAINED_JOB_CAUGHT, parameters=_child_failed()),
            errors=[sfn.Errors.ALL],
            result_path=ERROR_PATH,
        )
        control_job = self._child(
            states.CONTROL_JOB, "control", sfn.TaskInput.from_json_path_at("$.prepared.jobs.control.input")
        )
        control_job.add_catch(
            sfn.Pass(self, states.CONTROL_JOB_CAUGHT, parameters=_child_failed()),
            errors=[sfn.Errors.ALL],
            result_path=ERROR_PATH,
        )
        second_stage = sfn.Parallel(
            self,
            states.SECOND_STAGE,
            result_selector={
                "pretrained": sfn.JsonPath.object_at("$[0]"),
                "control": sfn.JsonPath.object_at("$[1]"),
            },
            result_path="$.second_stage",
        )
        second_stage.branch(pretrained_job)
        second_stage.branch(control_job)
        return second_stage

    def _both_ran(self) -> sfn.Choice:
        """BothJobsRan?: the experiment succeeds only if both second-stage jobs completed."""
        states = ExperimentStates
        return (
            sfn.Choice(self, states.BOTH_JOBS_RAN)
            .when(
                sfn.Condition.and_(
                    sfn.Condition.string_equals("$.second_stage.pretrained.status", "SUCCEEDED"),
                    sfn.Condition.string_equals("$.second_stage.control.status", "SUCCEEDED"),
                ),
                sfn.Succeed(self, states.SUCCEEDED, output_path="$.comparison"),
            )
            .otherwise(
                sfn.Fail(
                    self,
                    states.SECOND_STAGE_INCOMPLETE,
                    error=SECOND_STAGE_INCOMPLETE_ERROR,
                    cause=SECOND_STAGE_INCOMPLETE_REASON,
                )
            )
        )

    def _acknowledge_child_executions(self) -> None:
        """``startExecution.sync:2`` describes and stops the children it starts: CDK grants both on the
        LabelingJob state machine's executions, ``…:execution:<its name>*`` (rendered as CDK builds it)."""
        stack = Stack.of(self)
        name = stack.split_arn(
            self._labeling_job.state_machine_arn, ArnFormat.COLON_RESOURCE_NAME
        ).resource_name
        children = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{name}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        acknowledge(
            self.state_machine.role,
            wildcard_finding(f"Resource::{nag_text(stack.resolve(children))}"),
            "startExecution.sync:2 describes and stops the nested LabelingJob executions it starts; their "
            "names are per experiment, so only the LabelingJob state machine can be fixed.",
        )

    def _child(
        self, state_name: str, role: str, job_input: sfn.TaskInput
    ) -> tasks.StepFunctionsStartExecution:
        """A nested LabelingJob execution named by PrepareDataset; waits for it (``.sync:2``)."""
        result_selector = _child_succeeded()
        if role == "initial":
            result_selector["seed"] = {"initial_model": {"job": sfn.JsonPath.string_at("$.Output.job_name")}}
        child = tasks.StepFunctionsStartExecution(
            self,
            state_name,
            state_machine=self._labeling_job,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            name=sfn.JsonPath.string_at(f"$.prepared.jobs.{role}.execution_name"),
            input=job_input,
            result_selector=result_selector,
            result_path="$.initial" if role == "initial" else "$",
        )
        child.add_retry(
            errors=list(NESTED_START_TRANSIENT_ERRORS),
            interval=TRANSIENT_RETRY_INTERVAL,
            backoff_rate=TRANSIENT_RETRY_BACKOFF_RATE,
            max_attempts=TRANSIENT_RETRY_MAX_ATTEMPTS,
            max_delay=TRANSIENT_RETRY_MAX_DELAY,
            jitter_strategy=sfn.JitterType.NONE,
        )
        return child
