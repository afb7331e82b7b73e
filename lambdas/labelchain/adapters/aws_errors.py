"""Turn botocore errors into LabelChain's domain errors at the adapter edge.

Every AWS call an adapter makes runs inside ``aws_call``: an error code the call gives a meaning to
becomes that domain error, throttling, 5xx and connection trouble become ``TransientServiceError``
(the state machines retry it), anything else leaves unchanged. Codes that are an *answer* rather than
an error (a stale task token, an execution that does not exist) are read with ``has_code``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from labelchain.errors import TransientServiceError

AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
"""What a boto3 call raises on its own: catch these, never botocore's classes, outside ``adapters/``."""
AWS_FAILURES: tuple[type[Exception], ...] = (*AWS_ERRORS, TransientServiceError)
"""What a call through an adapter raises when AWS fails (the CLI reports these as an AWS problem)."""

TRANSIENT_ERROR_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "SlowDown",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "TransactionConflictException",
    }
)

ErrorFor = Callable[[ClientError], Exception]
"""Builds the domain error for one AWS error code (it gets the ClientError, to quote it)."""


def error_code(exc: BaseException, default: str = "") -> str:
    """The AWS error code of a ClientError (``default`` when absent or not a ClientError)."""
    if not isinstance(exc, ClientError):
        return default
    return str(exc.response.get("Error", {}).get("Code", default))


def error_message(exc: BaseException) -> str:
    """AWS's message of a ClientError; ``str(exc)`` for anything else."""
    if not isinstance(exc, ClientError):
        return str(exc)
    return str(exc.response.get("Error", {}).get("Message", ""))


def has_code(exc: BaseException, codes: Collection[str]) -> bool:
    """Whether ``exc`` is a ClientError whose code is one of ``codes``."""
    return isinstance(exc, ClientError) and error_code(exc) in codes


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and connection trouble: worth retrying with backoff."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in TRANSIENT_ERROR_CODES or int(status) >= 500
    return isinstance(exc, ConnectionError | ReadTimeoutError)


def transient(service: str, operation: str, exc: ClientError | BotoCoreError) -> TransientServiceError:
    """A TransientServiceError that says which call was refused and why."""
    detail = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return TransientServiceError(f"{service} {operation} refused transiently ({detail}): {exc}")


def translate(
    service: str, operation: str, exc: Exception, codes: Mapping[str, ErrorFor] | None = None
) -> Exception | None:
    """The domain error ``exc`` stands for — ``codes[its code]``, else a TransientServiceError when it is
    transient — or None when it has no meaning here (the caller re-raises it unchanged)."""
    if isinstance(exc, ClientError):
        error_for = (codes or {}).get(error_code(exc))
        if error_for is not None:
            return error_for(exc)
    if isinstance(exc, ClientError | BotoCoreError) and is_transient(exc):
        return transient(service, operation, exc)
    return None


@contextmanager
def aws_call(service: str, operation: str, codes: Mapping[str, ErrorFor] | None = None) -> Iterator[None]:
    """Run one AWS call, raising ``translate``'s domain error (from the botocore one) when there is one."""
    try:
        yield
    except AWS_ERRORS as exc:
        translated = translate(service, operation, exc, codes)
        if translated is None:
            raise
        raise translated from exc
