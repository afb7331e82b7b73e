"""Finalize: the one end of every labeling job, whoever notices that it ended.

The execution's Finalize state, the job-event handler (when no execution waits any more) and the
reconciler all call ``finalize_job``. It reads the ended job, keeps its model (moving the project's
pointer forward), computes counters, cost and per-iteration rows, and seals the record with one
conditional write (``finalized_at``). Whoever seals first wins; everyone else gets the sealed record
back, so running it twice changes nothing and metrics are emitted once (by the caller that sealed).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aws_lambda_powertools import Logger

from labelchain.core.cost import percent_of
from labelchain.core.labor import hours
from labelchain.core.notifications import ENDED_TRANSITIONS
from labelchain.core.records import ENDED_STATUSES, JobRecord
from labelchain.errors import BudgetExceeded, JobStillRunning, LabelingJobNotFound
from labelchain.services.events import CostSummary, MetricsResult
from labelchain.services.extract_model import with_model
from labelchain.services.notify import notify
from labelchain.services.record_metrics import with_final_metrics
from labelchain.services.runtime import Runtime
from labelchain.services.worker_responses import ReadBudget

logger = Logger(child=True)

LABELING_JOB_FAILED = "LabelingJobFailed"
LABELING_JOB_STOPPED = "LabelingJobStopped"
"""The errors a failed / stopped job ends its execution with (a budget stop ends with BudgetExceeded)."""


@dataclass(frozen=True)
class Finalized:
    """The job's final metrics, and whether this call sealed the record (and so emits its metrics)."""

    result: MetricsResult
    sealed_now: bool


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def usd(amount: Decimal) -> str:
    """Money as the result shows it: 4 places, whether it comes from the computation or back from
    DynamoDB (which trims trailing zeroes)."""
    return f"{amount:.4f}"


def metrics_of(record: JobRecord) -> MetricsResult:
    """A finalized job's record as the execution's result (the same whoever finalized it)."""
    cost = record.cost
    if cost is None:
        # Sealed without metrics: no job ran (NotStarted) or SageMaker does not know it.
        raise LabelingJobNotFound(
            f"job {record.job_name!r} has no metrics: it is {record.status}"
            + (f" ({record.repairs[-1]})" if record.repairs else "")
        )
    return MetricsResult(
        job_name=record.job_name,
        project=record.project,
        status=record.status,
        failure_reason=record.failure_reason,
        counters=record.counters,
        machine_labeled_percent=f"{percent_of(record.counters.machine_labeled, record.object_count):.2f}",
        duration_seconds=record.duration_seconds,
        iterations=len(record.iterations),
        cost=CostSummary(
            human_usd=usd(cost.human_cost_usd),
            machine_usd=usd(cost.machine_cost_usd),
            total_usd=usd(cost.total_cost_usd),
            without_auto_labeling_usd=usd(cost.cost_without_auto_labeling_usd),
            saving_usd=usd(cost.saving_usd),
            saving_percent=f"{cost.saving_percent:.2f}",
            prices_version=cost.prices_version,
            cost_model=cost.cost_model,
            labor_usd=None if cost.labor_cost_usd is None else usd(cost.labor_cost_usd),
            worker_hours=_text(hours(cost.worker_seconds)),
            worker_hours_saved=_text(hours(cost.worker_seconds_saved)),
        ),
        final_model_arn=record.final_model_arn,
        initial_model_arn=record.initial_model_arn,
        cross_check=record.cross_check,
        simulated=record.simulated,
        model_outcome=record.model_outcome,
        pointer_moved=record.pointer_moved,
        stop_reason=record.stop_reason,
        end_detected_by=record.end_detected_by,
        end_detected_at=record.end_detected_at.isoformat() if record.end_detected_at else None,
        finalized_at=record.finalized_at.isoformat() if record.finalized_at else None,
        outcome_error=outcome_error(record),
    )


def outcome_error(record: JobRecord) -> str | None:
    """The error a failed or stopped job ends its execution with (the JobOutcome Fail states' ErrorPath)."""
    if record.status == "Failed":
        return LABELING_JOB_FAILED
    if record.status == "Stopped":
        budget_stop = record.stop_reason is not None and record.stop_reason.startswith(
            BudgetExceeded.__name__
        )
        return BudgetExceeded.__name__ if budget_stop else LABELING_JOB_STOPPED
    return None


def finalize_job(job_name: str, runtime: Runtime, budget: ReadBudget | None = None) -> Finalized:
    """Seal an ended job's record with its model, counters and cost (idempotent).

    ``budget`` bounds the time spent reading worker responses (the Lambda's remaining time; default:
    ``record_metrics.with_final_metrics``'s): past it the worker time is recorded as partial.
    """
    record = runtime.store.get_job(job_name)
    if record is None:
        raise LabelingJobNotFound(f"job {job_name!r} has no LabelChain record to finalize")
    if record.finalized_at is not None:
        return Finalized(metrics_of(record), sealed_now=False)
    described = runtime.jobs.describe(job_name)
    if described.status not in ENDED_STATUSES:
        raise JobStillRunning(f"job {job_name!r} is {described.status}; only an ended job can be finalized")
    now = runtime.clock()
    updated, pointer_moved = with_model(record, described, runtime)
    final = with_final_metrics(updated, described, runtime, budget).model_copy(
        update={
            "pointer_moved": pointer_moved,
            "watch_token": None,
            "finalized_at": now,
            "end_detected_at": record.end_detected_at or now,
            "end_detected_by": record.end_detected_by or "watch",
        }
    )
    if runtime.store.seal_job(final):
        logger.info("job finalized", extra={"job_name": job_name, "status": final.status})
        notify(runtime, final, ENDED_TRANSITIONS[final.status])
        return Finalized(metrics_of(final), sealed_now=True)
    sealed = runtime.store.get_job(job_name)
    if sealed is None or sealed.finalized_at is None:  # pragma: no cover - the seal condition says otherwise
        raise LabelingJobNotFound(f"job {job_name!r}: its record vanished while it was being finalized")
    return Finalized(metrics_of(sealed), sealed_now=False)
