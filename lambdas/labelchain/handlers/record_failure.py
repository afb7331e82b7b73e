"""RecordFailure Lambda: keep the error of an execution that gave up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.runtime import get_runtime, lambda_handler
from labelchain.services.events import RecordFailureEvent, parse_event
from labelchain.services.record_failure import record_failure

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return record_failure(parse_event(RecordFailureEvent, event), get_runtime()).model_dump(mode="json")
