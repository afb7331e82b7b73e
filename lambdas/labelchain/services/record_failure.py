"""RecordFailure: keep what went wrong when an execution gives up, so nothing is silently lost."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from labelchain.core.records import ExecutionFailure
from labelchain.core.trigger import parse_manifest_key
from labelchain.errors import InvalidJobInput
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


def project_of_state(state: dict[str, Any]) -> str | None:
    """The project an execution was about: its input's ``project``, or the trigger key's folder."""
    if isinstance(state.get("project"), str):
        return str(state["project"])
    trigger = state.get("trigger")
    if isinstance(trigger, dict) and isinstance(trigger.get("key"), str):
        try:
            return parse_manifest_key(trigger["key"], str(trigger.get("bucket", ""))).project
        except InvalidJobInput:
            return None
    return None


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
        runtime.store.update_job(record.job_name, {"execution_error": f"{error}: {cause}"})
        logger.warning(
            "execution gave up on its job; the execution-ended handler stops it (or, by policy, the "
            "reconciler adopts it) and the job is finalized when it ends",
            extra={"job_name": record.job_name, "status": record.status},
        )
    else:
        project = project_of_state(event.state)
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
