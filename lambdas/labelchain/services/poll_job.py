"""PollJob: read the job's status, keep a progress snapshot, and decide when to look again."""

from __future__ import annotations

from labelchain.core.polling import next_wait_seconds
from labelchain.core.records import ProgressSnapshot
from labelchain.services.events import JobEvent, PollState
from labelchain.services.runtime import Runtime

STOPPED_REASON = "the labeling job was stopped before it finished (StopLabelingJob was called)"
FAILED_WITHOUT_REASON = "SageMaker reported the job Failed without a FailureReason"


def failure_reason_for(status: str, reason: str | None) -> str | None:
    """The cause a failed or stopped execution shows; always text for those two statuses."""
    if status == "Failed":
        return reason or FAILED_WITHOUT_REASON
    if status == "Stopped":
        return reason or STOPPED_REASON
    return reason


def poll_labeling_job(event: JobEvent, runtime: Runtime) -> PollState:
    """Describe the job, store a snapshot, and return its status with the next wait."""
    described = runtime.jobs.describe(event.job_name)
    now = runtime.clock()
    elapsed = max(0, int((now - described.created_at).total_seconds()))
    wait = next_wait_seconds(elapsed)
    polls = (event.previous.polls if event.previous else 0) + 1
    runtime.store.add_snapshot(
        ProgressSnapshot(
            job_name=event.job_name,
            taken_at=now,
            status=described.status,
            counters=described.counters,
            poll=polls,
            next_wait_seconds=wait,
        )
    )
    runtime.store.update_job_progress(event.job_name, described.status, described.counters, now)
    return PollState(
        status=described.status,
        wait_seconds=wait,
        polls=polls,
        counters=described.counters,
        failure_reason=failure_reason_for(described.status, described.failure_reason),
        elapsed_seconds=elapsed,
    )
