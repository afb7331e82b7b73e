"""PrepareDataset Lambda: split the experiment's manifest into its two parts and plan its three jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.runtime import get_runtime, lambda_handler
from labelchain.services.events import parse_event
from labelchain.services.experiment_events import PrepareDatasetEvent
from labelchain.services.prepare_dataset import prepare_dataset

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = prepare_dataset(parse_event(PrepareDatasetEvent, event), get_runtime())
    return result.model_dump(mode="json")
