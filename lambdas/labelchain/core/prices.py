"""The versioned price table every cost figure is computed from (cost model ``labelchain-cost-v2``).

No AWS API returns money, so LabelChain prices labeling jobs from a table (docs/COST.md).
``DEFAULT_PRICES`` holds the Ground Truth per-object fee and no labor rate; a deployment (cdk.json
``default_prices``, passed as JSON through ``LABELCHAIN_DEFAULT_PRICES``), a project and a single job
can override them. Whatever is overridden is named in the table's ``version``, so every record says
which prices produced its numbers. ``MECHANICAL_TURK_TUTORIAL_PRICES`` keeps the 2019 tutorial's
table for history (the public workforce was Amazon Mechanical Turk, closed on 2026-09-30).

Money is ``Decimal`` throughout (DynamoDB stores numbers as Decimal, and binary floats cannot hold
cents exactly). Every price is a USD amount from 0 to ``MAX_USD_AMOUNT`` with at most
``USD_DECIMAL_PLACES`` decimal places, which keeps all cost arithmetic exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError
from pydantic_core import PydanticCustomError

from labelchain.core.models import StrictModel
from labelchain.core.strict_json import loads_strict
from labelchain.core.validation import describe_validation_error

MAX_USD_AMOUNT = Decimal(100)
"""Upper bound of any single price: far above real Ground Truth prices, low enough to catch typos."""

USD_DECIMAL_PLACES = 4
"""Prices carry at most this many decimal places (public task prices use three, e.g. 0.036)."""

_USD_QUANTUM = Decimal(1).scaleb(-USD_DECIMAL_PLACES)

USD_AMOUNT_RULE = f"a USD amount from 0 to {MAX_USD_AMOUNT} with at most {USD_DECIMAL_PLACES} decimal places"
"""What a valid price looks like, in the words every error message uses."""


def _bounded_amount(value: Decimal, maximum: Decimal, rule: str) -> Decimal:
    """``value`` if it is a finite Decimal from 0 to ``maximum`` with at most 4 places; else ValueError."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"must be {rule}, got {value!r}")
    if value < 0 or value > maximum or value.quantize(_USD_QUANTUM) != value:
        raise ValueError(f"must be {rule}, got {value}")
    return value


def _parse_amount(text: str, check: Callable[[Decimal], Decimal], rule: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"must be {rule}, got {text!r}") from None
    return check(value)


def _pydantic_check(check: Callable[[Decimal], Decimal], error_type: str) -> Callable[[Decimal], Decimal]:
    def validate(value: Decimal) -> Decimal:
        try:
            return check(value)
        except ValueError as exc:
            # A custom error keeps pydantic's "Value error, " prefix out of the user-facing message.
            raise PydanticCustomError(error_type, str(exc)) from None

    return validate


def check_usd_amount(value: Decimal) -> Decimal:
    """Return ``value`` if it is a valid price; otherwise raise ``ValueError`` saying what is allowed.

    The single definition of a valid price, shared by the models, ``compute_cost`` and the CLI.
    """
    return _bounded_amount(value, MAX_USD_AMOUNT, USD_AMOUNT_RULE)


def parse_usd_amount(text: str) -> Decimal:
    """Parse a price written as text (``"0.036"``), raising ``ValueError`` with the allowed form."""
    return _parse_amount(text, check_usd_amount, USD_AMOUNT_RULE)


UsdAmount = Annotated[Decimal, AfterValidator(_pydantic_check(check_usd_amount, "usd_amount"))]
"""A price: ``Decimal``, 0 to ``MAX_USD_AMOUNT``, at most ``USD_DECIMAL_PLACES`` decimal places."""

MAX_HOURLY_RATE_USD = Decimal(10_000)
"""Upper bound of a labor rate (USD per worker hour): expert annotators cost far more than a task."""

HOURLY_RATE_RULE = (
    f"a USD amount per hour from 0 to {MAX_HOURLY_RATE_USD} with at most {USD_DECIMAL_PLACES} decimal places"
)


def check_hourly_rate(value: Decimal) -> Decimal:
    """Return ``value`` if it is a valid labor rate; otherwise raise ``ValueError`` saying what is allowed."""
    return _bounded_amount(value, MAX_HOURLY_RATE_USD, HOURLY_RATE_RULE)


def parse_hourly_rate(text: str) -> Decimal:
    """Parse a labor rate written as text (``"25.50"``), raising ``ValueError`` with the allowed form."""
    return _parse_amount(text, check_hourly_rate, HOURLY_RATE_RULE)


HourlyRate = Annotated[Decimal, AfterValidator(_pydantic_check(check_hourly_rate, "hourly_rate"))]
"""A labor rate: USD per worker hour, 0 to ``MAX_HOURLY_RATE_USD``, at most 4 decimal places."""

COST_MODEL = "labelchain-cost-v2"
"""The cost model every new cost figure is computed with (``core.cost``; docs/COST.md)."""


