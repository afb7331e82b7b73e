"""CompareJobs Lambda: compare the seed experiment's three jobs and publish the report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.runtime import get_runtime, lambda_handler
from labelchain.services.compare_jobs import compare_jobs
from labelchain.services.events import parse_event
from labelchain.services.experiment_events import CompareJobsEvent

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = compare_jobs(parse_event(CompareJobsEvent, event), get_runtime())
    return result.model_dump(mode="json")
