"""The tests' fixed time and hand-moved clock: pure, so the pure tests (tests/unit) can use them without
loading moto (``tests.support.aws`` re-exports both for the moto-backed tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EXAMPLE_TIME = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = EXAMPLE_TIME) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
