"""What a labeling job cost, and what it would have cost without automated data labeling.

Cost model ``labelchain-cost-v2`` (docs/COST.md), one formula for every workforce:

* every labeled object, human or machine, pays the Ground Truth object fee (flat, overridable);
* human labor: ``workers × task price`` per human-labeled object (Mechanical Turk's price, history; or
  what a team paid per task costs), plus the vendor's price per human-labeled object (vendor work
  team), plus observed worker time × the labor rate (private work team; from the job's
  worker-response files, ``core.labor``);
* automated-labeling compute: ``iterations × auto_labeling_compute_usd_per_iteration`` (0 by default:
  Ground Truth's training and transform jobs are not found and priced, see ``COMPUTE_EXCLUDED_NOTE``);
* without automated labeling every object would have been human-labeled: the per-object parts for all
  objects, and worker time = all objects × workers × the mean time per answer observed in this job.

Rounding: prices have at most four decimal places and object counts are whole, so the per-object lines
are exact; the time-based lines (seconds × rate / 3600) are rounded half-up to four places, and
counterfactual worker seconds to the millisecond. USD amounts are stored with exactly four decimal
places (``quantize`` pads). ``saving_percent`` is rounded half-up to two places.

Records priced before v2 carry no ``cost_model`` and load as ``labelchain-cost-v1`` (no labor or
vendor lines, no worker time): their lines still add up under the same formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from labelchain.core.labor import SECONDS_QUANTUM, WorkerTime
from labelchain.core.models import StrictModel
from labelchain.core.prices import (
    COST_MODEL,
    HourlyRate,
    PriceTable,
    UsdAmount,
    check_hourly_rate,
    check_usd_amount,
)

COST_MODEL_V1 = "labelchain-cost-v1"
"""What a record priced before v2 (no ``cost_model`` field) was computed with."""
WorkforceKind = Literal["public", "private", "vendor"]

COMPUTE_EXCLUDED_NOTE = (
    "automated-labeling compute (Ground Truth's training and batch-transform instance time) is not "
    "included: LabelChain cannot find those jobs reliably (ListTrainingJobs cannot filter by labeling "
    "job, AWS documents no naming rule for them); set prices.auto_labeling_compute_usd_per_iteration "
    "to charge an estimate per iteration"
)
LABOR_NOT_PRICED_NOTE = (
    "private work team labor is not priced: set prices.labor_rate_usd_per_hour (worker hours are "
    "reported either way)"
)

MAX_OBJECTS = 1_000_000_000
"""Bound on object counts: far above Ground Truth's 100,000 objects per job, and it keeps every
amount well inside the 34 significant digits of the arithmetic context (so nothing is rounded)."""

MAX_WORKERS_PER_OBJECT = 9
"""``NumberOfHumanWorkersPerDataObject`` is 1-9."""

MAX_ITERATIONS = 10_000
"""Bound on active-learning iterations (real jobs run a handful)."""

_USD_QUANTUM = Decimal("0.0001")
_PERCENT_QUANTUM = Decimal("0.01")
# Independent of whatever decimal context the caller's thread has set.
_ARITHMETIC = Context(prec=34, rounding=ROUND_HALF_UP)


def _has_four_places_at_most(value: Decimal) -> Decimal:
    try:
        exact = value.quantize(_USD_QUANTUM, context=_ARITHMETIC) == value
    except InvalidOperation:  # too many digits to hold 4 decimal places
        exact = False
    if not exact:
        raise ValueError(f"must be a USD amount with at most 4 decimal places, got {value}")
    return value


UsdTotal = Annotated[Decimal, AfterValidator(_has_four_places_at_most)]
Count = Annotated[int, Field(ge=0, le=MAX_OBJECTS)]


Seconds = Annotated[Decimal, Field(ge=0)]


class CostBreakdown(StrictModel):
    """A job's (or one iteration's) labeling cost, line by line, with the prices that produced it.

    Stored in job records as is (``model_dump()`` gives Decimals for DynamoDB;
    ``model_dump_json()`` writes them as strings). Validation re-checks the arithmetic, so a record
    whose lines do not add up is rejected instead of reported.
    """

    cost_model: str = Field(default=COST_MODEL_V1, min_length=1)
    workforce_kind: WorkforceKind | None = None
    human_objects: Count
    machine_objects: Count
    workers_per_object: int = Field(ge=1, le=MAX_WORKERS_PER_OBJECT)
    task_price_usd: UsdAmount
    object_fee_usd: UsdAmount
    vendor_price_per_object_usd: UsdAmount = Decimal(0)
    labor_rate_usd_per_hour: HourlyRate | None = None
    iterations: int = Field(ge=0, le=MAX_ITERATIONS)
    worker_seconds: Seconds | None = Field(
        default=None,
        description="worker time of every answer: the known times, plus the mean known time for each answer "
        "without one (a note says how many); None: no answer's time is known",
    )
    timed_answers: int = Field(default=0, ge=0)
    answers_time_unknown: int = Field(default=0, ge=0)
    labor_cost_usd: UsdTotal | None = Field(
        default=None,
        description="human objects * (workers * task price + vendor price) + worker seconds * rate / 3600"
        " (None in records priced before v2)",
    )
    human_cost_usd: UsdTotal = Field(ge=0, description="human objects * fee + labor")
    machine_cost_usd: UsdTotal = Field(ge=0, description="machine objects * fee")
    compute_cost_usd: UsdTotal = Field(ge=0, description="iterations * compute price per iteration")
    total_cost_usd: UsdTotal = Field(ge=0, description="human + machine + compute")
    worker_seconds_without_auto_labeling: Seconds | None = Field(
        default=None,
        description="all objects * workers * observed mean seconds per answer; None without a timed answer",
    )
    cost_without_auto_labeling_usd: UsdTotal = Field(
        ge=0,
        description="all objects * (fee + workers * task price + vendor price) + counterfactual seconds"
        " * rate / 3600",
    )
    saving_usd: UsdTotal = Field(description="without - total; negative when compute outweighs it")
    saving_percent: Decimal = Field(description="saving / without * 100, 2 places; 0 when without is 0")
    prices_version: str = Field(min_length=1)
    notes: tuple[str, ...] = ()
    """What the figures leave out or could not know (compute excluded, labor not priced, …)."""

    @property
    def objects(self) -> int:
        return self.human_objects + self.machine_objects

    @property
    def worker_seconds_saved(self) -> Decimal | None:
        """Counterfactual minus observed worker seconds; None when either is unknown."""
        if self.worker_seconds is None or self.worker_seconds_without_auto_labeling is None:
            return None
        return self.worker_seconds_without_auto_labeling - self.worker_seconds

    @property
    def cost_per_object_usd(self) -> Decimal | None:
        """Total cost per labeled object, half-up to four places; None for no objects."""
        if not self.objects:
            return None
        with localcontext(_ARITHMETIC):
            return _usd(self.total_cost_usd / self.objects)

    @model_validator(mode="after")
    def _lines_add_up(self) -> Self:
        with localcontext(_ARITHMETIC):
            expected = self._expected_lines()
        for name, value in expected.items():
            if getattr(self, name) != value:
                raise ValueError(f"{name} is {getattr(self, name)} but the other lines give {value}")
        return self

    def _expected_lines(self) -> dict[str, Decimal | None]:
        labor_per_object = self.workers_per_object * self.task_price_usd + self.vendor_price_per_object_usd
        rate = self.labor_rate_usd_per_hour
        labor = self.human_objects * labor_per_object + time_cost(self.worker_seconds, rate)
        without_time = time_cost(self.worker_seconds_without_auto_labeling, rate)
        lines: dict[str, Decimal | None] = {
            "human_cost_usd": self.human_objects * self.object_fee_usd + labor,
            "machine_cost_usd": self.machine_objects * self.object_fee_usd,
            "total_cost_usd": self.human_cost_usd + self.machine_cost_usd + self.compute_cost_usd,
            "cost_without_auto_labeling_usd": self.objects * (self.object_fee_usd + labor_per_object)
            + without_time,
            "saving_usd": self.cost_without_auto_labeling_usd - self.total_cost_usd,
            "saving_percent": percent_of(self.saving_usd, self.cost_without_auto_labeling_usd),
        }
        if self.labor_cost_usd is not None:
            lines["labor_cost_usd"] = labor
        return lines


def _usd(value: Decimal) -> Decimal:
    return value.quantize(_USD_QUANTUM, context=_ARITHMETIC)


def time_cost(seconds: Decimal | None, rate_usd_per_hour: Decimal | None) -> Decimal:
    """``seconds × rate / 3600``, half-up to four places; 0 when either is unknown."""
    if seconds is None or rate_usd_per_hour is None:
        return Decimal(0)
    with localcontext(_ARITHMETIC):
        return _usd(seconds * rate_usd_per_hour / 3600)


def seconds_without_auto_labeling(objects: int, workers_per_object: int, time: WorkerTime) -> Decimal | None:
    """Worker seconds had people labeled all ``objects``: every object answered by every worker, each
    answer taking the mean time observed; None without a single timed answer."""
    if not time.timed_answers:
        return None
    with localcontext(_ARITHMETIC):
        answers = objects * workers_per_object
        return (time.worker_seconds * answers / time.timed_answers).quantize(SECONDS_QUANTUM)


def seconds_of_all_answers(time: WorkerTime) -> tuple[Decimal | None, str | None]:
    """Worker seconds of every answer, and a note when some had to be estimated.

    An answer without a usable time still took time: counting it as zero would understate the job's
    worker hours while the counterfactual (mean per answer x all answers) counts it, overstating the
    saving. Each such answer is counted at the mean of the timed ones; with no timed answer the time is
    unknown (None)."""
    if not time.answers_time_unknown:
        return time.worker_seconds, None
    if not time.timed_answers:
        return None, f"worker time unknown: none of the {time.answers_time_unknown} worker answers had a time"
    with localcontext(_ARITHMETIC):
        estimate = (time.worker_seconds * time.answers / time.timed_answers).quantize(SECONDS_QUANTUM)
    return estimate, (
        f"{time.answers_time_unknown} of {time.answers} worker answers had no time; each was counted at the "
        "mean time of the others"
    )


def percent_of(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part`` as a percentage of ``whole``, half-up to two places; 0.00 when ``whole`` is 0.

    The one percentage rule of LabelChain's records and reports (saving %, % machine-labeled,
    reductions), independent of the caller's decimal context.
    """
    if whole == 0:
        return Decimal("0.00")
    with localcontext(_ARITHMETIC):
        return (Decimal(part) * 100 / Decimal(whole)).quantize(_PERCENT_QUANTUM)


