"""JobEvents Lambda (EventBridge target): Ground Truth's job state change resumes the waiting execution."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.metrics import emit_sealed
from labelchain.handlers.runtime import get_runtime, lambda_handler, logger
from labelchain.services.events import parse_event
from labelchain.services.job_events import JobStateChange, handle_job_state_change

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result, finalized = handle_job_state_change(parse_event(JobStateChange, event), get_runtime())
    logger.info("job state change handled", extra=result.model_dump())
    emit_sealed([finalized])
    return result.model_dump(mode="json")