class PriceTable(StrictModel):
    """The prices a cost figure was computed with; ``version`` names them in every record."""

    version: str = Field(
        min_length=1,
        max_length=200,
        description="Names the table and its overrides: 'labelchain-cost-v2+overrides(object_fee_usd)'",
    )
    object_fee_usd: UsdAmount = Field(
        default=Decimal("0.08"), description="Ground Truth fee paid for every labeled object"
    )
    auto_labeling_compute_usd_per_iteration: UsdAmount = Field(
        default=Decimal(0),
        description="Training and inference instance time per active-learning iteration",
    )
    task_price_usd: UsdAmount | None = Field(
        default=None,
        description=(
            "What one human task costs a private team paid per task; None means 0. A public-workforce "
            "(Mechanical Turk, history) record's own price always wins; a vendor's price is per object."
        ),
    )
    labor_rate_usd_per_hour: HourlyRate | None = Field(
        default=None,
        description=(
            "What one hour of a private team's worker time costs; None: labor is not priced (worker "
            "hours are still measured and reported)"
        ),
    )
    source: str = Field(min_length=1, max_length=1000, description="Where the numbers come from")


DEFAULT_PRICES = PriceTable(
    version=COST_MODEL,
    object_fee_usd=Decimal("0.08"),
    auto_labeling_compute_usd_per_iteration=Decimal(0),
    task_price_usd=None,
    labor_rate_usd_per_hour=None,
    source=(
        "Ground Truth fee per labeled object (human or machine), flat 0.08 USD: the figure of AWS's "
        "pre-trained-model tutorial (AWS Machine Learning Blog, 2019); AWS's pricing page "
        "(https://aws.amazon.com/sagemaker/groundtruth/pricing/) charges it per labeled object in volume "
        "tiers per account and month, whose current figures LabelChain could not source: override "
        "object_fee_usd with your tier's price. Private team labor: worker time from the job's "
        "worker-response files x labor_rate_usd_per_hour (unset: not priced). Auto-labeling training "
        "and inference instance time: not included (auto_labeling_compute_usd_per_iteration, 0)"
    ),
)
"""The one source of truth for default prices (cost model ``labelchain-cost-v2``)."""

MECHANICAL_TURK_TUTORIAL_PRICES = PriceTable(
    version="aws-gt-tutorial-2019",
    object_fee_usd=Decimal("0.08"),
    auto_labeling_compute_usd_per_iteration=Decimal(0),
    task_price_usd=None,
    source=(
        "AWS Machine Learning Blog tutorial on chaining Ground Truth jobs with a pre-trained model "
        "(2019), Amazon Mechanical Turk prices (history: Mechanical Turk closed on 2026-09-30): 0.08 USD "
        "Ground Truth fee per labeled object plus workers x the task price per human-labeled object; "
        "auto-labeling training and inference compute ignored as insignificant"
    ),
)
"""The Mechanical Turk era table (``labelchain cost --task-price``; records priced before v2 name it)."""


class PriceOverrides(StrictModel):
    """Prices a deployment or a job sets instead of the table's; ``None`` keeps the table's price."""

    object_fee_usd: UsdAmount | None = None
    auto_labeling_compute_usd_per_iteration: UsdAmount | None = None
    task_price_usd: UsdAmount | None = Field(
        default=None, description="What one task costs a private team paid per task"
    )
    labor_rate_usd_per_hour: HourlyRate | None = Field(
        default=None, description="What one hour of a private team's worker time costs"
    )


def resolve_prices(base: PriceTable, overrides: PriceOverrides | None) -> PriceTable:
    """Apply ``overrides`` to ``base``; the result's ``version`` names every overridden field.

    An override is named even when it repeats the base value: the record then says the user chose
    it. Resolving twice (deployment defaults, then a job's overrides) appends a second suffix, e.g.
    ``labelchain-cost-v2+overrides(object_fee_usd)+overrides(labor_rate_usd_per_hour)``.
    """
    if overrides is None:
        return base
    changes = {
        name: value for name in PriceOverrides.model_fields if (value := getattr(overrides, name)) is not None
    }
    if not changes:
        return base
    version = f"{base.version}+overrides({','.join(changes)})"
    return PriceTable.model_validate({**base.model_dump(), **changes, "version": version})


def task_price_usd_for(prices: PriceTable, public_task_price_usd: Decimal | None) -> Decimal:
    """The task price to charge a human-labeled object's workers.

    A public-workforce (Mechanical Turk, history) request states what AWS charged per task, and that
    price wins. Otherwise the table's ``task_price_usd`` (what a task costs a team paid per task)
    applies, else 0. A vendor's price is per object, not per task: see ``WorkforceUsed``.
    """
    if public_task_price_usd is not None:
        return public_task_price_usd
    return prices.task_price_usd if prices.task_price_usd is not None else Decimal(0)


def prices_from_json(text: str) -> PriceTable:
    """Build the deployment's price table from a JSON object of overrides (``"{}"`` = defaults).

    cdk.json context reaches the Lambdas as this JSON, so a mistake must name the offending key.
    Numbers are read as ``Decimal`` (never float) and may also be given as strings (``"0.036"``).
    """
    try:
        raw: Any = loads_strict(text, document="price overrides", parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"price overrides: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise ValueError(
            f"price overrides: expected a JSON object such as {{}} or "
            f'{{"object_fee_usd": 0.08}}, got {type(raw).__name__}'
        )
    allowed = ", ".join(PriceOverrides.model_fields)
    for key in raw:
        if key not in PriceOverrides.model_fields:
            raise ValueError(f"price overrides: unknown key {key!r} (allowed keys: {allowed})")
    try:
        overrides = PriceOverrides.model_validate(raw)
    except ValidationError as exc:
        problems = describe_validation_error(exc, root="overrides")
        raise ValueError(f"price overrides: {problems}") from None
    return resolve_prices(DEFAULT_PRICES, overrides)
