"""The payloads the state machine passes to each Lambda and gets back (the Lambda ↔ ASL contract).

infra/labeling_job_workflow.py builds the state machine's Parameters to match these models; the
workflow tests execute the synthesized definition against them.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from labelchain.core.models import FrozenModel
from labelchain.core.records import Counters
from labelchain.core.validation import describe_validation_error
from labelchain.errors import InvalidJobInput


class ExecutionRef(FrozenModel):
    """``$$.Execution`` fields a Lambda needs."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    start_time: str | None = None


class CreateJobEvent(FrozenModel):
    input: Any
    execution: ExecutionRef


class CreateJobResult(FrozenModel):
    job_name: str
    project: str
    adopted: bool


class JobEvent(FrozenModel):
    """Payload of Finalize: the job the execution created."""

    job_name: str
    project: str


class WatchJobEvent(FrozenModel):
    """Payload of WatchJob, the Lambda of the WaitForJob state (``lambda:invoke.waitForTaskToken``)."""

    job_name: str
    project: str
    task_token: str = Field(min_length=1)
    execution: ExecutionRef


class WatchResult(FrozenModel):
    """What WatchJob did (Step Functions ignores it: the state's output comes from SendTaskSuccess)."""

    job_name: str
    status: str
    resumed: bool


class JobEnded(FrozenModel):
    """What SendTaskSuccess hands the waiting execution: the job ended, and how that was noticed."""

    job_name: str
    status: str
    detected_by: str
    detected_at: str


class CostSummary(FrozenModel):
    human_usd: str
    machine_usd: str
    total_usd: str
    without_auto_labeling_usd: str
    saving_usd: str
    saving_percent: str
    prices_version: str
    cost_model: str | None = None
    labor_usd: str | None = None
    """Worker time x the labor rate (private team), or the vendor's per-object charges; None: not priced."""
    worker_hours: str | None = None
    worker_hours_saved: str | None = None
    """Worker hours the same job would have taken without automated labeling, minus the hours it took."""


class MetricsResult(FrozenModel):
    """What RecordMetrics returns: the execution's final output for a completed job."""

    job_name: str
    project: str
    status: str
    failure_reason: str | None
    counters: Counters
    machine_labeled_percent: str
    duration_seconds: int | None
    iterations: int
    cost: CostSummary
    final_model_arn: str | None
    initial_model_arn: str | None
    cross_check: list[str]
    simulated: bool
    model_outcome: str = "pending"
    pointer_moved: bool = False
    stop_reason: str | None = None
    end_detected_by: str | None = None
    end_detected_at: str | None = None
    finalized_at: str | None = None
    outcome_error: str | None = None
    """LabelingJobFailed, LabelingJobStopped or BudgetExceeded for a job that did not complete."""


class RecordFailureEvent(FrozenModel):
    state: dict[str, Any]
    execution: ExecutionRef


class FailureResult(FrozenModel):
    error: str
    cause: str
    job_name: str | None


EventT = TypeVar("EventT", bound=BaseModel)


def parse_event(model: type[EventT], event: Any) -> EventT:
    """Validate a Lambda payload; a malformed one is the caller's input error, named as such."""
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = describe_validation_error(exc, root="event")
        raise InvalidJobInput(f"malformed {model.__name__} payload: {problems}") from exc
