"""The seed experiment's comparison: what the pre-trained model changed, job by job and in deltas.

Pure: it turns what the experiment observed (a ``JobRecord`` per job, or why there is none) into an
``ExperimentComparison``, the model behind the DynamoDB comparison record, ``report.json`` and
``report.md``. A job that is missing leaves every delta that needs it ``None`` with the reason.

Arithmetic is ``Decimal`` (context: 34 digits, ROUND_HALF_UP), so nothing depends on the caller's
thread context. Rounding:

* USD amounts are copied from the job records (four decimal places; see ``core.cost``); worker hours
  are the records' worker seconds / 3600, rounded half-up to two places;
* the experiment's totals add the present jobs' amounts and seconds (a job without known worker time
  leaves the hour totals None);
* every percentage (share machine-labeled, cost and duration reductions) is computed from the exact
  counts or amounts and rounded half-up to two decimal places once, at the end;
* the machine-labeled gain in percentage points is the difference of the exact shares, rounded
  half-up to two places (so it can differ by 0.01 from the difference of the rounded shares).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Literal, cast, get_args

from pydantic import Field, model_validator

from labelchain.core.cost import percent_of
from labelchain.core.experiment import ROLES
from labelchain.core.labor import WorkerTime, hours
from labelchain.core.models import FrozenModel
from labelchain.core.prices import PriceTable
from labelchain.core.records import JobRecord, record_cost

Role = Literal["initial", "pretrained", "control"]
ExecutionStatus = Literal["SUCCEEDED", "FAILED", "NOT_RUN"]


def _role(name: str) -> Role:
    if name not in get_args(Role):
        raise ValueError(f"experiment role {name!r} is not one the comparison knows: {get_args(Role)}")
    return cast(Role, name)


ROLE_ORDER: tuple[Role, ...] = tuple(_role(name) for name in ROLES)
"""``core.experiment.ROLES``, typed: a role added there without a place here fails at import."""

REPORT_SCHEMA_VERSION = 2
"""2: cost model v2 (labor, worker hours, hours saved, experiment totals); version 1 reports still load."""
ROUNDING_RULE = (
    "USD amounts are exact (4 decimal places, from the job records); percentages are computed from "
    "exact values and rounded half-up to 2 decimal places; the machine-labeled gain is the difference "
    "of the exact shares in percentage points, rounded half-up to 2 places"
)

_PERCENT_QUANTUM = Decimal("0.01")
_ARITHMETIC = Context(prec=34, rounding=ROUND_HALF_UP)


class JobEvidence(FrozenModel):
    """What the experiment knows about one of its jobs: its record, or why it has none."""

    role: Role
    execution_status: ExecutionStatus
    execution_arn: str | None = None
    record: JobRecord | None = None
    missing_reason: str | None = None
    """Required when ``record`` is None: why this job has no numbers."""
    execution_error: str | None = None
    """``<Error>: <cause>`` of a FAILED child execution."""

    @model_validator(mode="after")
    def _record_or_reason(self) -> JobEvidence:
        if self.record is None and not self.missing_reason:
            raise ValueError(f"{self.role}: a job without a record needs a missing_reason")
        return self


class IterationFigures(FrozenModel):
    """One active-learning iteration of a job, with its cost split into human and machine parts."""

    iteration: int
    human_objects: int
    machine_objects: int | None
    """None when the job's output did not say which iteration machine-labeled what."""
    boxes: int | None
    human_cost_usd: Decimal | None
    machine_cost_usd: Decimal | None
    compute_cost_usd: Decimal | None
    """The three parts are None when the record's prices cannot re-price the row."""
    total_cost_usd: Decimal
    """As recorded on the job (human + machine + compute)."""
    labor_cost_usd: Decimal | None = None
    """Part of human_cost_usd: what people's work cost (None as for the parts above)."""
    worker_seconds: Decimal | None = None
    worker_hours: Decimal | None = None
    worker_answers: int | None = None


