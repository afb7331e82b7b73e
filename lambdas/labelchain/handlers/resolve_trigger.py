"""ResolveTrigger Lambda: a manifest upload (``{"trigger", "execution"}``) → a LabelingJob input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.core.trigger import execution_input
from labelchain.handlers.runtime import get_runtime, lambda_handler
from labelchain.services.events import parse_event
from labelchain.services.resolve_trigger import ResolveTriggerEvent, resolve_trigger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    job_input = resolve_trigger(parse_event(ResolveTriggerEvent, event), get_runtime())
    return execution_input(job_input)
