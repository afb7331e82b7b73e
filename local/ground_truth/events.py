"""Ground Truth's labeling-job state-change events, as SageMaker sends them to EventBridge.

On every status change of a labeling job (to InProgress, Stopping, Completed, Failed or Stopped; a
job is created Initializing, which sends nothing) SageMaker publishes::

    {"version": "0", "id": <uuid>, "detail-type": "SageMaker Ground Truth Labeling Job State Change",
     "source": "aws.sagemaker", "account": <account>, "time": <ISO-8601 UTC>, "region": <region>,
     "resources": [<labeling job ARN>], "detail": {"LabelingJobStatus": <status>}}

The emulator computes a job's status lazily from its timeline, so ``EventWatcher`` polls in a
background thread (every ``poll_seconds`` of real time) for the changes that have happened on the
simulated clock and hands each one, once, to a sink: ``time`` is the simulated moment of the change,
and ``detail`` also says ``"simulated": true``. ``EventFaults`` (``faults.py``) loses, duplicates or
delays them, as EventBridge's best-effort delivery may.
"""

from __future__ import annotations

import copy
import heapq
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from local.ground_truth.jobs import Clock, LabelingJobService
from local.ground_truth.lifecycle import StatusChange
from local.ground_truth.responses import SimulatedJob

logger = logging.getLogger(__name__)

DETAIL_TYPE = "SageMaker Ground Truth Labeling Job State Change"
SOURCE = "aws.sagemaker"
DEFAULT_POLL_SECONDS = 0.01
"""Real seconds between two looks for new status changes."""
EventSink = Callable[[dict[str, Any]], object]
"""Receives each delivered event (called from the watcher thread, one event at a time); what it
returns is ignored, so ``LocalEventBus.put_event`` is a sink as it is."""
_ID_NAMESPACE = uuid.UUID("6f1c1a52-3b8e-4d3a-9a57-9c2f4e0b7d11")


def event_time(moment: datetime) -> str:
    """EventBridge's ``time``: ISO-8601 UTC to the second, e.g. ``2026-01-05T13:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def state_change_event(job: SimulatedJob, change: StatusChange, moment: datetime) -> dict[str, Any]:
    """The event of ``change``; its ``id`` is derived from the job and the change (reproducible)."""
    key = f"{job.arn}\x1f{job.created_at.isoformat()}\x1f{change.at!r}\x1f{change.status}"
    return {
        "version": "0",
        "id": str(uuid.uuid5(_ID_NAMESPACE, key)),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": job.account,
        "time": event_time(moment),
        "region": job.region,
        "resources": [job.arn],
        "detail": {"LabelingJobStatus": change.status, "simulated": True},
    }


class EventWatcher:
    """Turns the service's status changes into events and delivers them to ``sink``.

    ``start()`` runs a daemon thread that calls ``publish_due()`` every ``poll_seconds`` (real time);
    ``stop()`` ends and joins it (events not delivered by then are lost). ``sink`` may be replaced at
    any time; None delivers nothing. A sink that raises is logged, and delivery goes on.
    """

    def __init__(
        self,
        service: LabelingJobService,
        clock: Clock,
        sink: EventSink | None = None,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be positive, got {poll_seconds}")
        self.sink = sink
        self._service = service
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._pending: list[tuple[datetime, int, dict[str, Any]]] = []
        """Events waiting for their delivery moment (a heap); the counter keeps their order."""
        self._sequence = 0
        self.delivered = 0
        """Events handed to the sink so far (a duplicate counts twice; a sink that raised counts)."""
        self.dropped = 0
        """Events lost to ``EventFaults.drops`` so far."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="ground-truth-emulator-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        if thread is not threading.current_thread():  # a sink may stop the emulator
            thread.join(timeout=5)
        self._thread = None

    def publish_due(self) -> int:
        """Schedule the changes that have happened since the last call, deliver the events that are
        due; returns how many events were handed to the sink."""
        with self._lock:
            faults = self._service.faults.events
            for job, change, moment in self._service.status_changes_due():
                if faults.drops_event(job.name, change.status):
                    self.dropped += 1
                    continue
                event = state_change_event(job, change, moment)
                deliver_at = moment + timedelta(seconds=faults.delay_seconds)
                for _ in range(2 if faults.duplicate else 1):
                    heapq.heappush(self._pending, (deliver_at, self._sequence, event))
                    self._sequence += 1
            now = self._clock()
            delivered = 0
            while self._pending and self._pending[0][0] <= now:
                _, _, event = heapq.heappop(self._pending)
                delivered += self._deliver(event)
            self.delivered += delivered
            return delivered

    def _deliver(self, event: dict[str, Any]) -> int:
        sink = self.sink
        if sink is None:
            return 0
        try:
            sink(copy.deepcopy(event))  # a duplicate is a copy: the sink may change what it gets
        except Exception:
            logger.exception(
                "the state-change event sink raised on %s %s; delivery goes on",
                event["resources"][0],
                event["detail"]["LabelingJobStatus"],
            )
        return 1

    def _run(self) -> None:
        while not self._stopping.wait(self._poll_seconds):
            try:
                self.publish_due()
            except Exception:
                logger.exception("the state-change event watcher failed; it goes on")
