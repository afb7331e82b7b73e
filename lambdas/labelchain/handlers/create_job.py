"""CreateJob Lambda: validate the execution input and start (or adopt) one labeling job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.runtime import get_runtime, lambda_handler
from labelchain.services.create_job import create_labeling_job
from labelchain.services.events import CreateJobEvent, parse_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = create_labeling_job(parse_event(CreateJobEvent, event), get_runtime())
    return result.model_dump(mode="json")
