"""What ``status`` and ``stop`` are pointed at: a job (name or ARN) or an execution (name or ARN)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labelchain.cli.exits import AWS, USAGE, CliError
from labelchain.cli.stack import execution_arn_for
from labelchain.core.naming import job_name_from_arn
from labelchain.core.records import JobRecord

if TYPE_CHECKING:
    from labelchain.cli.aws import Aws


@dataclass(frozen=True)
class Target:
    """A job record, or an execution of the stack (``kind``: ``labeling-job`` or ``experiment``)."""

    execution_arn: str
    kind: str
    record: JobRecord | None = None
    """Set when the target was named as a job."""

    @property
    def execution_name(self) -> str:
        return self.execution_arn.rsplit(":", 1)[-1]


def _execution_exists(stepfunctions: Any, execution_arn: str) -> bool:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from labelchain.adapters.aws_errors import has_code  # noqa: PLC0415

    try:
        stepfunctions.describe_execution(executionArn=execution_arn)
    except ClientError as exc:
        if has_code(exc, {"ExecutionDoesNotExist", "InvalidArn"}):
            return False
        raise
    return True


def resolve_target(text: str, aws: Aws) -> Target:
    """Find a job record or an execution of the stack's state machines; ``CliError`` if neither."""
    outputs = aws.outputs()
    if text.startswith("arn:") and ":execution:" in text:
        kind = outputs.machine_kind(text)
        if kind is None:
            raise CliError(f"{text}: not an execution of stack {outputs.stack_name}'s state machines", USAGE)
        if not _execution_exists(aws.client("stepfunctions"), text):
            raise CliError(f"{text}: no such execution", AWS)
        return Target(text, kind)
    job_name = job_name_from_arn(text) if text.startswith("arn:") and ":labeling-job/" in text else text
    record = aws.store().get_job(job_name)
    if record is not None:
        kind = outputs.machine_kind(record.execution_arn) or "labeling-job"
        return Target(record.execution_arn, kind, record)
    if not text.startswith("arn:"):
        stepfunctions = aws.client("stepfunctions")
        for machine in (outputs.labeling_job_arn, outputs.experiment_arn):
            candidate = execution_arn_for(machine, text)
            if _execution_exists(stepfunctions, candidate):
                kind = outputs.machine_kind(candidate)
                return Target(candidate, kind or "labeling-job")
    raise CliError(
        f"{text!r}: no job record of that name in table {outputs.table_name} and no execution of that name "
        f"in stack {outputs.stack_name} (labelchain status lists running jobs)",
        AWS,
    )
