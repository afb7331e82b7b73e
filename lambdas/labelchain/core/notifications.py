"""What LabelChain tells a team about its jobs: one EventBridge event per job transition.

Events go to the account's default bus with ``source = labelchain`` so teams route them where they
like (the stack's own rule forwards them to its SNS topic for e-mail). Each transition is emitted
once, by whoever made it happen: CreateJob (started), the caller that sealed the record (completed,
failed, stopped), the reconciler (budget warning, budget exceeded), the lifecycle handlers (needs
attention). Pure: the adapter publishes what this module builds.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from urllib.parse import quote

from labelchain.core.cost import percent_of
from labelchain.core.models import FrozenModel
from labelchain.core.records import JobRecord

NOTIFICATION_SOURCE = "labelchain"


class Transition(StrEnum):
    """The detail-type of each notification (what a rule matches on)."""

    STARTED = "LabelChain Job Started"
    COMPLETED = "LabelChain Job Completed"
    FAILED = "LabelChain Job Failed"
    STOPPED = "LabelChain Job Stopped"
    BUDGET_WARNING = "LabelChain Job Budget Warning"
    BUDGET_EXCEEDED = "LabelChain Job Budget Exceeded"
    NEEDS_ATTENTION = "LabelChain Job Needs Attention"


ENDED_TRANSITIONS = {
    "Completed": Transition.COMPLETED,
    "Failed": Transition.FAILED,
    "Stopped": Transition.STOPPED,
}


class ConsoleLinks(FrozenModel):
    labeling_job: str
    execution: str


class JobNotification(FrozenModel):
    """The ``detail`` of a LabelChain event: enough to act on without opening the console."""

    project: str
    job_name: str
    status: str
    human_labeled: int
    machine_labeled: int
    machine_labeled_percent: str
    cost_usd: str | None
    cost_is_final: bool
    budget_usd: str | None
    duration_seconds: int | None
    final_model_arn: str | None
    execution_arn: str
    reason: str | None
    simulated: bool
    links: ConsoleLinks


def console_links(region: str, job_name: str, execution_arn: str) -> ConsoleLinks:
    """Where a person looks: the job in the SageMaker console, the execution in Step Functions'."""
    return ConsoleLinks(
        labeling_job=f"https://{region}.console.aws.amazon.com/sagemaker/groundtruth?region={region}"
        f"#/labeling-jobs/details/{quote(job_name)}",
        execution=f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{quote(execution_arn, safe='')}",
    )


def job_notification(record: JobRecord, region: str, reason: str | None = None) -> JobNotification:
    """The notification of a job as its record says it is now."""
    final = record.cost is not None
    cost: Decimal | str | None = (
        record.cost.total_cost_usd if record.cost is not None else record.running_cost_usd
    )
    return JobNotification(
        project=record.project,
        job_name=record.job_name,
        status=record.status,
        human_labeled=record.counters.human_labeled,
        machine_labeled=record.counters.machine_labeled,
        machine_labeled_percent=f"{percent_of(record.counters.machine_labeled, record.object_count):.2f}",
        cost_usd=None if cost is None else f"{Decimal(cost):.4f}",
        cost_is_final=final,
        budget_usd=record.budget_usd,
        duration_seconds=record.duration_seconds,
        final_model_arn=record.final_model_arn,
        execution_arn=record.execution_arn,
        reason=reason or record.stop_reason or record.failure_reason,
        simulated=record.simulated,
        links=console_links(region, record.job_name, record.execution_arn),
    )
