"""Finalize Lambda: seal an ended job's record (model, counters, cost); emit its metrics once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.metrics import emit_sealed
from labelchain.handlers.runtime import get_runtime, lambda_handler
from labelchain.services.events import JobEvent, parse_event
from labelchain.services.finalize import finalize_job
from labelchain.services.worker_responses import ReadBudget

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    budget = ReadBudget.of_lambda_context(context)  # worker time is read until the invocation nears its end
    finalized = finalize_job(parse_event(JobEvent, event).job_name, get_runtime(), budget)
    emit_sealed([finalized])
    return finalized.result.model_dump(mode="json")
