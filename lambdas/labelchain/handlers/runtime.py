"""What every handler shares: one Logger and Tracer, the lazily built Runtime, and clean errors.

Nothing here touches AWS at import time: settings are validated and clients are created on the first
invocation (the cold start) and reused afterwards. ``override_runtime`` is the seam tests and the
offline stack use to inject stubbed clients.

The Tracer exists only when tracing is on (Powertools' rule: in Lambda, ``POWERTOOLS_TRACE_DISABLED``
not true). Building one imports the X-Ray SDK, about a third of a handler's cold import; a disabled
Tracer records nothing, so with tracing off the handler is simply not wrapped by it.

``lambda_handler`` wraps every entry point: Powertools' logging context and tracing, and the rule that
no Python exception class or stack trace reaches an execution's error or cause. A LabelChain error
keeps its name (the state machine retries and catches by it) and message; anything else becomes
``InternalError`` with a correlation id, its traceback logged under that id.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Tracer

from labelchain.errors import InternalError, LabelChainError
from labelchain.services.runtime import Runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SERVICE_NAME = "labelchain"
METRICS_NAMESPACE = "LabelChain"
logger = Logger(service=SERVICE_NAME)


def tracing_enabled() -> bool:
    """Powertools' own test, read once per execution environment as ``Tracer()`` itself would: tracing
    is off when ``POWERTOOLS_TRACE_DISABLED`` is true and outside Lambda (no ``LAMBDA_TASK_ROOT``, SAM
    local, Chalice)."""
    return not Tracer._is_tracer_disabled()  # the rule lives in Powertools; not copied here


tracer: Tracer | None = (
    Tracer(service=SERVICE_NAME, patch_modules=["botocore"])  # only botocore: halves tracing import cost
    if tracing_enabled()
    else None
)
"""The process's Tracer; None when tracing is off (then nothing imports the X-Ray SDK)."""

_runtime: Runtime | None = None


def build_runtime() -> Runtime:
    """A Runtime from this process's environment: settings validated, boto3 clients created."""
    # Imported here to keep the import graph of this module small; the adapters (imported by the
    # services every handler uses) already load boto3, so this saves no cold-start time on its own.
    import boto3  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    from labelchain.adapters.notifications import Notifications  # noqa: PLC0415
    from labelchain.adapters.s3 import ObjectStore  # noqa: PLC0415
    from labelchain.adapters.sagemaker import LabelingJobs  # noqa: PLC0415
    from labelchain.adapters.stepfunctions import Executions  # noqa: PLC0415
    from labelchain.adapters.store import JobStore  # noqa: PLC0415
    from labelchain.settings import (  # noqa: PLC0415
        BOTO_CONNECT_TIMEOUT_SECONDS,
        BOTO_MAX_ATTEMPTS,
        BOTO_MAX_POOL_CONNECTIONS,
        BOTO_READ_TIMEOUT_SECONDS,
        get_settings,
    )

    settings = get_settings()
    session = boto3.session.Session(region_name=settings.region)
    config = Config(
        retries={"mode": "standard", "max_attempts": BOTO_MAX_ATTEMPTS},
        connect_timeout=BOTO_CONNECT_TIMEOUT_SECONDS,
        read_timeout=BOTO_READ_TIMEOUT_SECONDS,
        max_pool_connections=BOTO_MAX_POOL_CONNECTIONS,
        user_agent_extra="labelchain",
    )
    return Runtime(
        settings=settings,
        jobs=LabelingJobs(session.client("sagemaker", config=config)),
        objects=ObjectStore(session.client("s3", config=config)),
        store=JobStore(session.client("dynamodb", config=config), settings.table_name),
        executions_adapter=Executions(session.client("stepfunctions", config=config)),
        notifications_adapter=Notifications(client_factory=lambda: session.client("events", config=config)),
    )


def get_runtime() -> Runtime:
    """The process's Runtime, built (and its settings validated) on first use."""
    global _runtime  # noqa: PLW0603 - one Runtime per Lambda execution environment
    if _runtime is None:
        _runtime = build_runtime()
    return _runtime


@contextmanager
def override_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Use ``runtime`` for every handler call inside the block (tests, offline stack)."""
    global _runtime  # noqa: PLW0603
    previous, _runtime = _runtime, runtime
    try:
        yield runtime
    finally:
        _runtime = previous


Handler = Callable[[Any, "LambdaContext"], Any]


def internal_error_message(correlation_id: str, function_name: str) -> str:
    """What an execution shows for an unexpected failure: where to look, nothing of the code."""
    return (
        f"LabelChain failed unexpectedly in {function_name} (correlation id {correlation_id}); nothing "
        "in the input explains it. The details are in that function's CloudWatch log, on the entries "
        "with this correlation id"
    )


def lambda_handler(handler: Handler) -> Handler:
    """Decorate a Lambda entry point: logging context, tracing and clean errors (see the module doc)."""
    inner = handler if tracer is None else tracer.capture_lambda_handler(capture_response=False)(handler)
    traced = logger.inject_lambda_context(clear_state=True)(inner)

    @functools.wraps(handler)
    def entry_point(event: Any, context: LambdaContext) -> Any:
        try:
            return traced(event, context)
        except LabelChainError as error:
            logger.warning(
                "invocation failed",
                extra={"error": type(error).__name__, "error_message": str(error)},
                exc_info=True,
            )
            # Raised again from here with no frames of its own: Lambda's error payload (the state's
            # cause) carries the message, not the code path.
            raise error.with_traceback(None) from None
        except Exception:
            correlation_id = str(getattr(context, "aws_request_id", "") or uuid.uuid4())
            function_name = str(getattr(context, "function_name", "") or "this function")
            logger.exception("unexpected failure", extra={"correlation_id": correlation_id})
            raise InternalError(internal_error_message(correlation_id, function_name)) from None

    return entry_point