class JobFigures(FrozenModel):
    """A job's numbers as the comparison reports them (costs None until its metrics were recorded)."""

    job_name: str
    status: str
    """The labeling job's status (Completed, Failed, Stopped, or where it was when the run ended)."""
    failure_reason: str | None
    simulated: bool
    objects: int
    human_labeled: int
    machine_labeled: int
    machine_labeled_percent: Decimal
    human_cost_usd: Decimal | None
    machine_cost_usd: Decimal | None
    compute_cost_usd: Decimal | None
    total_cost_usd: Decimal | None
    cost_without_auto_labeling_usd: Decimal | None
    prices_version: str
    duration_seconds: int | None
    iterations: int
    iteration_rows: list[IterationFigures]
    cost_model: str | None = None
    workforce_kind: str | None = None
    labor_cost_usd: Decimal | None = None
    saving_usd: Decimal | None = None
    cost_per_object_usd: Decimal | None = None
    worker_seconds: Decimal | None = None
    worker_hours: Decimal | None = None
    worker_hours_without_auto_labeling: Decimal | None = None
    worker_hours_saved: Decimal | None = None
    cost_notes: list[str] = Field(default_factory=list)
    initial_model_arn: str | None
    final_model_arn: str | None
    model_outcome: str


class JobSide(FrozenModel):
    """One of the experiment's three jobs: its figures, or why it is missing."""

    role: Role
    execution_status: ExecutionStatus
    execution_arn: str | None
    execution_error: str | None
    figures: JobFigures | None
    missing_reason: str | None

    @property
    def missing(self) -> bool:
        return self.figures is None


class Measure(FrozenModel):
    """A derived number, or None with the reason it cannot be computed."""

    value: Decimal | None
    reason: str | None = None


class Delta(FrozenModel):
    """How ``subject`` did against ``baseline``: positive reductions and gains favour the subject."""

    subject: Role
    baseline: Role
    cost_reduction_percent: Measure
    """(baseline total - subject total) / baseline total * 100."""
    duration_reduction_percent: Measure
    """(baseline duration - subject duration) / baseline duration * 100."""
    machine_labeled_gain_points: Measure
    """subject's share machine-labeled - baseline's share, in percentage points."""
    caveats: list[str] = Field(default_factory=list)
    """Why the numbers may mislead (a side that failed, sides priced differently, …)."""


class PricesUsed(FrozenModel):
    """One price table and workforce price, and the jobs whose costs they produced."""

    roles: list[Role]
    price_table: PriceTable
    workforce_kind: str
    workers_per_object: int
    task_price_usd: str
    price_per_object_usd: str | None = None
    """A vendor work team's price per human-labeled object."""


class ExperimentTotals(FrozenModel):
    """The experiment's jobs together: what they cost, would have cost, and the hours they took."""

    roles: list[Role]
    """The jobs with a recorded cost that the totals add up."""
    total_cost_usd: Decimal
    cost_without_auto_labeling_usd: Decimal
    saving_usd: Decimal
    saving_percent: Decimal
    worker_hours: Decimal | None
    """None when any of those jobs has no known worker time."""
    worker_hours_without_auto_labeling: Decimal | None
    worker_hours_saved: Decimal | None


class ExperimentComparison(FrozenModel):
    """The comparison record (pk=EXPERIMENT#<execution name>, sk=COMPARISON) and ``report.json``."""

    schema_version: int = REPORT_SCHEMA_VERSION
    execution_name: str
    execution_arn: str
    project: str
    compared_at: datetime
    simulated: bool
    """True when ANY job ran on LabelChain's Ground Truth emulator: the report is then simulated."""
    simulated_roles: list[Role]
    stop_reason: str | None
    jobs: dict[Role, JobSide]
    """Keys ``initial``, ``pretrained``, ``control``."""
    pretrained_vs_control: Delta
    pretrained_vs_initial: Delta
    missing: dict[Role, str]
    """Role → why it has no numbers."""
    prices: list[PricesUsed]
    totals: ExperimentTotals | None = None
    """None in version 1 reports."""
    rounding: str = ROUNDING_RULE

    @model_validator(mode="after")
    def _every_role(self) -> ExperimentComparison:
        if sorted(self.jobs) != sorted(ROLE_ORDER):
            raise ValueError(
                f"jobs: expected keys {', '.join(ROLE_ORDER)}, got {', '.join(self.jobs) or 'none'}"
            )
        return self


