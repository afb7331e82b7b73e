"""The poll loop LabelChain used before the task-token wait: the baseline of the lifecycle benchmarks.

The old LabelingJob state machine polled a running job (Wait → PollJob → Choice) and waited in
proportion to the job's age: a tenth of it, at least ``MIN_WAIT_SECONDS`` and at most
``MAX_WAIT_SECONDS``. A Standard execution fails at 25,000 history events, and one cycle writes
``EVENTS_PER_POLL_CYCLE`` events; a fixed 30 s poll would die within a day. ``polls_for_duration`` says
how many polls a job of a given length needed; ``bench/lifecycle_history.py`` measures the events of one
cycle in moto's engine, ``bench/completion_latency.py`` and ``bench/demo_run.py`` use the rule as the
baseline.
"""

from __future__ import annotations

import math

MIN_WAIT_SECONDS = 60
MAX_WAIT_SECONDS = 1800
AGE_FRACTION = 0.1
"""Wait a tenth of the job's age: a status change is noticed within ~10 % of the time it took."""

HISTORY_EVENT_LIMIT = 25_000
EVENTS_PER_POLL_CYCLE = 9
"""WaitStateEntered/Exited (2) + TaskStateEntered, LambdaFunctionScheduled/Started/Succeeded,
TaskStateExited (5) + ChoiceStateEntered/Exited (2): what ``bench/lifecycle_history.py`` measures for one
cycle of a definition with the old loop's shape, executed by moto's engine."""
LABELING_JOB_MAX_SECONDS = 30 * 24 * 3600


def next_wait_seconds(elapsed_seconds: float) -> int:
    """Seconds to wait before the next poll of a job that has been running ``elapsed_seconds``."""
    proportional = math.ceil(max(elapsed_seconds, 0.0) * AGE_FRACTION)
    return max(MIN_WAIT_SECONDS, min(MAX_WAIT_SECONDS, proportional))


def polls_for_duration(duration_seconds: float, first_wait_seconds: int = MIN_WAIT_SECONDS) -> int:
    """Number of polls until a job that ends after ``duration_seconds`` is seen as ended."""
    elapsed = float(first_wait_seconds)
    polls = 1
    while elapsed < duration_seconds:
        elapsed += next_wait_seconds(elapsed)
        polls += 1
    return polls


def history_events_for_duration(duration_seconds: float, fixed_events: int, per_cycle: int) -> int:
    """History events of one LabelingJob execution whose job runs ``duration_seconds``."""
    return fixed_events + per_cycle * polls_for_duration(duration_seconds)
