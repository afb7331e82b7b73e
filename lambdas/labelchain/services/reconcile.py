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
from decimal import Decimal

from aws_lambda_powertools import Logger

from labelchain.adapters.stepfunctions import RUNNING
from labelchain.core.models import FrozenModel
from labelchain.core.notifications import Transition
from labelchain.core.records import ENDED_STATUSES, QUEUED_STATUS, JobRecord, ProgressSnapshot
from labelchain.errors import LabelingJobNotFound
from labelchain.services.finalize import Finalized
from labelchain.services.lifecycle import mark_not_found, on_job_ended, seal_not_started, take_over
from labelchain.services.notify import notify
from labelchain.services.record_metrics import running_cost_usd
from labelchain.services.runtime import Runtime

logger = Logger(child=True)

MAX_WORKERS = 16
NOT_FOUND_MISSES_TO_SEAL = 3
BUDGET_WARNING_SHARE = Decimal("0.8")
REPAIRS = frozenset(
    {"resumed", "finalized", "stopped", "adopted", "unknown-job", "not-started", "stop-repeated"}
)
"""Outcomes that repaired drift (everything else is routine progress or nothing to do)."""


class ReconcileReport(FrozenModel):
    """What one reconciler run saw and did: job counts by outcome."""

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
    project: str | None = None
    running: RunningJob | None = None


@dataclass(frozen=True)
class RunningJob:
    """What a running job contributes to its project's gauges (dashboard) this run."""

    human_labeled: int
    machine_labeled: int
    running_cost_usd: Decimal
    stalled: bool


@dataclass
class ReconcileRun:
    report: ReconcileReport
    outcomes: list[JobOutcome] = field(default_factory=list)

    def project_gauges(self) -> dict[str, dict[str, float]]:
        """Per project: running jobs, labeled objects so far, running cost, stalled jobs."""
        gauges: dict[str, dict[str, float]] = {}
        for outcome in self.outcomes:
            if outcome.running is None or outcome.project is None:
                continue
            project = gauges.setdefault(
                outcome.project,
                {
                    "RunningJobs": 0,
                    "HumanLabeledSoFar": 0,
                    "MachineLabeledSoFar": 0,
                    "RunningCostUSD": 0.0,
                    "StalledJobs": 0,
                },
            )
            project["RunningJobs"] += 1
            project["HumanLabeledSoFar"] += outcome.running.human_labeled
            project["MachineLabeledSoFar"] += outcome.running.machine_labeled
            project["RunningCostUSD"] += float(outcome.running.running_cost_usd)
            project["StalledJobs"] += int(outcome.running.stalled)
        return gauges

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


def check_budget(record: JobRecord, running: Decimal, runtime: Runtime) -> str | None:
    """Warn once at ``BUDGET_WARNING_SHARE`` of the job's budget; stop the job once at 100 % (its
    execution then ends with BudgetExceeded, the record keeps the cost of what was labeled)."""
    if record.budget_usd is None:
        return None
    budget = Decimal(record.budget_usd)
    if running >= budget:
        reason = (
            f"BudgetExceeded: the running cost {running:.2f} USD reached the job's budget of {budget:.2f} USD"
        )
        if not runtime.store.update_job(
            record.job_name, {"stop_reason": reason}, unless_set=("stop_reason",)
        ):
            return None  # already stopped (by a budget or otherwise)
        runtime.jobs.stop(record.job_name)
        logger.warning("job stopped: budget exceeded", extra={"job_name": record.job_name, "reason": reason})
        notify(runtime, record, Transition.BUDGET_EXCEEDED, reason)
        return "budget-stopped"
    if running >= budget * BUDGET_WARNING_SHARE:
        warned = runtime.store.update_job(
            record.job_name, {"budget_warned_at": runtime.clock()}, unless_set=("budget_warned_at",)
        )
        if warned:
            reason = (
                f"the running cost {running:.2f} USD is {running / budget:.0%} of the budget {budget:.2f} USD"
            )
            notify(runtime, record, Transition.BUDGET_WARNING, reason)
            return "budget-warning"
    return None


def reconcile_job(record: JobRecord, runtime: Runtime, now: datetime) -> JobOutcome:
    """Look at one job that is not final and do what its state calls for."""
    if record.status == QUEUED_STATUS:
        return reconcile_queued(record, runtime)
    try:
        described = runtime.jobs.describe(record.job_name)
    except LabelingJobNotFound:
        misses = record.not_found_misses + 1
        if misses < NOT_FOUND_MISSES_TO_SEAL:
            runtime.store.update_job(record.job_name, {"not_found_misses": misses})
            return JobOutcome(record.job_name, "not-found-yet")
        mark_not_found(record, f"reconciler, {misses} runs in a row", runtime)
        return JobOutcome(record.job_name, "unknown-job")
    if record.not_found_misses:
        runtime.store.update_job(record.job_name, {"not_found_misses": 0})
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
    running = running_cost_usd(record, described.counters)
    changed = described.counters.total_labeled != record.counters.total_labeled
    runtime.store.update_job_progress(
        record.job_name, described.status, described.counters, now, running, labeled_changed=changed
    )
    last_change = now if changed else (record.labeled_changed_at or record.created_at)
    gauges = RunningJob(
        human_labeled=described.counters.human_labeled,
        machine_labeled=described.counters.machine_labeled,
        running_cost_usd=Decimal(running),
        stalled=(now - last_change).total_seconds() >= runtime.settings.stalled_job_hours * 3600,
    )
    progressed = record.model_copy(update={"counters": described.counters, "running_cost_usd": running})
    budget_action = check_budget(progressed, Decimal(running), runtime)
    if budget_action is not None:
        return JobOutcome(record.job_name, budget_action, project=record.project, running=gauges)
    if record.watcher != "execution":
        if record.stop_reason and described.status in {"Initializing", "InProgress"}:
            # LabelChain decided to stop this job and SageMaker still runs it: ask again.
            runtime.jobs.stop(record.job_name)
            return JobOutcome(record.job_name, "stop-repeated", project=record.project, running=gauges)
        return JobOutcome(record.job_name, "progress", project=record.project, running=gauges)
    execution_status = runtime.executions.status(record.execution_arn)
    if execution_status == RUNNING:
        return JobOutcome(record.job_name, "progress", project=record.project, running=gauges)
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
    unreadable: list[str] = []
    records = list(runtime.store.active_jobs(unreadable))
    for key in unreadable:
        logger.error("active-jobs index item is not a valid job record; skipped", extra={"key": key})

    def guarded(record: JobRecord) -> JobOutcome:
        try:
            return reconcile_job(record, runtime, now)
        except Exception as exc:  # one job's trouble must never stop the others
            logger.exception(
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
        errors=counts.get("error", 0) + len(unreadable),
    )
    return ReconcileRun(report, outcomes)
