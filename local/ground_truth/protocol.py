"""The SageMaker JSON 1.1 wire contract: request validation against botocore's model, errors, encoding.

botocore's ``ParamValidator`` checks what the SDK checks client-side (required members, types, minimum
lengths and values, unknown members). The service checks more, so ``validate_request`` also applies
the model's maximums, patterns and enums, with the service's message shape
("1 validation error detected: Value … at '…' failed to satisfy constraint: …"). Java-only regex
classes in the model (``\\p{L}``, ``\\p{N}``, ``\\p{Z}``) are approximated with ``\\w`` and ``\\s``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator

SUPPORTED_OPERATIONS = (
    "CreateLabelingJob",
    "DescribeLabelingJob",
    "StopLabelingJob",
    "ListLabelingJobs",
    "DescribeWorkteam",
    "DescribeSubscribedWorkteam",
)
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w", r"\p{Z}": r"\s"}


class ApiError(Exception):
    """An error response: HTTP ``status``, ``code`` (botocore's ``Error.Code``) and ``message``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> ApiError:
    return ApiError("ValidationException", message)


@functools.cache
def sagemaker_model() -> ServiceModel:
    """botocore's SageMaker API model (loaded once)."""
    return botocore.session.get_session().get_service_model("sagemaker")


def operation_model(operation: str) -> OperationModel:
    if operation not in SUPPORTED_OPERATIONS:
        raise ApiError(
            "UnknownOperationException",
            f"LabelChain's Ground Truth emulator does not implement SageMaker.{operation}; it serves "
            f"{', '.join(SUPPORTED_OPERATIONS)}",
        )
    return sagemaker_model().operation_model(operation)


def validate_request(operation: str, body: Any) -> dict[str, Any]:
    """The request's parameters, checked against the operation's input shape (timestamps decoded)."""
    model = operation_model(operation)
    if not isinstance(body, dict):
        raise ApiError("SerializationException", "the request body must be a JSON object")
    shape = model.input_shape
    params = _decode(body, shape) if shape is not None else {}
    if shape is None:
        return params
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise validation_error(report.generate_report())
    problems = list(_constraint_violations(params, shape, ""))
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        raise validation_error(f"{count} validation {noun} detected: " + "; ".join(problems))
    return params


def _decode(value: Any, shape: Shape) -> Any:
    """JSON → Python per the shape: epoch-second timestamps become aware datetimes."""
    if shape.type_name == "timestamp" and isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if shape.type_name == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: _decode(v, members[k]) if k in members else v for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_decode(item, shape.member) for item in value]
    return value


def _constraint_violations(value: Any, shape: Shape, path: str) -> Iterator[str]:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                yield from _constraint_violations(value[name], member, f"{path}.{name}" if path else name)
    elif kind == "list" and isinstance(value, list):
        yield from _length_violation(value, len(value), shape, path)
        for position, item in enumerate(value, start=1):
            yield from _constraint_violations(item, shape.member, f"{path}.{position}")
    elif kind == "string" and isinstance(value, str):
        yield from _length_violation(value, len(value), shape, path)
        enum = shape.enum
        if enum and value not in enum:
            yield _violation(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = shape.metadata.get("pattern")
        if pattern and (compiled := _compiled(pattern)) is not None and not compiled.fullmatch(value):
            yield _violation(value, path, f"Member must satisfy regular expression pattern: {pattern}")
    elif kind in {"integer", "long", "float", "double"} and isinstance(value, int | float):
        maximum = shape.metadata.get("max")
        if maximum is not None and value > maximum:
            yield _violation(value, path, f"Member must have value less than or equal to {maximum}")


def _length_violation(value: Any, length: int, shape: Shape, path: str) -> Iterator[str]:
    maximum = shape.metadata.get("max")
    if maximum is not None and length > maximum:
        yield _violation(value, path, f"Member must have length less than or equal to {maximum}")


def _violation(value: Any, path: str, constraint: str) -> str:
    shown = value if isinstance(value, str | int | float) else "[…]"
    return f"Value '{shown}' at '{path}' failed to satisfy constraint: {constraint}"


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    for java, python in _JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern)
    except re.error:
        return None


def to_wire(value: Any) -> Any:
    """Python → JSON 1.1: datetimes become epoch seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value