def _iteration_figures(record: JobRecord) -> list[IterationFigures]:
    job_time = _job_worker_time(record)
    rows = []
    for row in record.iterations:
        human_cost = machine_cost = compute = labor = None
        time = None
        if row.worker_seconds is not None:
            timed = (row.worker_answers or 0) - row.answers_time_unknown
            time = WorkerTime(
                worker_seconds=row.worker_seconds,
                timed_answers=max(timed, 0),
                answers_time_unknown=row.answers_time_unknown,
            )
        try:
            breakdown = record_cost(
                record,
                row.human_objects,
                row.machine_objects or 0,
                1,
                worker_time=time,
                counterfactual_time=job_time,
            )
            human_cost = breakdown.human_cost_usd
            machine_cost = breakdown.machine_cost_usd
            compute = breakdown.compute_cost_usd
            labor = breakdown.labor_cost_usd
        except (ValueError, ArithmeticError):  # a record priced outside today's rules: keep the total
            pass
        rows.append(
            IterationFigures(
                iteration=row.iteration,
                human_objects=row.human_objects,
                machine_objects=row.machine_objects,
                boxes=row.boxes,
                human_cost_usd=human_cost,
                machine_cost_usd=machine_cost,
                compute_cost_usd=compute,
                total_cost_usd=Decimal(row.cost_usd),
                labor_cost_usd=labor,
                worker_seconds=row.worker_seconds,
                worker_hours=hours(row.worker_seconds),
                worker_answers=row.worker_answers,
            )
        )
    return rows


def _job_worker_time(record: JobRecord) -> WorkerTime | None:
    cost = record.cost
    if cost is None or cost.worker_seconds is None:
        return None
    return WorkerTime(
        worker_seconds=cost.worker_seconds,
        timed_answers=cost.timed_answers,
        answers_time_unknown=cost.answers_time_unknown,
    )


def job_figures(record: JobRecord) -> JobFigures:
    """The numbers the comparison reports for one job record."""
    counters = record.counters
    share = percent_of(counters.machine_labeled, record.object_count) if record.object_count else Decimal(0)
    cost = record.cost
    return JobFigures(
        job_name=record.job_name,
        status=record.status,
        failure_reason=record.failure_reason,
        simulated=record.simulated,
        objects=record.object_count,
        human_labeled=counters.human_labeled,
        machine_labeled=counters.machine_labeled,
        machine_labeled_percent=share,
        human_cost_usd=cost.human_cost_usd if cost else None,
        machine_cost_usd=cost.machine_cost_usd if cost else None,
        compute_cost_usd=cost.compute_cost_usd if cost else None,
        total_cost_usd=cost.total_cost_usd if cost else None,
        cost_without_auto_labeling_usd=cost.cost_without_auto_labeling_usd if cost else None,
        prices_version=cost.prices_version if cost else record.prices.version,
        duration_seconds=record.duration_seconds,
        iterations=len(record.iterations),
        iteration_rows=_iteration_figures(record),
        initial_model_arn=record.initial_model_arn,
        final_model_arn=record.final_model_arn,
        model_outcome=record.model_outcome,
        cost_model=cost.cost_model if cost else None,
        workforce_kind=record.workforce.kind,
        labor_cost_usd=cost.labor_cost_usd if cost else None,
        saving_usd=cost.saving_usd if cost else None,
        cost_per_object_usd=cost.cost_per_object_usd if cost else None,
        worker_seconds=cost.worker_seconds if cost else None,
        worker_hours=hours(cost.worker_seconds) if cost else None,
        worker_hours_without_auto_labeling=hours(cost.worker_seconds_without_auto_labeling) if cost else None,
        worker_hours_saved=hours(cost.worker_seconds_saved) if cost else None,
        cost_notes=list(cost.notes) if cost else [],
    )


