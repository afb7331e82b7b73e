"""Fault switches: the misbehaviour of the real service, on demand and reproducibly.

A ``FaultInjection`` is immutable; swap the whole value (``GroundTruthEmulator.faults = …``) to change
faults while the emulator runs. Job faults match job names with a case-insensitive regular expression
(``re.search``), because LabelChain derives job names from execution names. Event faults
(``EventFaults``) make the state-change events as unreliable as EventBridge delivery is: lost,
duplicated, late — deterministically.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field

DEFAULT_FAILURE_REASON = "ClientError: simulated failure injected by LabelChain's Ground Truth emulator"
EVENT_STATUSES = frozenset({"InProgress", "Stopping", "Completed", "Failed", "Stopped"})
"""The statuses a state-change event can carry (a job is created Initializing: no event for that)."""


@dataclass(frozen=True)
class JobFailure:
    """Jobs whose name matches fail at ``at_fraction`` of their planned duration, with ``reason``."""

    name_pattern: str
    reason: str = DEFAULT_FAILURE_REASON
    at_fraction: float = 0.5

    def __post_init__(self) -> None:
        _check_fraction(self.at_fraction)
        re.compile(self.name_pattern)


@dataclass(frozen=True)
class JobStop:
    """Jobs whose name matches are stopped at ``at_fraction`` of their planned duration, as if
    StopLabelingJob had been called then: Stopping, then Stopped, with the counters reached so far."""

    name_pattern: str
    at_fraction: float = 0.5

    def __post_init__(self) -> None:
        _check_fraction(self.at_fraction)
        re.compile(self.name_pattern)


@dataclass(frozen=True)
class StatusDelay:
    """Jobs whose name matches change status later: extra simulated seconds in each phase."""

    name_pattern: str = ".*"
    extra_initializing_seconds: float = 0.0
    """Initializing lasts this much longer (everything after it shifts)."""
    extra_finishing_seconds: float = 0.0
    """InProgress lasts this much longer after the last label before Completed."""
    extra_stopping_seconds: float = 0.0
    """Stopping lasts this much longer before Stopped."""


@dataclass(frozen=True)
class EventDrop:
    """State-change events that are lost: of jobs whose name contains ``name_contains``
    (case-insensitive; None: every job) and whose status is in ``statuses`` (None: every status).
    ``EventDrop()`` loses every event."""

    name_contains: str | None = None
    statuses: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.statuses is not None:
            object.__setattr__(self, "statuses", frozenset(self.statuses))
            unknown = sorted(set(self.statuses) - EVENT_STATUSES)
            if unknown:
                known = ", ".join(sorted(EVENT_STATUSES))
                raise ValueError(f"statuses {unknown} are not state-change event statuses ({known})")

    def matches(self, job_name: str, status: str) -> bool:
        if self.name_contains is not None and self.name_contains.lower() not in job_name.lower():
            return False
        return self.statuses is None or status in self.statuses


@dataclass(frozen=True)
class EventFaults:
    """How the job state-change events are delivered; the default: each once, on time."""

    drops: tuple[EventDrop, ...] = ()
    """An event matching any of these is never delivered."""
    duplicate: bool = False
    """Deliver every event twice in a row (the same ``id``), as EventBridge may."""
    delay_seconds: float = 0.0
    """Deliver every event this many simulated seconds after the change (its ``time`` stays the
    moment of the change)."""

    def __post_init__(self) -> None:
        if self.delay_seconds < 0:
            raise ValueError(f"delay_seconds must not be negative, got {self.delay_seconds}")

    def drops_event(self, job_name: str, status: str) -> bool:
        return any(drop.matches(job_name, status) for drop in self.drops)


@dataclass(frozen=True)
class FaultInjection:
    """Every fault switch; the default injects nothing."""

    throttle_rate: float = 0.0
    """Fraction of requests answered ``ThrottlingException`` (0 to 1)."""
    throttle_seed: int = 0
    """Seeds the throttling draws: the same request sequence is throttled the same way."""
    throttle_operations: frozenset[str] | None = None
    """Only these operations are throttled (None: all four)."""
    failures: tuple[JobFailure, ...] = ()
    stops: tuple[JobStop, ...] = ()
    delays: tuple[StatusDelay, ...] = ()
    events: EventFaults = field(default_factory=EventFaults)
    """Lost, duplicated or late state-change events (read when a change is seen)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.throttle_rate <= 1.0:
            raise ValueError(f"throttle_rate must be within [0, 1], got {self.throttle_rate}")

    def failure_for(self, job_name: str) -> JobFailure | None:
        return next((f for f in self.failures if _matches(f.name_pattern, job_name)), None)

    def stop_for(self, job_name: str) -> JobStop | None:
        return next((s for s in self.stops if _matches(s.name_pattern, job_name)), None)

    def delays_for(self, job_name: str) -> tuple[StatusDelay, ...]:
        return tuple(d for d in self.delays if _matches(d.name_pattern, job_name))


@dataclass
class ThrottleGate:
    """Decides, request by request, whether to throttle; one seeded draw per request (thread-safe)."""

    faults: FaultInjection
    _random: random.Random = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.faults.throttle_seed)

    def should_throttle(self, operation: str) -> bool:
        faults = self.faults
        if faults.throttle_operations is not None and operation not in faults.throttle_operations:
            return False
        if faults.throttle_rate <= 0.0:
            return False
        with self._lock:
            return self._random.random() < faults.throttle_rate


def _matches(pattern: str, job_name: str) -> bool:
    return re.search(pattern, job_name, flags=re.IGNORECASE) is not None


def _check_fraction(value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"at_fraction must be within [0, 1], got {value}")
