"""How often to poll a running labeling job, and proof that a 30-day job fits one execution.

A Standard execution fails at 25,000 history events. One poll cycle (Wait → PollJob → Choice)
writes ``EVENTS_PER_POLL_CYCLE`` events, so a fixed 30 s poll dies after about 22 hours while a
labeling job may run 30 days. LabelChain waits in proportion to the job's age instead: quick polls
while a job is young (setup problems surface fast), then at most ``MAX_WAIT_SECONDS`` apart. The
arithmetic is in docs/ARCHITECTURE.md; ``polls_for_duration`` is what the tests check.
"""

from __future__ import annotations

import math

MIN_WAIT_SECONDS = 60
MAX_WAIT_SECONDS = 1800
AGE_FRACTION = 0.1
"""Wait a tenth of the job's age: a status change is noticed within ~10 % of the time it took."""

HISTORY_EVENT_LIMIT = 25_000
EVENTS_PER_POLL_CYCLE = 9
"""WaitStateEntered/Exited (2) + TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded,
TaskStateExited (5) + ChoiceStateEntered/Exited (2) — measured on the executed definition by
tests/workflow/test_labeling_job_workflow.py::test_poll_loop_history_fits_a_thirty_day_job."""
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
