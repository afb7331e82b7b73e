"""RecordFailure: keep what went wrong when an execution gives up, so nothing is silently lost."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from aws_lambda_powertools import Logger

from labelchain.core.records import ExecutionFailure
from labelchain.errors import LabelingJobNotFound
from labelchain.services.events import FailureResult, RecordFailureEvent
from labelchain.services.runtime import Runtime

logger = Logger(child=True)
MAX_CAUSE_CHARS = 4000


def readable_cause(cause: str) -> str:
    """A Lambda error's Cause is the runtime's JSON error payload; keep just its message."""
    try:
        payload: Any = json.loads(cause)
    except (TypeError, ValueError):
        return cause[:MAX_CAUSE_CHARS]
    if isinstance(payload, dict) and "errorMessage" in payload:
        return str(payload["errorMessage"])[:MAX_CAUSE_CHARS]
    return cause[:MAX_CAUSE_CHARS]


def record_failure(event: RecordFailureEvent, runtime: Runtime) -> FailureResult:
    """Attach the error to the job record if a job exists, else record the failed execution."""
    error_info = event.state.get("error") or {}
    error = str(error_info.get("Error", "States.Unknown"))
    cause = readable_cause(str(error_info.get("Cause", "")))
    job_name = event.state.get("job_name")
    now = runtime.clock()
    record = runtime.store.get_job(job_name) if isinstance(job_name, str) else None
    if record is not None and record.execution_arn != event.execution.id:
        logger.warning(
            "state names a job another execution owns; recording the failure on this execution only",
            extra={"job_name": record.job_name, "owner": record.execution_arn},
        )
        record = None
    if record is not None:
        status = record.status
        with contextlib.suppress(LabelingJobNotFound):
            status = runtime.jobs.describe(record.job_name).status
        runtime.store.save_job(
            record.model_copy(update={"status": status, "execution_error": f"{error}: {cause}"})
        )
        if status not in {"Completed", "Failed", "Stopped"}:
            logger.warning(
                "execution gave up while the labeling job is still running; it continues in SageMaker",
                extra={"job_name": record.job_name, "status": status},
            )
    else:
        raw_input = event.state
        project = raw_input.get("project") if isinstance(raw_input.get("project"), str) else None
        runtime.store.record_execution_failure(
            ExecutionFailure(
                execution_arn=event.execution.id,
                execution_name=event.execution.name,
                project=project,
                error=error,
                cause=cause,
                failed_at=now,
            )
        )
    return FailureResult(error=error, cause=cause, job_name=job_name if isinstance(job_name, str) else None)
