"""WatchJob Lambda (the WaitForJob state): store the task token; resume at once if the job has ended."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.runtime import get_runtime, lambda_handler
from labelchain.services.events import WatchJobEvent, parse_event
from labelchain.services.watch_job import watch_job

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return watch_job(parse_event(WatchJobEvent, event), get_runtime()).model_dump(mode="json")
