"""Turn botocore errors into LabelChain's domain errors at the adapter edge."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, ConnectionError, ReadTimeoutError

from labelchain.errors import TransientServiceError

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


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError (``""`` when absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


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
