"""Reconciler: every few minutes, look at every job that is not final and heal what drifted.

Scheduled by EventBridge (``reconcile_interval_minutes``, 15 by default). For each job in the sparse
active-jobs index (no table scan):
  * running → a progress snapshot, the record's counters and a running cost estimate; and if its
    execution no longer runs (a lost "Execution Status Change" event), the job is stopped or adopted;
  * ended → the waiting execution is resumed (a lost Ground Truth event), or the job is finalized when
    no execution waits (a Finalize that failed for good, a job adopted after its execution failed);
  * unknown to SageMaker → the record is sealed as such.
Every repair is logged and counted. Jobs are handled concurrently; one job's trouble never stops the
others (it is counted as an error and retried at the next run).
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from labelchain.adapters.stepfunctions import RUNNING
from labelchain.core.records import ENDED_STATUSES, QUEUED_STATUS, JobRecord, ProgressSnapshot
from labelchain.errors import LabelChainError, LabelingJobNotFound
from labelchain.services.finalize import Finalized
from labelchain.services.lifecycle import mark_not_found, on_job_ended, seal_not_started, take_over
from labelchain.services.record_metrics import running_cost_usd
from labelchain.services.runtime import Runtime

logger = Logger(child=True)

MAX_WORKERS = 16
REPAIRS = frozenset({"resumed", "finalized", "stopped", "adopted", "unknown-job", "not-started"})
"""Outcomes that repaired drift (everything else is routine progress or nothing to do)."""


class ReconcileReport(BaseModel):
    """What one reconciler run saw and did: job counts by outcome."""

    model_config = ConfigDict(frozen=True)
    started_at: str
    jobs: int
    outcomes: dict[str, int]
    repairs: int
    errors: int


@dataclass
class JobOutcome:
    job_name: str
    action: str
    finalized: Finalized | None = None
    error: str | None = None


@dataclass
class ReconcileRun:
    report: ReconcileReport
    outcomes: list[JobOutcome] = field(default_factory=list)

    @property
    def sealed(self) -> list[Finalized]:
        """Jobs this run finalized (their metrics are emitted once, by this run)."""
        return [o.finalized for o in self.outcomes if o.finalized is not None and o.finalized.sealed_now]


def reconcile_queued(record: JobRecord, runtime: Runtime) -> JobOutcome:
    """A job waiting for the account's quota: nothing to do while its execution retries CreateJob; once
    the execution is gone (its end event lost), the job never starts — or is taken over if it did."""
    execution_status = runtime.executions.status(record.execution_arn)
    if execution_status == RUNNING:
        return JobOutcome(record.job_name, "queued")
    reason = (
        f"reconciler: execution {record.execution_arn.rsplit(':', 1)[-1]} is "
        f"{execution_status or 'unknown to Step Functions'} while its job is queued"
    )
    return JobOutcome(record.job_name, seal_not_started(record, reason, runtime))


def reconcile_job(record: JobRecord, runtime: Runtime, now: datetime) -> JobOutcome:
    """Look at one job that is not final and do what its state calls for."""
    if record.status == QUEUED_STATUS:
        return reconcile_queued(record, runtime)
    try:
        described = runtime.jobs.describe(record.job_name)
    except LabelingJobNotFound:
        mark_not_found(record, "reconciler", runtime)
        return JobOutcome(record.job_name, "unknown-job")
    if described.status in ENDED_STATUSES:
        action, finalized = on_job_ended(record, described, runtime, "reconciler")
        return JobOutcome(record.job_name, action, finalized)

    runtime.store.add_snapshot(
        ProgressSnapshot(
            job_name=record.job_name,
            taken_at=now,
            status=described.status,
            counters=described.counters,
            poll=0,
            next_wait_seconds=runtime.settings.reconcile_interval_minutes * 60,
        )
    )
    runtime.store.update_job_progress(
        record.job_name,
        described.status,
        described.counters,
        now,
        running_cost_usd(record, described.counters),
    )
    if record.watcher != "execution":
        return JobOutcome(record.job_name, "progress")
    execution_status = runtime.executions.status(record.execution_arn)
    if execution_status == RUNNING:
        return JobOutcome(record.job_name, "progress")
    fresh = runtime.store.get_job(record.job_name)  # the execution-ended handler may have acted already
    if fresh is None or fresh.finalized_at is not None or fresh.watcher != "execution":
        return JobOutcome(record.job_name, "progress")
    reason = (
        f"reconciler: execution {record.execution_arn.rsplit(':', 1)[-1]} is "
        f"{execution_status or 'unknown to Step Functions'} while its job runs"
    )
    took, finalized = take_over(fresh, execution_status, reason, runtime)
    return JobOutcome(record.job_name, took, finalized)


def reconcile(runtime: Runtime, max_workers: int = MAX_WORKERS) -> ReconcileRun:
    """One pass over every job that is not final."""
    now = runtime.clock()
    records = list(runtime.store.active_jobs())

    def guarded(record: JobRecord) -> JobOutcome:
        try:
            return reconcile_job(record, runtime, now)
        except LabelChainError as exc:
            logger.warning(
                "reconciling a job failed; next run retries",
                extra={"job_name": record.job_name, "error": str(exc)},
            )
            return JobOutcome(record.job_name, "error", error=f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(records) or 1))) as pool:
        outcomes = list(pool.map(guarded, records))
    counts = Counter(o.action for o in outcomes)
    for outcome in outcomes:
        if outcome.action in REPAIRS:
            logger.info(
                "reconciler repaired a job", extra={"job_name": outcome.job_name, "action": outcome.action}
            )
    report = ReconcileReport(
        started_at=now.isoformat(),
        jobs=len(records),
        outcomes=dict(sorted(counts.items())),
        repairs=sum(n for action, n in counts.items() if action in REPAIRS),
        errors=counts.get("error", 0),
    )
    return ReconcileRun(report, outcomes)