def _check_count(name: str, value: int, maximum: int, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ValueError(f"{name} must be a whole number from {minimum} to {maximum}, got {value!r}")


def compute_cost(
    *,
    human_objects: int,
    machine_objects: int,
    workers_per_object: int,
    task_price_usd: Decimal,
    prices: PriceTable,
    iterations: int = 0,
    workforce_kind: WorkforceKind | None = None,
    vendor_price_per_object_usd: Decimal = Decimal(0),
    worker_time: WorkerTime | None = None,
    counterfactual_time: WorkerTime | None = None,
    notes: Sequence[str] = (),
) -> CostBreakdown:
    """Price a job (or one iteration) from its label counters and observed worker time.

    ``task_price_usd`` is what one worker is paid per task (Mechanical Turk's price for a public
    record, else ``labelchain.core.prices.task_price_usd_for``); ``vendor_price_per_object_usd`` is a
    vendor work team's price per human-labeled object. ``worker_time`` is the time read from the
    worker-response files (None: unknown); it is charged at ``prices.labor_rate_usd_per_hour`` for a
    private team only. ``counterfactual_time`` is whose mean time per answer prices the job without
    automated labeling (default ``worker_time``; an iteration row passes the whole job's).
    ``iterations`` is the number of active-learning iterations charged compute (0 for a job without
    automated labeling). Raises ``ValueError`` naming the parameter and what is allowed.
    """
    _check_count("human_objects", human_objects, MAX_OBJECTS)
    _check_count("machine_objects", machine_objects, MAX_OBJECTS)
    _check_count("workers_per_object", workers_per_object, MAX_WORKERS_PER_OBJECT, minimum=1)
    _check_count("iterations", iterations, MAX_ITERATIONS)
    for name, amount in (
        ("task_price_usd", task_price_usd),
        ("vendor_price_per_object_usd", vendor_price_per_object_usd),
    ):
        try:
            check_usd_amount(amount)
        except ValueError as exc:
            raise ValueError(f"{name} {exc}") from None
    rate = prices.labor_rate_usd_per_hour if workforce_kind in (None, "private") else None
    if rate is not None:
        check_hourly_rate(rate)
    # Worker time is reported for every team; only a private team's is charged (rate above): a vendor is
    # paid per object, whatever its people's time.
    timed = worker_time
    baseline = counterfactual_time or worker_time
    all_notes = list(notes)
    if iterations and not prices.auto_labeling_compute_usd_per_iteration:
        all_notes.append(COMPUTE_EXCLUDED_NOTE)
    if workforce_kind == "private" and rate is None:
        all_notes.append(LABOR_NOT_PRICED_NOTE)
    if rate is not None and task_price_usd and human_objects:
        all_notes.append(
            "labor is charged twice over: per task (task_price_usd) and per worker hour "
            "(labor_rate_usd_per_hour); unset the one that does not describe how this team is paid"
        )

    fee = prices.object_fee_usd
    objects = human_objects + machine_objects
    with localcontext(_ARITHMETIC):
        labor_per_object = workers_per_object * task_price_usd + vendor_price_per_object_usd
        worker_seconds, estimated = seconds_of_all_answers(timed) if timed is not None else (None, None)
        if estimated is not None:
            all_notes.append(estimated)
        labor = human_objects * labor_per_object + time_cost(worker_seconds, rate)
        human_cost = human_objects * fee + labor
        machine_cost = machine_objects * fee
        compute_cost_usd = iterations * prices.auto_labeling_compute_usd_per_iteration
        total = human_cost + machine_cost + compute_cost_usd
        without_seconds = (
            seconds_without_auto_labeling(objects, workers_per_object, baseline)
            if baseline is not None and worker_seconds is not None
            else None
        )
        without = objects * (fee + labor_per_object) + time_cost(without_seconds, rate)
        saving = without - total
    return CostBreakdown(
        cost_model=COST_MODEL,
        workforce_kind=workforce_kind,
        human_objects=human_objects,
        machine_objects=machine_objects,
        workers_per_object=workers_per_object,
        task_price_usd=task_price_usd,
        object_fee_usd=fee,
        vendor_price_per_object_usd=vendor_price_per_object_usd,
        labor_rate_usd_per_hour=rate,
        iterations=iterations,
        worker_seconds=worker_seconds,
        timed_answers=timed.timed_answers if timed is not None else 0,
        answers_time_unknown=timed.answers_time_unknown if timed is not None else 0,
        labor_cost_usd=_usd(labor),
        human_cost_usd=_usd(human_cost),
        machine_cost_usd=_usd(machine_cost),
        compute_cost_usd=_usd(compute_cost_usd),
        total_cost_usd=_usd(total),
        worker_seconds_without_auto_labeling=without_seconds,
        cost_without_auto_labeling_usd=_usd(without),
        saving_usd=_usd(saving),
        saving_percent=percent_of(saving, without),
        prices_version=prices.version,
        notes=tuple(dict.fromkeys(all_notes)),
    )
