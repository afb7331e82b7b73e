"""What a service needs from the outside world, bundled so handlers build it once and tests inject it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: importing this module must not load every adapter (cold start)
    from labelchain.adapters.notifications import Notifications
    from labelchain.adapters.s3 import ObjectStore
    from labelchain.adapters.sagemaker import LabelingJobs
    from labelchain.adapters.stepfunctions import Executions
    from labelchain.adapters.store import JobStore
    from labelchain.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Runtime:
    """Settings plus the adapters (each wrapping an injected boto3 client) and a clock."""

    settings: Settings
    jobs: LabelingJobs
    objects: ObjectStore
    store: JobStore
    clock: Callable[[], datetime] = field(default=utc_now)
    executions_adapter: Executions | None = None
    """Step Functions; only the lifecycle services (watch, job events, reconciler, execution ended) use it."""
    notifications_adapter: Notifications | None = None
    """EventBridge PutEvents for job notifications; None: notifications are not sent (e.g. unit tests)."""

    @property
    def executions(self) -> Executions:
        if self.executions_adapter is None:
            raise RuntimeError("this Runtime was built without a Step Functions client")
        return self.executions_adapter