def experiment_totals(evidence: Mapping[Role, JobEvidence]) -> ExperimentTotals | None:
    """The present jobs' costs and worker hours added up (None when no job recorded a cost)."""
    costs = [(role, record.cost) for role in ROLE_ORDER if (record := evidence[role].record) and record.cost]
    if not costs:
        return None
    with localcontext(_ARITHMETIC):
        total = sum((cost.total_cost_usd for _, cost in costs), Decimal(0))
        without = sum((cost.cost_without_auto_labeling_usd for _, cost in costs), Decimal(0))
        seconds = [cost.worker_seconds for _, cost in costs]
        without_seconds = [cost.worker_seconds_without_auto_labeling for _, cost in costs]
        known = all(value is not None for value in seconds)
        known_without = known and all(value is not None for value in without_seconds)
        worked = sum((value or Decimal(0) for value in seconds), Decimal(0))
        counterfactual = sum((value or Decimal(0) for value in without_seconds), Decimal(0))
    return ExperimentTotals(
        roles=[role for role, _ in costs],
        total_cost_usd=total,
        cost_without_auto_labeling_usd=without,
        saving_usd=without - total,
        saving_percent=percent_of(without - total, without),
        worker_hours=hours(worked) if known else None,
        worker_hours_without_auto_labeling=hours(counterfactual) if known_without else None,
        worker_hours_saved=hours(counterfactual - worked) if known_without else None,
    )


def _reduction(
    what: str, subject: Decimal | int | None, baseline: Decimal | int | None, names: tuple[str, str]
) -> Measure:
    subject_name, baseline_name = names
    if baseline is None:
        return Measure(value=None, reason=f"{baseline_name} has no recorded {what}")
    if subject is None:
        return Measure(value=None, reason=f"{subject_name} has no recorded {what}")
    if baseline == 0:
        return Measure(value=None, reason=f"{baseline_name}'s {what} is 0: a reduction from 0 is undefined")
    with localcontext(_ARITHMETIC):
        return Measure(value=percent_of(Decimal(baseline) - Decimal(subject), baseline))


def _share_gain(subject: JobFigures, baseline: JobFigures, names: tuple[str, str]) -> Measure:
    for figures, name in ((subject, names[0]), (baseline, names[1])):
        if figures.objects == 0:
            return Measure(value=None, reason=f"{name} has 0 objects: its share machine-labeled is undefined")
    with localcontext(_ARITHMETIC):
        gain = (
            Decimal(subject.machine_labeled) * 100 / subject.objects
            - Decimal(baseline.machine_labeled) * 100 / baseline.objects
        )
        return Measure(value=gain.quantize(_PERCENT_QUANTUM))


def _caveats(subject: JobSide, baseline: JobSide) -> list[str]:
    mine, theirs = subject.figures, baseline.figures
    if mine is None or theirs is None:
        return []
    notes = [
        f"{side.role} did not complete (job {figures.status}, execution {side.execution_status}): "
        "its numbers cover only what it labeled before it ended"
        for side, figures in ((subject, mine), (baseline, theirs))
        if side.execution_status == "FAILED" or figures.status != "Completed"
    ]
    if mine.simulated != theirs.simulated:
        simulated = subject.role if mine.simulated else baseline.role
        notes.append(f"only {simulated} is simulated: the two sides did not run on the same service")
    if mine.prices_version != theirs.prices_version:
        notes.append(
            f"costs were computed with different price tables ({mine.prices_version} vs "
            f"{theirs.prices_version})"
        )
    return notes


