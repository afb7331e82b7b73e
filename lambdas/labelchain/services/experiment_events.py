"""Payloads of the Experiment state machine's Lambdas (PrepareDataset, CompareJobs)."""

from __future__ import annotations

from typing import Any, Literal

from labelchain.core.models import FrozenModel
from labelchain.services.events import ExecutionRef


class PrepareDatasetEvent(FrozenModel):
    input: Any
    execution: ExecutionRef


class DatasetPart(FrozenModel):
    uri: str
    objects: int


class PlannedJob(FrozenModel):
    """One nested LabelingJob execution: its name and its complete input."""

    execution_name: str
    input: dict[str, Any]


class PrepareDatasetResult(FrozenModel):
    """The parts written and the three jobs to run (pretrained's initial_model is set after job A)."""

    project: str
    parts: list[DatasetPart]
    jobs: dict[str, PlannedJob]
    """Keys: ``initial``, ``pretrained``, ``control`` (labelchain.core.experiment.ROLES)."""


class ChildOutcome(FrozenModel):
    """What the state machine knows about one nested LabelingJob execution."""

    status: Literal["SUCCEEDED", "FAILED", "NOT_RUN"]
    execution_arn: str | None = None
    result: dict[str, Any] | None = None
    """The child's output (a MetricsResult) when it succeeded."""
    error: str | None = None
    cause: str | None = None


class CompareJobsEvent(FrozenModel):
    execution: ExecutionRef
    prepared: PrepareDatasetResult
    initial: ChildOutcome
    pretrained: ChildOutcome | None = None
    control: ChildOutcome | None = None
    stop_reason: str | None = None
    """Why the experiment stopped early (initial job failed or produced no model)."""
