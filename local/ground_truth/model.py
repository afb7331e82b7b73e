"""The simulation: an explicit, parameterised model of Ground Truth's automated data labeling.

Pure: no I/O, no clock. ``simulate`` turns a job (its objects and settings) into a ``Timeline`` —
every iteration's human batch and machine batch and when each phase ends, in simulated seconds after
the job was created. Everything random is a hash of ``(seed, purpose, object identity)``, so the same
object is equally hard in every job that contains it, and the same inputs give the same timeline.

The loop (docs/GROUND_TRUTH.md, "Automated data labeling rules"):
1. a validation sample (20 % of the objects below 5,000, 10 % above) goes to humans first, in batches
   of ``MaxConcurrentTaskCount``; it is held out of training (it judges the model);
2. while there is nothing to train on (no human labels outside the validation sample and no seed
   model), humans label a random batch: the first training data;
3. each later iteration trains a model on the training labels so far (plus a seed model's head
   start), machine-labels the objects whose confidence clears a threshold that meets the quality
   target on the validation sample, and sends the least confident of the rest to humans (one batch);
4. repeat until everything is labeled or a stopping condition hits.
Without auto-labeling, humans label everything in manifest order, one batch per iteration.
A human batch is worked by the work team (``workforce``): its duration comes from each answer's
drawn worker time and the team's size. The equations and every parameter are in docs/EMULATOR.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass
from typing import Literal

from labelchain.core.catalog import TaskType
from local.ground_truth.params import SimulationParams
from local.ground_truth.workforce import TASK_TIMES, Answer, schedule_batch

EndStatus = Literal["Completed", "Stopped", "Failed"]


@dataclass(frozen=True)
class JobPlan:
    """What the simulation needs from a CreateLabelingJob request and its manifest."""

    object_ids: tuple[str, ...]
    """Each manifest line's identity (its ``source-ref`` key or ``source`` text), in file order."""
    auto_labeling: bool
    batch_size: int = 1000
    """``MaxConcurrentTaskCount``."""
    workers_per_object: int = 1
    task_time_limit_seconds: int = 300
    head_start_labels: float = 0.0
    """Labels a seed model counts as already learned (0 without ``InitialActiveLearningModelArn``)."""
    max_human_labeled: int | None = None
    max_percentage_labeled: int | None = None
    failure_reason: str | None = None
    """Set when the job cannot start (unreadable manifest…): it fails at the end of Initializing."""
    task_type: TaskType = TaskType.BOUNDING_BOX
    """Sets the worker-time distribution (``workforce.TASK_TIMES``)."""
    team_size: int | None = None
    """People in the work team (None: ``SimulationParams.default_team_size``)."""


@dataclass(frozen=True)
class Iteration:
    """One active-learning iteration: machine labels (after training and inference), then a human batch."""

    number: int
    started_at: float
    machine_objects: tuple[int, ...]
    """Indices into the plan's objects, most confident first."""
    machine_confidence: tuple[float, ...]
    machine_labeled_at: float
    human_objects: tuple[int, ...]
    ended_at: float
    """When the human batch is consolidated (``machine_labeled_at`` when there is none)."""
    trained_on_labels: float | None
    """Label-equivalents (training labels + head start) of the model this iteration used; None: no model."""
    competence: float | None
    answers: tuple[Answer, ...] = ()
    """Every worker answer of the human batch (``NumberOfHumanWorkersPerDataObject`` per object)."""


@dataclass(frozen=True)
class Timeline:
    """A job's precomputed course, in simulated seconds after its creation."""

    object_count: int
    initialized_at: float
    iterations: tuple[Iteration, ...]
    labeling_ended_at: float
    ended_at: float
    end_status: EndStatus
    failure_reason: str | None = None
    stop_reason: str | None = None
    model_labels: float | None = None
    """What the final model learned, in label-equivalents (None: no model was trained or given)."""
    head_start_labels: float = 0.0

    @property
    def human_labeled(self) -> int:
        return sum(len(i.human_objects) for i in self.iterations)

    @property
    def machine_labeled(self) -> int:
        return sum(len(i.machine_objects) for i in self.iterations)

    @property
    def worker_seconds(self) -> float:
        """Time the work team spent on the job's answers (every ``timeSpentInSeconds``)."""
        return sum(answer.seconds for i in self.iterations for answer in i.answers)

    @property
    def machine_labeled_fraction(self) -> float:
        return self.machine_labeled / self.object_count if self.object_count else 0.0


