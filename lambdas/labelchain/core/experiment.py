"""The controlled seed experiment: one dataset, split in two, labeled three times.

Job A labels part 1 from scratch; part 2 is labeled twice at the same time — once seeded with job A's
model (``pretrained``) and once without (``control``) — so the difference between the two is what
the pre-trained model saved. This module is the experiment's execution input and its plan; the
state machine runs each job as a nested LabelingJob execution named by ``child_execution_name``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from labelchain.core.job_input import S3_URI_PATTERN, JobInput, ProjectName, describe_validation_error
from labelchain.core.models import StrictModel
from labelchain.errors import InvalidJobInput

EXECUTION_NAME_MAX = 80
MAX_PARTS = 20
ROLES: tuple[str, ...] = ("initial", "pretrained", "control")
"""The experiment's three jobs, in the order they start."""
SET_BY_EXPERIMENT = ("project", "manifest", "initial_model", "when_no_model")
"""JobInput fields the experiment fills in itself for each job."""
PLACEHOLDER_MANIFEST = "s3://placeholder-bucket/part.manifest"


class SplitSpec(StrictModel):
    """How the dataset is cut: in file order (as AWS's tutorial did) or shuffled with a seed."""

    order: Literal["file", "shuffled"] = "file"
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    parts: int = Field(default=2, ge=2, le=MAX_PARTS)
    """Part 1 feeds the initial job, part 2 both second-stage jobs; parts 3… are written for later
    batches (e.g. dropped one by one into ``incoming/<project>/``)."""

    @model_validator(mode="after")
    def _seed_only_when_shuffled(self) -> SplitSpec:
        if self.order == "shuffled" and self.seed is None:
            raise ValueError("seed: required when order is 'shuffled' (a split must be reproducible)")
        if self.order == "file" and self.seed is not None:
            raise ValueError("seed: only meaningful when order is 'shuffled'")
        return self


class ExperimentInput(StrictModel):
    """The Experiment state machine's execution input (docs/EXPERIMENT.md)."""

    project: ProjectName
    manifest: str = Field(pattern=S3_URI_PATTERN, max_length=1024)
    split: SplitSpec = Field(default_factory=SplitSpec)
    job: dict[str, Any]
    """Every LabelingJob input field except project, manifest, initial_model and when_no_model."""

    @field_validator("job")
    @classmethod
    def _job_is_a_template(cls, job: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(set(job) & set(SET_BY_EXPERIMENT))
        if reserved:
            raise ValueError(f"must not set {', '.join(reserved)}: the experiment sets them for each job")
        if job.get("auto_labeling", True) is not True:
            raise ValueError("auto_labeling must be on: the experiment measures automated data labeling")
        return job

    def job_input(self, manifest: str, initial_model: Any = "none") -> JobInput:
        """The LabelingJob input of one of the experiment's jobs."""
        return JobInput.model_validate(
            {**self.job, "project": self.project, "manifest": manifest, "initial_model": initial_model}
        )


def parse_experiment_input(raw: Any) -> ExperimentInput:
    """Validate an experiment input the way console input is validated, naming every bad field."""
    if not isinstance(raw, dict):
        raise InvalidJobInput(f"input: expected a JSON object, got {type(raw).__name__}")
    try:
        experiment = ExperimentInput.model_validate(raw)
    except ValidationError as exc:
        raise InvalidJobInput(describe_validation_error(exc)) from exc
    try:
        experiment.job_input(PLACEHOLDER_MANIFEST)
    except ValidationError as exc:
        raise InvalidJobInput(describe_validation_error(exc, prefix=("job",))) from exc
    return experiment


def child_execution_name(parent_name: str, parent_arn: str, role: str) -> str:
    """``<parent>-<8 hex of sha256(parent ARN)>-<role>``, the parent's name cut so the whole stays within
    Step Functions' 80 characters. The hash makes the name the parent's alone: two experiments whose
    names share a long prefix, or an execution a person happened to name ``<parent>-control``, never
    collide with it (ExecutionEnded stops children by name)."""
    suffix = f"-{hashlib.sha256(parent_arn.encode()).hexdigest()[:8]}-{role}"
    return parent_name[: EXECUTION_NAME_MAX - len(suffix)] + suffix
