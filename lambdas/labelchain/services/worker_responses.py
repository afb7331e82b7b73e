"""Reading a job's worker-response files: a bounded thread pool, inside a time budget.

Ground Truth writes one worker-response file per human-labeled object and iteration, so a 100,000-object
job leaves 100,000 or more of them. One GetObject after another at 15–20 ms each is 25–33 minutes, longer
than any Lambda runs. Here up to ``MAX_READERS`` files are read at once through the one S3 client
(boto3 clients are thread-safe; its pool holds ``settings.BOTO_MAX_POOL_CONNECTIONS`` connections, which
leaves some for the listing and the output summary read on the caller's thread). Each worker thread
streams its file and hands back only what the file contributed (``core.labor.WorkerResponseFile``); the
caller's thread merges those in the order the files were listed, so the result never depends on which
read finished first, and at most ``2 × MAX_READERS`` reads are queued at a time.

The budget: reading stops once the invocation nears its end (``ReadBudget``); the files listed after
that are counted as not read, the worker time is marked partial on the record, and the job is still
finalized with its cost.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from labelchain.adapters.s3 import ObjectChanged, ObjectMissing, ObjectStore
from labelchain.core.labor import (
    WorkerResponseFile,
    WorkerTimeTally,
    read_worker_response_file,
    unfetched_worker_response,
)
from labelchain.settings import BOTO_MAX_POOL_CONNECTIONS

MAX_READERS = 16
"""Concurrent GetObjects; below ``BOTO_MAX_POOL_CONNECTIONS`` so the caller's own reads keep a
connection."""
RESERVE_SECONDS = 60.0
"""Kept back from a Lambda invocation's remaining time for what follows the reads: the rest of the
listing, the output manifests, sealing the record (the boto3 call budget, 3 × 13 s, fits in it)."""
DEFAULT_BUDGET_SECONDS = 180.0
"""How long reading may go on when the caller has no Lambda context to ask (the lifecycle functions
finalize with it; each runs 5 minutes or more)."""

if MAX_READERS >= BOTO_MAX_POOL_CONNECTIONS:  # pragma: no cover - a guard on two constants
    raise ValueError("MAX_READERS must stay below settings.BOTO_MAX_POOL_CONNECTIONS")


@dataclass(frozen=True)
class ReadBudget:
    """How long reading may go on: until ``remaining_seconds()`` falls to ``reserve_seconds``."""

    remaining_seconds: Callable[[], float]
    reserve_seconds: float = RESERVE_SECONDS

    def exhausted(self) -> bool:
        return self.remaining_seconds() <= self.reserve_seconds

    @classmethod
    def of_lambda_context(cls, context: Any) -> ReadBudget:
        """The invocation's remaining time less ``RESERVE_SECONDS``; a context without
        ``get_remaining_time_in_millis`` (the offline stack's) gets the default budget."""
        remaining_millis = getattr(context, "get_remaining_time_in_millis", None)
        if not callable(remaining_millis):
            return cls.seconds_from_now(DEFAULT_BUDGET_SECONDS)
        return cls(lambda: float(remaining_millis()) / 1000)

    @classmethod
    def seconds_from_now(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> ReadBudget:
        """``seconds`` of reading from now, on ``clock`` (real time: never the simulated job clock)."""
        deadline = clock() + seconds
        return cls(lambda: deadline - clock(), reserve_seconds=0.0)


def read_one(objects: ObjectStore, bucket: str, key: str, iteration: int) -> WorkerResponseFile:
    """Stream one file and reduce it to what it contributes; a file gone from S3 is counted, not raised
    (a transient error still is: the caller's retry reads the job again)."""
    try:
        return read_worker_response_file(key, iteration, objects.iter_chunks(bucket, key))
    except (ObjectMissing, ObjectChanged) as exc:
        return unfetched_worker_response(key, f"{type(exc).__name__}: {exc}")


class WorkerResponseReader:
    """Reads the worker-response files it is handed, ``max_readers`` at a time, into ``tally``.

    Use it as a context manager: leaving the block waits for the reads still running and merges them
    (or, when the block raised, cancels the queued ones).
    """

    def __init__(
        self,
        objects: ObjectStore,
        bucket: str,
        tally: WorkerTimeTally,
        budget: ReadBudget,
        max_readers: int = MAX_READERS,
    ) -> None:
        if not 1 <= max_readers < BOTO_MAX_POOL_CONNECTIONS:
            raise ValueError(f"max_readers: between 1 and {BOTO_MAX_POOL_CONNECTIONS - 1}, got {max_readers}")
        self._objects = objects
        self._bucket = bucket
        self._tally = tally
        self._budget = budget
        self._window = 2 * max_readers
        self._pool = ThreadPoolExecutor(max_workers=max_readers, thread_name_prefix="worker-responses")
        self._in_flight: deque[Future[WorkerResponseFile]] = deque()
        self.out_of_time = False

    def read(self, key: str, iteration: int) -> None:
        """Queue one file, or count it as not read once the budget is spent (it stays spent)."""
        if self.out_of_time or self._budget.exhausted():
            self.out_of_time = True
            self._tally.skip_unread()
            return
        while len(self._in_flight) >= self._window:
            self._tally.merge(self._in_flight.popleft().result())
        self._in_flight.append(self._pool.submit(read_one, self._objects, self._bucket, key, iteration))

    def __enter__(self) -> WorkerResponseReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            return
        try:
            while self._in_flight:
                self._tally.merge(self._in_flight.popleft().result())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
