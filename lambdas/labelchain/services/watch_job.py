"""WatchJob: the Lambda behind WaitForJob (``lambda:invoke.waitForTaskToken``).

It stores the state's task token on the job record — where the job-event handler and the reconciler
find it — and then looks at the job once: a job that ended before the token was stored (its event came
too early) or while the wait was being re-armed resumes the execution at once. Nothing polls: the
execution's history gets no events until the job ends or the wait is re-armed (once a day).
"""

from __future__ import annotations

from labelchain.core.records import ENDED_STATUSES
from labelchain.errors import JobNameConflict, LabelingJobNotFound
from labelchain.services.events import WatchJobEvent, WatchResult
from labelchain.services.lifecycle import job_ended_payload, note_end_detected
from labelchain.services.runtime import Runtime


def watch_job(event: WatchJobEvent, runtime: Runtime) -> WatchResult:
    """Arm the wait: store the token, then resume at once if the job has already ended."""
    stored = runtime.store.update_job(
        event.job_name,
        {"watch_token": event.task_token, "watcher": "execution"},
        expect={"execution_arn": event.execution.id},
    )
    record = runtime.store.get_job(event.job_name)
    if record is None:
        raise LabelingJobNotFound(f"job {event.job_name!r} has no LabelChain record to watch")
    if record.execution_arn != event.execution.id:
        raise JobNameConflict(f"job {event.job_name!r} belongs to execution {record.execution_arn}")
    if not stored and record.finalized_at is not None:
        # Finalized by someone else already (it ended while the execution was away): just carry on.
        resumed = runtime.executions.resume(
            event.task_token, job_ended_payload(record, record.status).model_dump()
        )
        return WatchResult(job_name=event.job_name, status=record.status, resumed=resumed)
    described = runtime.jobs.describe(event.job_name)
    if described.status not in ENDED_STATUSES:
        return WatchResult(job_name=event.job_name, status=described.status, resumed=False)
    record = note_end_detected(record, "watch", runtime)
    resumed = runtime.executions.resume(
        event.task_token, job_ended_payload(record, described.status).model_dump()
    )
    return WatchResult(job_name=event.job_name, status=described.status, resumed=resumed)
