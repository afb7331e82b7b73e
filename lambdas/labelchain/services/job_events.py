"""JobEvents: Ground Truth's "Labeling Job State Change" event resumes the execution waiting for the job.

EventBridge delivers these events best effort — late, twice, or never — so the handler trusts only
DescribeLabelingJob: a duplicate or stale event for a job already final is a no-op, an event for a job
LabelChain does not know is counted and ignored, and a lost event is the reconciler's to make up for.
"""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import ConfigDict, Field, model_validator

from labelchain.core.models import FrozenModel
from labelchain.core.naming import LABELING_JOB_ARN, job_name_from_arn
from labelchain.core.records import ENDED_STATUSES
from labelchain.errors import LabelingJobNotFound
from labelchain.services.finalize import Finalized
from labelchain.services.lifecycle import on_job_ended
from labelchain.services.runtime import Runtime

logger = Logger(child=True)

JOB_STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"


class JobStateChangeDetail(FrozenModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    status: str = Field(alias="LabelingJobStatus")


class JobStateChange(FrozenModel):
    """The EventBridge event SageMaker sends (the job ARN is only in ``resources[0]``)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    source: Literal["aws.sagemaker"]
    detail_type: Literal["SageMaker Ground Truth Labeling Job State Change"] = Field(alias="detail-type")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = Field(pattern=r"^[a-z0-9-]{1,30}$")
    resources: list[str] = Field(min_length=1, max_length=10)
    detail: JobStateChangeDetail

    @model_validator(mode="after")
    def _job_arn_of_this_account_and_region(self) -> JobStateChange:
        match = LABELING_JOB_ARN.match(self.resources[0])
        if match is None:
            raise ValueError(f"resources[0]: expected a labeling-job ARN, got {self.resources[0][:200]!r}")
        if (match["account"], match["region"]) != (self.account, self.region):
            raise ValueError("resources[0]: the job ARN's account and region differ from the event's")
        return self

    @property
    def job_name(self) -> str:
        return job_name_from_arn(self.resources[0])  # the validator has checked the ARN


class JobEventResult(FrozenModel):
    job_name: str | None
    event_status: str
    action: str
    """resumed · finalized · already-final · execution-not-waiting-yet · progress · unknown-job · not-ours"""


def handle_job_state_change(
    event: JobStateChange, runtime: Runtime
) -> tuple[JobEventResult, Finalized | None]:
    """Resume the waiting execution (or finalize a job no execution waits for) once the job has ended."""
    job_name = event.job_name

    def result(action: str) -> JobEventResult:
        return JobEventResult(job_name=job_name, event_status=event.detail.status, action=action)

    if (
        not job_name.startswith(f"{runtime.settings.resource_prefix}-")
        or event.region != runtime.settings.region
    ):
        return result("not-ours"), None
    record = runtime.store.get_job(job_name)
    if record is None:
        logger.warning("state change of a job LabelChain has no record of", extra={"job_name": job_name})
        return result("unknown-job"), None
    if record.finalized_at is not None:
        return result("already-final"), None
    try:
        described = runtime.jobs.describe(job_name)
    except LabelingJobNotFound:
        return result("unknown-job"), None
    if described.status not in ENDED_STATUSES:
        # An early event (InProgress, Stopping): the authority says it still runs. Progress is the
        # reconciler's job; only the status moves here.
        runtime.store.update_job(job_name, {"status": described.status})
        return result("progress"), None
    action, finalized = on_job_ended(record, described, runtime, "event")
    return result(action), finalized
