"""ExecutionEnded Lambda (EventBridge target): an execution that ended early stops what it started."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.metrics import emit_counts, emit_sealed
from labelchain.handlers.runtime import get_runtime, lambda_handler, logger
from labelchain.services.events import parse_event
from labelchain.services.execution_ended import ExecutionStatusChange, handle_execution_ended

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

ACTION_METRICS = {"stopped": "JobsStoppedWithTheirExecution", "adopted": "JobsAdoptedByReconciler"}


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result, finalized = handle_execution_ended(parse_event(ExecutionStatusChange, event), get_runtime())
    logger.info("execution end handled", extra=result.model_dump())
    if result.action in ACTION_METRICS:
        emit_counts({ACTION_METRICS[result.action]: 1})
    emit_sealed([finalized])
    return result.model_dump(mode="json")
