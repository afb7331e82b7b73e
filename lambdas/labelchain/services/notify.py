"""Publish a job notification, best effort: a notification that cannot be sent is logged and counted,
never a reason to undo or repeat the transition it reports (which has already been recorded)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from labelchain.adapters.aws_errors import AWS_ERRORS
from labelchain.core.notifications import Transition, job_notification
from labelchain.core.records import JobRecord
from labelchain.errors import LabelChainError
from labelchain.services.runtime import Runtime

logger = Logger(child=True)
_NOT_SENT: tuple[type[Exception], ...] = (LabelChainError, *AWS_ERRORS)
"""Why a notification may not have been sent: logged and counted, never raised."""


def notify(runtime: Runtime, record: JobRecord, transition: Transition, reason: str | None = None) -> bool:
    """Send ``transition`` of ``record``; False (logged as an error) when it could not be sent."""
    if runtime.notifications_adapter is None:
        return False
    notification = job_notification(record, runtime.settings.region, reason)
    try:
        runtime.notifications_adapter.publish(transition, notification, record.job_arn)
    except _NOT_SENT as exc:
        logger.error(
            "notification not sent",
            extra={"job_name": record.job_name, "transition": transition.value, "error": str(exc)},
        )
        return False
    return True