def unit_draw(seed: int, purpose: str, identity: str) -> float:
    """A uniform number in (0, 1), fixed by ``(seed, purpose, identity)``."""
    digest = hashlib.blake2b(f"{seed}\x1f{purpose}\x1f{identity}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


def difficulty(params: SimulationParams, identity: str) -> float:
    """An object's difficulty in (0, 1): Kumaraswamy(a, b) by inverse CDF of a hashed uniform."""
    u = unit_draw(params.seed, "difficulty", identity)
    inner: float = 1.0 - (1.0 - u) ** (1.0 / params.difficulty_shape_b)
    return float(inner ** (1.0 / params.difficulty_shape_a))


def competence(params: SimulationParams, labels: float) -> float:
    """The learning curve ``c(n) = c_max · (1 − exp(−n / k))``."""
    return params.competence_max * (1.0 - math.exp(-labels / params.learning_scale_labels))


def confidence(params: SimulationParams, model_competence: float, object_difficulty: float) -> float:
    """Probability the model labels an object right: ``σ((c − d) / s)``; a calibrated confidence."""
    z = (model_competence - object_difficulty) / params.confidence_width
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def validation_size(params: SimulationParams, object_count: int) -> int:
    large = object_count > params.large_dataset_objects
    fraction = params.validation_fraction_large if large else params.validation_fraction_small
    return min(object_count, round(fraction * object_count))


def team_size(params: SimulationParams, plan: JobPlan) -> int:
    return plan.team_size if plan.team_size is not None else params.default_team_size


def task_seconds(params: SimulationParams, plan: JobPlan, iteration: int, index: int) -> list[float]:
    """How long each of the object's answers takes: a lognormal draw per answer, capped at the limit."""
    distribution = TASK_TIMES[plan.task_type]
    identity = plan.object_ids[index]
    return [
        min(
            distribution.seconds(unit_draw(params.seed, f"task-time:{iteration}:{answer}", identity)),
            float(plan.task_time_limit_seconds),
        )
        for answer in range(plan.workers_per_object)
    ]


def human_batch(
    params: SimulationParams, plan: JobPlan, iteration: int, objects: tuple[int, ...], starts_at: float
) -> tuple[Answer, ...]:
    """The team's answers to a batch sent at ``starts_at``: work begins after the team's pick-up."""
    return schedule_batch(
        objects,
        [task_seconds(params, plan, iteration, index) for index in objects],
        team_size=team_size(params, plan),
        starts_at=starts_at + params.crowd_pickup_seconds,
    )


def training_seconds(params: SimulationParams, human_labels: int) -> float:
    return params.training_base_seconds + params.training_seconds_per_label * human_labels


def inference_seconds(params: SimulationParams, objects: int) -> float:
    return params.inference_base_seconds + params.inference_seconds_per_object * objects


def confidence_threshold(
    params: SimulationParams, plan: JobPlan, validation: list[int], confidences: list[float], iteration: int
) -> float | None:
    """The lowest confidence at which the model met the quality target on the validation sample.

    Validation objects are ranked by the model's confidence; whether the model got each one right is
    a seeded draw with that probability. The threshold is the confidence of the last object of the
    longest prefix (at least ``min_validation_support`` objects) whose accuracy meets the target.
    None: no prefix does, so nothing is machine-labeled this iteration.
    """
    ranked = sorted(validation, key=lambda i: (-confidences[i], plan.object_ids[i]))
    correct = 0
    threshold = None
    for position, index in enumerate(ranked, start=1):
        draw = unit_draw(params.seed, f"correct:{iteration}", plan.object_ids[index])
        correct += draw < confidences[index]
        if position >= params.min_validation_support and correct >= params.quality_target * position:
            threshold = confidences[index]
    return threshold


def simulate(plan: JobPlan, params: SimulationParams) -> Timeline:
    """Precompute a job's whole course (see the module docstring for the loop)."""
    count = len(plan.object_ids)
    if plan.failure_reason is None and plan.auto_labeling and count < params.min_objects_for_auto_labeling:
        plan = dataclasses.replace(
            plan,
            failure_reason=f"ClientError: automated data labeling needs at least"
            f" {params.min_objects_for_auto_labeling} data objects; the input manifest has {count}",
        )
    if plan.failure_reason is None and team_size(params, plan) < plan.workers_per_object:
        plan = dataclasses.replace(
            plan,
            failure_reason=f"ClientError: NumberOfHumanWorkersPerDataObject ({plan.workers_per_object})"
            f" exceeds the work team's {team_size(params, plan)} workers (simulated rule: each answer of"
            " an object needs another person)",
        )
    if plan.failure_reason is not None:
        at = params.initializing_seconds
        return Timeline(count, at, (), at, at, "Failed", failure_reason=plan.failure_reason)
    return _Simulation(plan, params).run()


class _Simulation:
    """The mutable state of one ``simulate`` run."""

    def __init__(self, plan: JobPlan, params: SimulationParams) -> None:
        self.plan = plan
        self.params = params
        self.count = len(plan.object_ids)
        self.unlabeled = set(range(self.count))
        self.human_total = 0
        self.training_labels = 0
        """Human labels outside the validation sample: what a model trains on."""
        self.clock = params.initializing_seconds
        self.iterations: list[Iteration] = []
        self.model_labels: float | None = plan.head_start_labels if plan.head_start_labels > 0 else None
        self.human_cap = plan.max_human_labeled if plan.max_human_labeled is not None else self.count
        percentage = plan.max_percentage_labeled
        self.label_cap = self.count if percentage is None else math.ceil(percentage * self.count / 100)
        self.difficulties: list[float] = []
        self.validation: list[int] = []
        """The random sample humans label first; its labels set the confidence threshold."""
        self.human_queue = list(range(self.count))
        """What humans label before any model exists, in order: everything in file order, or (with
        auto-labeling) the validation sample, then random training batches."""
        if plan.auto_labeling:
            ids = plan.object_ids
            order = sorted(range(self.count), key=lambda i: (unit_draw(params.seed, "validation", ids[i]), i))
            self.validation = order[: validation_size(params, self.count)]
            self.difficulties = [difficulty(params, identity) for identity in ids]
            self.human_queue = order
        self.queue_cursor = 0

    @property
    def labeled(self) -> int:
        return self.count - len(self.unlabeled)

    def run(self) -> Timeline:
        stop_reason = None
        while self.unlabeled:
            if self.human_total >= self.human_cap:
                stop_reason = f"MaxHumanLabeledObjectCount ({self.plan.max_human_labeled}) reached"
                break
            if self.labeled >= self.label_cap:
                percentage = self.plan.max_percentage_labeled
                stop_reason = f"MaxPercentageOfInputDatasetLabeled ({percentage}) reached"
                break
            self.iterations.append(self._iteration(len(self.iterations) + 1))
        labeling_ended = self.clock
        if stop_reason is None:
            status: EndStatus = "Completed"
            ended = labeling_ended + self.params.finishing_seconds
        else:
            status = "Stopped"
            ended = labeling_ended + self.params.stopping_seconds
        return Timeline(
            object_count=self.count,
            initialized_at=self.params.initializing_seconds,
            iterations=tuple(self.iterations),
            labeling_ended_at=labeling_ended,
            ended_at=ended,
            end_status=status,
            stop_reason=stop_reason,
            model_labels=self.model_labels if self.plan.auto_labeling else None,
            head_start_labels=self.plan.head_start_labels if self.plan.auto_labeling else 0.0,
        )

    def _iteration(self, number: int) -> Iteration:
        started = self.clock
        machine: list[tuple[int, float]] = []
        trained_on = model_competence = None
        validating = self.plan.auto_labeling and self.queue_cursor < len(self.validation)
        from_queue = True
        if validating:
            candidates = self.validation[self.queue_cursor :]
        elif self.plan.auto_labeling and self.training_labels + self.plan.head_start_labels > 0:
            trained_on = self.training_labels + self.plan.head_start_labels
            model_competence = competence(self.params, trained_on)
            self.model_labels = trained_on
            machine, candidates = self._machine_batch(number, model_competence)
            from_queue = False
        else:
            candidates = self.human_queue[self.queue_cursor :]
        machine_labeled_at = self.clock
        room = min(self.plan.batch_size, self.human_cap - self.human_total, self.label_cap - self.labeled)
        humans = tuple(candidates[: max(room, 0)])
        if from_queue:
            self.queue_cursor += len(humans)
        answers: tuple[Answer, ...] = ()
        if humans:
            self.unlabeled.difference_update(humans)
            self.human_total += len(humans)
            if not validating:
                self.training_labels += len(humans)
            answers = human_batch(self.params, self.plan, number, humans, self.clock)
            self.clock = max(answer.submitted_at for answer in answers)
        return Iteration(
            number=number,
            started_at=started,
            machine_objects=tuple(i for i, _ in machine),
            machine_confidence=tuple(c for _, c in machine),
            machine_labeled_at=machine_labeled_at,
            human_objects=humans,
            ended_at=self.clock,
            trained_on_labels=trained_on,
            competence=model_competence,
            answers=answers,
        )

    def _machine_batch(
        self, number: int, model_competence: float
    ) -> tuple[list[tuple[int, float]], list[int]]:
        """Train, infer on the unlabeled objects, label the confident ones; return them and the rest.

        The rest is ranked least confident first: those are the objects active learning sends to humans.
        """
        params = self.params
        self.clock += training_seconds(params, self.human_total)
        self.clock += inference_seconds(params, len(self.unlabeled))
        ids = self.plan.object_ids
        scored = [confidence(params, model_competence, d) for d in self.difficulties]
        threshold = confidence_threshold(params, self.plan, self.validation, scored, number)
        ranked = sorted(self.unlabeled, key=lambda i: (-scored[i], ids[i], i))
        confident = [i for i in ranked if threshold is not None and scored[i] >= threshold]
        confident = confident[: max(self.label_cap - self.labeled, 0)]
        self.unlabeled.difference_update(confident)
        rest = [i for i in reversed(ranked) if i in self.unlabeled]
        return [(i, scored[i]) for i in confident], rest
