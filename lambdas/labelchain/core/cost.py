"""What a labeling job cost, and what it would have cost without automated data labeling.

The model reproduces AWS's published tutorial totals exactly:

* every labeled object pays the Ground Truth object fee;
* a human-labeled object also pays ``workers * task price``;
* automated labeling adds training and inference compute, charged per active-learning iteration
  (the tutorial ignored it: 0 by default);
* without automated labeling every object would have been human-labeled:
  ``objects * (fee + workers * task price)``.

Rounding: prices have at most four decimal places and are multiplied by whole numbers only, so every
USD amount is exact; it is stored with exactly four decimal places (``quantize`` pads, never
rounds). The one division, ``saving_percent``, is rounded half-up to two decimal places.

Per-iteration rows: compute each iteration with ``compute_cost(..., iterations=1)`` from that
iteration's human and machine counts; ``sum_breakdowns`` of the rows then equals the job total
computed with ``iterations`` = the number of iterations, because every amount is linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from labelchain.core.prices import PriceTable, UsdAmount, check_usd_amount

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


class CostBreakdown(BaseModel):
    """A job's (or one iteration's) labeling cost, line by line, with the prices that produced it.

    Stored in job records as is (``model_dump()`` gives Decimals for DynamoDB;
    ``model_dump_json()`` writes them as strings). Validation re-checks the arithmetic, so a record
    whose lines do not add up is rejected instead of reported.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    human_objects: Count
    machine_objects: Count
    workers_per_object: int = Field(ge=1, le=MAX_WORKERS_PER_OBJECT)
    task_price_usd: UsdAmount
    object_fee_usd: UsdAmount
    iterations: int = Field(ge=0, le=MAX_ITERATIONS)
    human_cost_usd: UsdTotal = Field(ge=0, description="human objects * (fee + workers * task price)")
    machine_cost_usd: UsdTotal = Field(ge=0, description="machine objects * fee")
    compute_cost_usd: UsdTotal = Field(ge=0, description="iterations * compute price per iteration")
    total_cost_usd: UsdTotal = Field(ge=0, description="human + machine + compute")
    cost_without_auto_labeling_usd: UsdTotal = Field(
        ge=0, description="all objects * (fee + workers * task price)"
    )
    saving_usd: UsdTotal = Field(description="without - total; negative when compute outweighs it")
    saving_percent: Decimal = Field(description="saving / without * 100, 2 places; 0 when without is 0")
    prices_version: str = Field(min_length=1)

    @model_validator(mode="after")
    def _lines_add_up(self) -> Self:
        with localcontext(_ARITHMETIC):
            expected = self._expected_lines()
        for name, value in expected.items():
            if getattr(self, name) != value:
                raise ValueError(f"{name} is {getattr(self, name)} but the other lines give {value}")
        return self

    def _expected_lines(self) -> dict[str, Decimal]:
        per_human_object = self.object_fee_usd + self.workers_per_object * self.task_price_usd
        objects = self.human_objects + self.machine_objects
        return {
            "human_cost_usd": self.human_objects * per_human_object,
            "machine_cost_usd": self.machine_objects * self.object_fee_usd,
            "total_cost_usd": self.human_cost_usd + self.machine_cost_usd + self.compute_cost_usd,
            "cost_without_auto_labeling_usd": objects * per_human_object,
            "saving_usd": self.cost_without_auto_labeling_usd - self.total_cost_usd,
            "saving_percent": percent_of(self.saving_usd, self.cost_without_auto_labeling_usd),
        }


def _usd(value: Decimal) -> Decimal:
    return value.quantize(_USD_QUANTUM, context=_ARITHMETIC)


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
) -> CostBreakdown:
    """Price a job (or one iteration) from its label counters.

    ``task_price_usd`` is what one worker is paid per task: the request's public-workforce price, or
    for a private/vendor workforce ``labelchain.core.prices.task_price_usd_for`` (0 unless the user
    says what a task costs them).
    ``iterations`` is the number of active-learning iterations charged compute (0 for a job without
    automated labeling). Raises ``ValueError`` naming the parameter and what is allowed.
    """
    _check_count("human_objects", human_objects, MAX_OBJECTS)
    _check_count("machine_objects", machine_objects, MAX_OBJECTS)
    _check_count("workers_per_object", workers_per_object, MAX_WORKERS_PER_OBJECT, minimum=1)
    _check_count("iterations", iterations, MAX_ITERATIONS)
    try:
        check_usd_amount(task_price_usd)
    except ValueError as exc:
        raise ValueError(f"task_price_usd {exc}") from None

    fee = prices.object_fee_usd
    with localcontext(_ARITHMETIC):
        per_human_object = fee + workers_per_object * task_price_usd
        human_cost = human_objects * per_human_object
        machine_cost = machine_objects * fee
        compute_cost_usd = iterations * prices.auto_labeling_compute_usd_per_iteration
        total = human_cost + machine_cost + compute_cost_usd
        without = (human_objects + machine_objects) * per_human_object
        saving = without - total
    return CostBreakdown(
        human_objects=human_objects,
        machine_objects=machine_objects,
        workers_per_object=workers_per_object,
        task_price_usd=task_price_usd,
        object_fee_usd=fee,
        iterations=iterations,
        human_cost_usd=_usd(human_cost),
        machine_cost_usd=_usd(machine_cost),
        compute_cost_usd=_usd(compute_cost_usd),
        total_cost_usd=_usd(total),
        cost_without_auto_labeling_usd=_usd(without),
        saving_usd=_usd(saving),
        saving_percent=percent_of(saving, without),
        prices_version=prices.version,
    )


def sum_breakdowns(rows: Sequence[CostBreakdown]) -> CostBreakdown:
    """Add per-iteration rows into one total (``saving_percent`` recomputed from the sums).

    The rows must share workers, task price, object fee and price version: summing rows priced
    differently would make a total no single price table explains. Raises ``ValueError`` otherwise,
    or when ``rows`` is empty (an empty total has no prices to name).
    """
    if not rows:
        raise ValueError("rows must contain at least one CostBreakdown")
    first = rows[0]
    shared = ("workers_per_object", "task_price_usd", "object_fee_usd", "prices_version")
    for index, row in enumerate(rows[1:], start=1):
        for name in shared:
            if getattr(row, name) != getattr(first, name):
                raise ValueError(
                    f"rows[{index}].{name} is {getattr(row, name)} but rows[0].{name} is "
                    f"{getattr(first, name)}: only rows priced alike can be added"
                )
    summed = ("human_objects", "machine_objects", "iterations")
    amounts = (
        "human_cost_usd",
        "machine_cost_usd",
        "compute_cost_usd",
        "total_cost_usd",
        "cost_without_auto_labeling_usd",
        "saving_usd",
    )
    with localcontext(_ARITHMETIC):
        totals: dict[str, object] = {name: sum(getattr(row, name) for row in rows) for name in summed}
        totals.update({name: _usd(sum(getattr(row, name) for row in rows)) for name in amounts})
        saving = sum(row.saving_usd for row in rows)
        without = sum(row.cost_without_auto_labeling_usd for row in rows)
    return CostBreakdown.model_validate(
        {
            **{name: getattr(first, name) for name in shared},
            **totals,
            "saving_percent": percent_of(Decimal(saving), Decimal(without)),
        }
    )