def compare_sides(subject: JobSide, baseline: JobSide) -> Delta:
    """The delta of ``subject`` against ``baseline``; every measure a missing side needs is None."""
    names = (subject.role, baseline.role)
    mine, theirs = subject.figures, baseline.figures
    if mine is None or theirs is None:
        reason = "; ".join(
            f"{side.role} is missing: {side.missing_reason}" for side in (subject, baseline) if side.missing
        )
        unknown = Measure(value=None, reason=reason)
        return Delta(
            subject=subject.role,
            baseline=baseline.role,
            cost_reduction_percent=unknown,
            duration_reduction_percent=unknown,
            machine_labeled_gain_points=unknown,
        )
    return Delta(
        subject=subject.role,
        baseline=baseline.role,
        cost_reduction_percent=_reduction("cost", mine.total_cost_usd, theirs.total_cost_usd, names),
        duration_reduction_percent=_reduction(
            "duration", mine.duration_seconds, theirs.duration_seconds, names
        ),
        machine_labeled_gain_points=_share_gain(mine, theirs, names),
        caveats=_caveats(subject, baseline),
    )


def job_side(evidence: JobEvidence) -> JobSide:
    """One job's side of the comparison."""
    return JobSide(
        role=evidence.role,
        execution_status=evidence.execution_status,
        execution_arn=evidence.execution_arn,
        execution_error=evidence.execution_error,
        figures=job_figures(evidence.record) if evidence.record is not None else None,
        missing_reason=None if evidence.record is not None else evidence.missing_reason,
    )


def prices_used(evidence: Mapping[Role, JobEvidence]) -> list[PricesUsed]:
    """The distinct prices behind the present jobs' costs, each naming the jobs it priced."""
    groups: dict[str, PricesUsed] = {}
    for role in ROLE_ORDER:
        record = evidence[role].record
        if record is None:
            continue
        workforce = record.workforce
        key = (
            f"{record.prices.model_dump_json()}|{workforce.kind}|{workforce.workers_per_object}|"
            f"{workforce.task_price_usd}|{workforce.price_per_object_usd}"
        )
        if key in groups:
            known = groups[key]
            groups[key] = known.model_copy(update={"roles": [*known.roles, role]})
        else:
            groups[key] = PricesUsed(
                roles=[role],
                price_table=record.prices,
                workforce_kind=workforce.kind,
                workers_per_object=workforce.workers_per_object,
                task_price_usd=workforce.task_price_usd,
                price_per_object_usd=workforce.price_per_object_usd,
            )
    return list(groups.values())


def compare_experiment(
    evidence: Mapping[Role, JobEvidence],
    *,
    execution_name: str,
    execution_arn: str,
    project: str,
    compared_at: datetime,
    stop_reason: str | None = None,
) -> ExperimentComparison:
    """Compare the experiment's three jobs; ``evidence`` must hold all of ``initial``,
    ``pretrained`` and ``control`` (a job that never ran is evidence with a missing reason)."""
    absent = [role for role in ROLE_ORDER if role not in evidence]
    if absent:
        raise ValueError(f"evidence missing for {', '.join(absent)}: every role needs a record or a reason")
    sides: dict[Role, JobSide] = {role: job_side(evidence[role]) for role in ROLE_ORDER}
    simulated_roles: list[Role] = [
        role for role, side in sides.items() if side.figures is not None and side.figures.simulated
    ]
    return ExperimentComparison(
        execution_name=execution_name,
        execution_arn=execution_arn,
        project=project,
        compared_at=compared_at,
        simulated=bool(simulated_roles),
        simulated_roles=simulated_roles,
        stop_reason=stop_reason,
        jobs=sides,
        pretrained_vs_control=compare_sides(sides["pretrained"], sides["control"]),
        pretrained_vs_initial=compare_sides(sides["pretrained"], sides["initial"]),
        missing={role: side.missing_reason or "" for role, side in sides.items() if side.missing},
        prices=prices_used(evidence),
        totals=experiment_totals(evidence),
    )
