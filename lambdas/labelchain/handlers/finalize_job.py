"""Finalize Lambda: seal an ended job's record (model, counters, cost); emit its metrics once."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from labelchain.handlers.metrics import emit_sealed
from labelchain.handlers.runtime import get_runtime, logger, tracer
from labelchain.services.events import JobEvent, parse_event
from labelchain.services.finalize import finalize_job


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    finalized = finalize_job(parse_event(JobEvent, event).job_name, get_runtime())
    emit_sealed([finalized])
    return finalized.result.model_dump(mode="json")
