"""A compressed clock: simulated time that runs ``scale`` times faster than the wall clock.

The Ground Truth emulator, the handlers' Runtime and the Step Functions Wait states of the offline
stack all read this one clock, so a 4-hour labeling job takes seconds while every duration LabelChain
records (and every poll interval it chooses) is in simulated time, as on AWS.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Simulated time starts here (a fixed instant, so simulated timestamps do not leak the real date)."""


class CompressedClock:
    """``now()`` advances ``scale`` simulated seconds per real second; ``sleep`` waits simulated time."""

    def __init__(self, scale: float, start: datetime = DEFAULT_START) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.scale = scale
        self.start = start
        self._origin = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self.now()

    def now(self) -> datetime:
        """The current simulated time (timezone-aware UTC)."""
        with self._lock:
            elapsed = time.monotonic() - self._origin
        return self.start + timedelta(seconds=elapsed * self.scale)

    def real_seconds(self, simulated_seconds: float) -> float:
        """How long ``simulated_seconds`` take on the wall clock."""
        return max(0.0, simulated_seconds) / self.scale

    def sleep(self, simulated_seconds: float) -> None:
        """Block for ``simulated_seconds`` of simulated time."""
        time.sleep(self.real_seconds(simulated_seconds))
