"""ExecutionEnded: stop both ways. When an execution ends early, nothing it started keeps running.

Step Functions sends "Execution Status Change" events; the stack's rule passes ABORTED, TIMED_OUT and
FAILED ends of the LabelingJob and Experiment state machines here:
  * a LabelingJob execution → its labeling job (the name is a pure function of the execution) is
    stopped, or adopted by the reconciler when the execution FAILED and the policy says ``adopt``;
    a job still queued never starts; a job that already ended is finalized;
  * an Experiment execution → its child LabelingJob executions still running are stopped, and each of
    their ends comes back here for its job.
A lost event is the reconciler's to make up for (it checks every running job's execution).
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import ConfigDict, Field

from labelchain.core.experiment import ROLES, child_execution_name
from labelchain.core.models import FrozenModel
from labelchain.core.naming import (
    EXECUTION_TAG,
    EXPERIMENT_STATE_MACHINE_SUFFIX,
    LABELING_JOB_STATE_MACHINE_SUFFIX,
    execution_fingerprint,
    job_name_for_execution,
    sibling_execution_arn,
    state_machine_name,
)
from labelchain.core.records import ENDED_STATUSES, QUEUED_STATUS
from labelchain.errors import LabelingJobNotFound
from labelchain.services.finalize import Finalized
from labelchain.services.lifecycle import seal_not_started, take_over
from labelchain.services.runtime import Runtime

logger = Logger(child=True)

ENDED_EARLY = ("ABORTED", "TIMED_OUT", "FAILED")
EXPERIMENT_STOPPED_ERROR = "ExperimentStopped"


EXECUTION_ARN = r"^arn:aws[a-z-]*:states:[a-z0-9-]{1,30}:\d{12}:execution:[^:\s]{1,80}:[^:\s]{1,80}$"
STATE_MACHINE_ARN = r"^arn:aws[a-z-]*:states:[a-z0-9-]{1,30}:\d{12}:stateMachine:[^:\s]{1,80}$"


class ExecutionStatusDetail(FrozenModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    execution_arn: str = Field(alias="executionArn", pattern=EXECUTION_ARN)
    state_machine_arn: str = Field(alias="stateMachineArn", pattern=STATE_MACHINE_ARN)
    name: str = Field(min_length=1, max_length=80)
    status: str
    error: str | None = None
    cause: str | None = None


class ExecutionStatusChange(FrozenModel):
    """The EventBridge event Step Functions sends when an execution changes status."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    source: Literal["aws.states"]
    detail_type: Literal["Step Functions Execution Status Change"] = Field(alias="detail-type")
    detail: ExecutionStatusDetail


class ExecutionEndedResult(FrozenModel):
    execution_arn: str
    status: str
    action: str
    """stopped · adopted · finalized · already-final · not-started · no-job · stopped-unrecorded ·
    children-stopped · ignored"""
    job_name: str | None = None
    stopped_children: list[str] = Field(default_factory=list)


def end_reason(detail: ExecutionStatusDetail) -> str:
    """Who/what ended the execution, as the job record and the stop reason say it."""
    reason = f"execution {detail.name} ended {detail.status}"
    if detail.error:
        reason += f" with {detail.error}"
        if detail.cause:
            reason += f": {detail.cause[:300]}"
    elif detail.status == "ABORTED":
        reason += " (stopped by a person or an API call: StopExecution)"
    return reason


def handle_execution_ended(
    event: ExecutionStatusChange, runtime: Runtime
) -> tuple[ExecutionEndedResult, Finalized | None]:
    detail = event.detail
    prefix = runtime.settings.resource_prefix
    machine = detail.state_machine_arn.rsplit(":", 1)[-1]

    def result(
        action: str, job_name: str | None = None, children: list[str] | None = None
    ) -> ExecutionEndedResult:
        return ExecutionEndedResult(
            execution_arn=detail.execution_arn,
            status=detail.status,
            action=action,
            job_name=job_name,
            stopped_children=children or [],
        )

    if detail.status not in ENDED_EARLY:
        return result("ignored"), None
    if machine == state_machine_name(prefix, EXPERIMENT_STATE_MACHINE_SUFFIX):
        return result("children-stopped", children=stop_children(detail, runtime)), None
    if machine != state_machine_name(prefix, LABELING_JOB_STATE_MACHINE_SUFFIX):
        return result("ignored"), None

    job_name = job_name_for_execution(prefix, detail.name, detail.execution_arn)
    record = runtime.store.get_job(job_name)
    if record is None:
        return result(stop_unrecorded_job(job_name, detail, runtime), job_name=job_name), None
    if record.execution_arn != detail.execution_arn:
        return result("no-job", job_name=job_name), None
    if record.finalized_at is not None:
        return result("already-final", job_name=job_name), None
    reason = end_reason(detail)
    if record.status == QUEUED_STATUS:
        return result(seal_not_started(record, reason, runtime), job_name=job_name), None
    action, finalized = take_over(record, detail.status, reason, runtime)
    return result(action, job_name=job_name), finalized


def stop_unrecorded_job(job_name: str, detail: ExecutionStatusDetail, runtime: Runtime) -> str:
    """No record: the execution ended before a job (bad input), or CreateLabelingJob succeeded and the
    record write never did. SageMaker has the last word: a job of this execution (its tag) is stopped."""
    try:
        described = runtime.jobs.describe(job_name)
    except LabelingJobNotFound:
        return "no-job"
    if described.tags.get(EXECUTION_TAG) != execution_fingerprint(detail.execution_arn):
        return "no-job"
    if (
        described.status in ENDED_STATUSES
        or described.status == "Stopping"
        or not runtime.jobs.stop(job_name)
    ):
        return "no-job"
    logger.error(
        "stopped a job its execution created but never recorded",
        extra={"job_name": job_name, "execution": detail.execution_arn},
    )
    return "stopped-unrecorded"


def stop_children(detail: ExecutionStatusDetail, runtime: Runtime) -> list[str]:
    """Stop the Experiment's child LabelingJob executions that still run; returns the ones stopped."""
    labeling_job_machine = state_machine_name(
        runtime.settings.resource_prefix, LABELING_JOB_STATE_MACHINE_SUFFIX
    )
    stopped = []
    for role in ROLES:
        child = sibling_execution_arn(
            detail.execution_arn,
            labeling_job_machine,
            child_execution_name(detail.name, detail.execution_arn, role),
        )
        if runtime.executions.stop(child, EXPERIMENT_STOPPED_ERROR, end_reason(detail)):
            stopped.append(child)
    if stopped:
        logger.warning(
            "experiment ended early: its running jobs' executions stopped", extra={"children": stopped}
        )
    return stopped
