"""What a job looks like at a given simulated moment: status, counters, last change (pure).

A job's course is its precomputed ``Timeline`` plus, maybe, an ``Interruption`` (StopLabelingJob or an
injected failure/stop) that cuts it. Labels land per phase: an iteration's machine labels at
``machine_labeled_at``, its human labels at ``ended_at``; counters never include a phase that had not
landed when the job was cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from local.ground_truth.model import Iteration, Timeline

Status = Literal["Initializing", "InProgress", "Completed", "Failed", "Stopping", "Stopped"]
ENDED: frozenset[str] = frozenset({"Completed", "Failed", "Stopped"})


@dataclass(frozen=True)
class Interruption:
    """The job was stopped (``stop``) or failed (``fail``) at ``at`` simulated seconds after creation."""

    kind: Literal["stop", "fail"]
    at: float
    reason: str | None = None
    stopping_seconds: float = 0.0


@dataclass(frozen=True)
class LandedIteration:
    """The part of an iteration whose labels had landed when the job ended (or at a moment)."""

    iteration: Iteration
    machine: bool
    human: bool

    @property
    def machine_objects(self) -> tuple[int, ...]:
        return self.iteration.machine_objects if self.machine else ()

    @property
    def human_objects(self) -> tuple[int, ...]:
        return self.iteration.human_objects if self.human else ()


@dataclass(frozen=True)
class JobSnapshot:
    """DescribeLabelingJob's view of a job at one moment."""

    status: Status
    human_labeled: int
    machine_labeled: int
    unlabeled: int
    last_modified: float
    """Simulated seconds after creation of the latest status or counter change."""
    failure_reason: str | None
    labels_cut_at: float
    """Labels that landed up to here count; ``inf`` while the job runs its natural course."""
    model_labels: float | None
    """Label-equivalents of the model the job holds now (None: none trained or given)."""

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def effective_cut(timeline: Timeline, interruption: Interruption | None) -> Interruption | None:
    """The interruption, if it happens before the job would have ended by itself."""
    if interruption is None or interruption.at >= timeline.ended_at:
        return None
    already_stopping = timeline.end_status == "Stopped" and interruption.at >= timeline.labeling_ended_at
    if already_stopping and interruption.kind == "stop":
        return None  # a stopping condition already stops it
    return interruption


def landed_iterations(timeline: Timeline, until: float) -> list[LandedIteration]:
    """Iterations with at least one landed phase by ``until`` (inclusive)."""
    landed = []
    for iteration in timeline.iterations:
        machine = bool(iteration.machine_objects) and iteration.machine_labeled_at <= until
        human = bool(iteration.human_objects) and iteration.ended_at <= until
        if machine or human:
            landed.append(LandedIteration(iteration, machine=machine, human=human))
    return landed


def snapshot(timeline: Timeline, interruption: Interruption | None, elapsed: float) -> JobSnapshot:
    """The job ``elapsed`` simulated seconds after its creation."""
    cut = effective_cut(timeline, interruption)
    labels_until = min(elapsed, cut.at) if cut is not None else elapsed
    landed = landed_iterations(timeline, labels_until)
    human = sum(len(part.human_objects) for part in landed)
    machine = sum(len(part.machine_objects) for part in landed)
    label_changes = [
        landed_at
        for part in landed
        for landed_at, happened in (
            (part.iteration.machine_labeled_at, part.machine),
            (part.iteration.ended_at, part.human),
        )
        if happened
    ]
    status, reason, status_changed = _status(timeline, cut, elapsed)
    return JobSnapshot(
        status=status,
        human_labeled=human,
        machine_labeled=machine,
        unlabeled=timeline.object_count - human - machine,
        last_modified=max([status_changed, *label_changes]),
        failure_reason=reason,
        labels_cut_at=cut.at if cut is not None else float("inf"),
        model_labels=_model_labels(timeline, labels_until),
    )


@dataclass(frozen=True)
class StatusChange:
    """The job entered ``status`` at ``at`` simulated seconds after its creation."""

    at: float
    status: Status


def status_at(timeline: Timeline, interruption: Interruption | None, elapsed: float) -> Status:
    """Only the status ``elapsed`` simulated seconds after creation (cheaper than ``snapshot``)."""
    return _status(timeline, effective_cut(timeline, interruption), elapsed)[0]


def status_changes(timeline: Timeline, interruption: Interruption | None) -> tuple[StatusChange, ...]:
    """Every status change of the job's course, in order (not its creation as ``Initializing``).

    Read off ``_status`` at each moment its answer can change, so it always agrees with ``snapshot``.
    """
    cut = effective_cut(timeline, interruption)
    moments = {timeline.initialized_at, timeline.labeling_ended_at, timeline.ended_at}
    if cut is not None:
        moments.update({cut.at, cut.at + cut.stopping_seconds})
    changes: list[StatusChange] = []
    current: Status = "Initializing"
    for moment in sorted(moments):
        status = _status(timeline, cut, moment)[0]
        if status != current:
            changes.append(StatusChange(moment, status))
            current = status
    return tuple(changes)


def _status(timeline: Timeline, cut: Interruption | None, elapsed: float) -> tuple[Status, str | None, float]:
    """The status at ``elapsed``, its failure reason, and when the job entered it."""
    if cut is not None and elapsed >= cut.at:
        if cut.kind == "fail":
            return "Failed", cut.reason, cut.at
        settled = cut.at + cut.stopping_seconds
        return ("Stopping", None, cut.at) if elapsed < settled else ("Stopped", None, settled)
    if elapsed >= timeline.ended_at:
        return timeline.end_status, timeline.failure_reason, timeline.ended_at
    if elapsed < timeline.initialized_at:
        return "Initializing", None, 0.0
    if timeline.end_status == "Stopped" and elapsed >= timeline.labeling_ended_at:
        return "Stopping", None, timeline.labeling_ended_at
    return "InProgress", None, timeline.initialized_at


def _model_labels(timeline: Timeline, until: float) -> float | None:
    """The last model trained by ``until``; before any training, the seed model's head start."""
    if timeline.model_labels is None:
        return None
    trained = [
        i.trained_on_labels
        for i in timeline.iterations
        if i.trained_on_labels is not None and i.machine_labeled_at <= until
    ]
    if trained:
        return trained[-1]
    return timeline.head_start_labels if timeline.head_start_labels > 0 else None
