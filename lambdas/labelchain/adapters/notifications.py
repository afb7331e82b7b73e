"""EventBridge PutEvents: the only module that publishes LabelChain's notifications."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from labelchain.adapters.aws_errors import aws_call
from labelchain.core.notifications import NOTIFICATION_SOURCE, JobNotification, Transition
from labelchain.errors import TransientServiceError


class Notifications:
    """Publishes job notifications to the account's default event bus through an injected client, or
    through a client made by ``client_factory`` on the first notification: most invocations send none,
    so a handler's cold start need not create an EventBridge client."""

    def __init__(self, client: Any = None, *, client_factory: Callable[[], Any] | None = None) -> None:
        if (client is None) == (client_factory is None):
            raise TypeError("pass either a client or a client_factory")
        self._client = client
        self._client_factory = client_factory
        self._creating = threading.Lock()  # the reconciler notifies from several threads

    @property
    def client(self) -> Any:
        if self._client is None and self._client_factory is not None:
            with self._creating:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client

    def publish(self, transition: Transition, notification: JobNotification, job_arn: str | None) -> None:
        entry: dict[str, Any] = {
            "Source": NOTIFICATION_SOURCE,
            "DetailType": transition.value,
            "Detail": notification.model_dump_json(),
        }
        if job_arn:
            entry["Resources"] = [job_arn]
        with aws_call("EventBridge", "PutEvents"):
            response = self.client.put_events(Entries=[entry])
        if response.get("FailedEntryCount", 0):
            failed = response["Entries"][0]
            raise TransientServiceError(
                f"EventBridge PutEvents refused the notification ({failed.get('ErrorCode')}): "
                f"{failed.get('ErrorMessage')}"
            )
