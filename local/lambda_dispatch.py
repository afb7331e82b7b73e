"""Run a Lambda invocation in this process: import the handler the function names and call it.

Used by the offline stack and the workflow tests alike, so both execute the handler modules that
``cdk deploy`` ships (``labelchain.handlers.<name>.handler``), not a stand-in.
"""

from __future__ import annotations

import importlib
from typing import Any

from local.moto_engine import InvokedFunction
from local.resources import ACCOUNT, REGION


class LocalLambdaContext:
    """The attributes Powertools reads from a Lambda context object."""

    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def __init__(self, function_name: str = "labelchain-local") -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"


def dispatch_to_handler(function: InvokedFunction, event: Any) -> object:
    """Import ``function.handler`` (``module.attribute``) and call it with the event."""
    if not function.handler:
        raise ValueError(f"function {function.name} has no handler")
    module_name, attribute = function.handler.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), attribute)
    return handler(event, LocalLambdaContext(function.name))
