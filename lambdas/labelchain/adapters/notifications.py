"""EventBridge PutEvents: the only module that publishes LabelChain's notifications."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from labelchain.adapters.aws_errors import is_transient, transient
from labelchain.core.notifications import NOTIFICATION_SOURCE, JobNotification, Transition
from labelchain.errors import TransientServiceError


class Notifications:
    """Publishes job notifications to the account's default event bus through an injected client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        return self._client

    def publish(self, transition: Transition, notification: JobNotification, job_arn: str | None) -> None:
        entry: dict[str, Any] = {
            "Source": NOTIFICATION_SOURCE,
            "DetailType": transition.value,
            "Detail": notification.model_dump_json(),
        }
        if job_arn:
            entry["Resources"] = [job_arn]
        try:
            response = self._client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            if is_transient(exc):
                raise transient("EventBridge", "PutEvents", exc) from exc
            raise
        if response.get("FailedEntryCount", 0):
            failed = response["Entries"][0]
            raise TransientServiceError(
                f"EventBridge PutEvents refused the notification ({failed.get('ErrorCode')}): "
                f"{failed.get('ErrorMessage')}"
            )
