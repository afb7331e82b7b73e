"""PollJob Lambda: one look at a running job; returns its status and the next wait."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from labelchain.handlers.runtime import get_runtime, logger, tracer
from labelchain.services.events import JobEvent, parse_event
from labelchain.services.poll_job import poll_labeling_job


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return poll_labeling_job(parse_event(JobEvent, event), get_runtime()).model_dump(mode="json")
