"""What LabelChain does when a job ends or loses its execution: the rules every watcher shares.

Three watchers see a labeling job: its execution (WaitForJob, a task token stored on the record), the
job-event handler (Ground Truth's state-change event, best effort), and the reconciler (every few
minutes, the safety net). Whichever sees the end first resumes the waiting execution, or — when no
execution waits any more — finalizes the job itself. A job whose execution ended early is stopped
(or, by policy, adopted by the reconciler): a job never outlives its tracking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools import Logger

from labelchain.adapters.sagemaker import LabelingJobDescription
from labelchain.adapters.stepfunctions import RUNNING
from labelchain.core.notifications import Transition
from labelchain.core.records import ENDED_STATUSES, NOT_FOUND_STATUS, NOT_STARTED_STATUS, JobRecord
from labelchain.errors import LabelingJobNotFound
from labelchain.services.events import JobEnded
from labelchain.services.notify import notify
from labelchain.services.runtime import Runtime

if TYPE_CHECKING:
    from labelchain.services.finalize import Finalized

logger = Logger(child=True)

DetectedBy = Literal["event", "reconciler", "watch"]
EndAction = Literal["resumed", "finalized", "already-final", "execution-not-waiting-yet"]
TakeOverAction = Literal["stopped", "adopted", "finalized", "already-final"]
TRANSIENT_EXECUTION_STATUS = "FAILED"
"""The one execution end the ``on_execution_failure`` policy may answer with "adopt": ABORTED and
TIMED_OUT are deliberate ends (a person, a timeout) and always stop the job."""


def note_end_detected(record: JobRecord, detected_by: DetectedBy, runtime: Runtime) -> JobRecord:
    """Remember when and how LabelChain first saw the job ended (later sightings change nothing)."""
    if record.end_detected_at is not None:
        return record
    now = runtime.clock()
    first = runtime.store.update_job(
        record.job_name,
        {"end_detected_at": now, "end_detected_by": detected_by},
        unless_set=("end_detected_at",),
    )
    if not first:  # another watcher saw it first (or the record is final): keep what it recorded
        return runtime.store.get_job(record.job_name) or record
    return record.model_copy(update={"end_detected_at": now, "end_detected_by": detected_by})


def job_ended_payload(record: JobRecord, status: str) -> JobEnded:
    detected_at = record.end_detected_at.isoformat() if record.end_detected_at else ""
    return JobEnded(
        job_name=record.job_name,
        status=status,
        detected_by=record.end_detected_by or "watch",
        detected_at=detected_at,
    )


def on_job_ended(
    record: JobRecord, described: LabelingJobDescription, runtime: Runtime, detected_by: DetectedBy
) -> tuple[EndAction, Finalized | None]:
    """The job ended: resume the execution waiting for it, or finalize the job if none waits."""
    if record.finalized_at is not None:
        return "already-final", None
    record = note_end_detected(record, detected_by, runtime)
    if record.watcher == "execution":
        payload = job_ended_payload(record, described.status).model_dump()
        if record.watch_token and runtime.executions.resume(record.watch_token, payload):
            return "resumed", None
        if runtime.executions.status(record.execution_arn) == RUNNING:
            fresh = runtime.store.get_job(record.job_name)  # the wait may have been re-armed meanwhile
            token = fresh.watch_token if fresh is not None else None
            if token and token != record.watch_token and runtime.executions.resume(token, payload):
                return "resumed", None
            # Still in CreateJob or between states: WatchJob checks the job itself when it arms the wait.
            return "execution-not-waiting-yet", None
        logger.warning(
            "the job ended after its execution did; finalizing it without the execution",
            extra={"job_name": record.job_name, "execution": record.execution_arn},
        )
    finalized = _finalize(record.job_name, runtime)
    return ("finalized" if finalized.sealed_now else "already-final"), finalized


def take_over(
    record: JobRecord, execution_status: str | None, reason: str, runtime: Runtime
) -> tuple[TakeOverAction, Finalized | None]:
    """The job's execution is gone (``execution_status``: how it ended, None if unknown): stop the job
    — or adopt it when the execution FAILED and the deployment's policy says ``adopt`` — and hand its
    end to the reconciler and the job-event handler. An already ended job is finalized at once."""
    if record.finalized_at is not None:
        return "already-final", None
    try:
        described = runtime.jobs.describe(record.job_name)
    except LabelingJobNotFound:
        described = None
    if described is None:
        mark_not_found(record, reason, runtime)
        return "finalized", None
    if described.status in ENDED_STATUSES:
        runtime.store.update_job(record.job_name, {"watcher": "reconciler"}, remove=("watch_token",))
        finalized = _finalize(record.job_name, runtime)
        return ("finalized" if finalized.sealed_now else "already-final"), finalized
    now = runtime.clock().isoformat()
    adopt = (
        execution_status == TRANSIENT_EXECUTION_STATUS and runtime.settings.on_execution_failure == "adopt"
    )
    if adopt:
        note = f"{now}: adopted by the reconciler ({reason}); it finalizes the job when it ends"
        runtime.store.update_job(
            record.job_name,
            {"watcher": "reconciler", "repairs": [*record.repairs, note]},
            remove=("watch_token",),
        )
        logger.warning("job adopted by the reconciler", extra={"job_name": record.job_name, "reason": reason})
        notify(runtime, record, Transition.NEEDS_ATTENTION, f"adopted by the reconciler: {reason}")
        return "adopted", None
    if described.status != "Stopping":
        runtime.jobs.stop(record.job_name)
    note = f"{now}: stopped ({reason})"
    runtime.store.update_job(
        record.job_name,
        {"watcher": "reconciler", "stop_reason": reason, "repairs": [*record.repairs, note]},
        remove=("watch_token",),
    )
    logger.warning(
        "job stopped: its execution is gone", extra={"job_name": record.job_name, "reason": reason}
    )
    return "stopped", None


def mark_not_found(record: JobRecord, context: str, runtime: Runtime) -> None:
    """Seal a record whose job SageMaker does not know (another account or region, or deleted), and
    let an execution still waiting for it end now (its Finalize then fails with LabelingJobNotFound)."""
    now = runtime.clock()
    note = f"{now.isoformat()}: SageMaker does not know this job ({context})"
    sealed = runtime.store.seal_job(
        record.model_copy(
            update={
                "status": NOT_FOUND_STATUS,
                "watch_token": None,
                "watcher": "reconciler",
                "repairs": [*record.repairs, note],
                "finalized_at": now,
            }
        )
    )
    logger.warning("job record names a job SageMaker does not know", extra={"job_name": record.job_name})
    if sealed:
        notify(runtime, record, Transition.NEEDS_ATTENTION, note)
    if sealed and record.watcher == "execution" and record.watch_token:
        runtime.executions.resume(
            record.watch_token, job_ended_payload(record, NOT_FOUND_STATUS).model_dump()
        )


def seal_not_started(
    record: JobRecord, reason: str, runtime: Runtime
) -> TakeOverAction | Literal["not-started"]:
    """A queued job's execution ended: if SageMaker has the job after all (the last create got a slot as
    the execution ended), take it over like any other; otherwise seal the record NotStarted."""
    try:
        runtime.jobs.describe(record.job_name)
    except LabelingJobNotFound:
        never = record.model_copy(
            update={"status": NOT_STARTED_STATUS, "stop_reason": reason, "finalized_at": runtime.clock()}
        )
        if runtime.store.seal_job(never):
            notify(runtime, never, Transition.NEEDS_ATTENTION, f"never started: {reason}")
        return "not-started"
    action, _ = take_over(record, "ABORTED", reason, runtime)
    return action


def _finalize(job_name: str, runtime: Runtime) -> Finalized:
    """``services.finalize.finalize_job``, imported on the first end: most lifecycle invocations (a wait
    re-armed, a progress event) finalize nothing, so their cold start skips the output readers."""
    from labelchain.services.finalize import finalize_job  # noqa: PLC0415 - see the docstring

    return finalize_job(job_name, runtime)
