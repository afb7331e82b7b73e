"""ExtractModel Lambda: record a completed job's final model and advance the project's pointer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from labelchain.handlers.runtime import get_runtime, logger, tracer
from labelchain.services.events import JobEvent, parse_event
from labelchain.services.extract_model import extract_model


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return extract_model(parse_event(JobEvent, event), get_runtime()).model_dump(mode="json")
