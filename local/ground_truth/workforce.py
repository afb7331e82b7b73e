"""The simulated work team: who answers a task, how long it takes, when (pure).

Mechanical Turk closed on 2026-09-30, so a Ground Truth job is worked by a **private** work team (the
user's own people) or a **vendor** work team (AWS Marketplace). The emulator gives a team a size
(``SimulationParams.default_team_size``, or ``team_sizes[<workteam ARN>]``): the tasks of a human
batch are worked by at most that many people at once, each taking one task at a time, and the
``NumberOfHumanWorkersPerDataObject`` answers of an object always come from different people.

How long one answer takes is a seeded lognormal draw per task type (``TASK_TIMES``, numbers and
reasons in docs/EMULATOR.md), capped at ``TaskTimeLimitInSeconds``. Every time is rounded to the
millisecond, the precision of the worker-response files' ``acceptanceTime`` and ``submissionTime``,
so ``timeSpentInSeconds`` equals their difference exactly.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from labelchain.core.catalog import TaskType

_STANDARD_NORMAL = NormalDist()
_WORKTEAM = re.compile(
    r"arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"workteam/(?P<kind>private|vendor|public)-crowd/(?P<name>.+)"
)


@dataclass(frozen=True)
class TaskTime:
    """Seconds one worker spends on one task: lognormal with this median and log-spread (sigma)."""

    median_seconds: float
    spread: float

    def seconds(self, u: float) -> float:
        """The draw for a uniform ``u`` in (0, 1) (inverse CDF: ``median · exp(spread · Φ⁻¹(u))``)."""
        return self.median_seconds * math.exp(self.spread * _STANDARD_NORMAL.inv_cdf(u))

    @property
    def mean_seconds(self) -> float:
        return self.median_seconds * math.exp(self.spread**2 / 2)


TASK_TIMES: dict[TaskType, TaskTime] = {
    TaskType.BOUNDING_BOX: TaskTime(median_seconds=30.0, spread=0.6),
    TaskType.IMAGE_CLASSIFICATION: TaskTime(median_seconds=6.0, spread=0.5),
    TaskType.TEXT_CLASSIFICATION: TaskTime(median_seconds=20.0, spread=0.6),
    TaskType.SEMANTIC_SEGMENTATION: TaskTime(median_seconds=240.0, spread=0.7),
}
"""The simulation's worker time per task type (docs/EMULATOR.md says why these numbers)."""


@dataclass(frozen=True)
class WorkTeam:
    """A work team as its ARN names it."""

    kind: str
    """``private``, ``vendor`` or ``public`` (Mechanical Turk, closed: kept for history)."""
    region: str
    name: str


def work_team(workteam_arn: str) -> WorkTeam:
    """The team an ARN names; an ARN of another shape counts as a private team of the default region."""
    match = _WORKTEAM.fullmatch(workteam_arn)
    if match is None:
        return WorkTeam(kind="private", region="us-east-1", name=workteam_arn)
    return WorkTeam(kind=match["kind"], region=match["region"], name=match["name"])


def worker_id(seed: int, workteam_arn: str, slot: int) -> str:
    """A team member's stable ``workerId``: ``<kind>.<region>.<hex>``, Ground Truth's shape."""
    team = work_team(workteam_arn)
    digest = hashlib.blake2b(f"{seed}\x1f{workteam_arn}\x1f{slot}".encode(), digest_size=8).hexdigest()
    return f"{team.kind}.{team.region}.{digest}"


@dataclass(frozen=True)
class Answer:
    """One worker's answer to one object, in simulated seconds after the job's creation (ms precision)."""

    object_index: int
    worker: int
    """The team member (0 … team size − 1)."""
    accepted_at: float
    submitted_at: float

    @property
    def seconds(self) -> float:
        return round(self.submitted_at - self.accepted_at, 3)


def milliseconds(seconds: float) -> float:
    return round(seconds, 3)


def schedule_batch(
    objects: Sequence[int],
    task_seconds: Sequence[Sequence[float]],
    *,
    team_size: int,
    starts_at: float,
) -> tuple[Answer, ...]:
    """Who answers what, when: objects in batch order, each answer to the earliest-free team member.

    ``task_seconds[k][a]`` is how long answer ``a`` of ``objects[k]`` takes. The answers of one
    object go to different members (the ``len(task_seconds[k])`` earliest free); a member starts
    the next task the moment they submit one. The batch ends with its last submission.
    """
    free: list[tuple[float, int]] = [(milliseconds(starts_at), slot) for slot in range(team_size)]
    answers: list[Answer] = []
    for index, durations in zip(objects, task_seconds, strict=True):
        members = [heapq.heappop(free) for _ in durations]
        for (accepted, slot), duration in zip(members, durations, strict=True):
            submitted = milliseconds(accepted + duration)
            answers.append(Answer(index, slot, accepted, submitted))
            heapq.heappush(free, (submitted, slot))
    return tuple(answers)
