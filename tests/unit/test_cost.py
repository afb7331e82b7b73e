"""Specification of the cost model and the versioned price table (pure, offline)."""

from __future__ import annotations

import json
from decimal import Decimal, localcontext

import pytest
from pydantic import ValidationError

from labelchain.core.cost import CostBreakdown, compute_cost
from labelchain.core.prices import (
    DEFAULT_PRICES,
    PriceOverrides,
    PriceTable,
    prices_from_json,
    resolve_prices,
    task_price_usd_for,
)
from labelchain.core.prices import (
    MECHANICAL_TURK_TUTORIAL_PRICES as TUTORIAL_PRICES,
)

TUTORIAL_TASK_PRICE = Decimal("0.036")
TUTORIAL_WORKERS = 5


def tutorial_cost(
    human: int, machine: int, iterations: int = 0, prices: PriceTable = TUTORIAL_PRICES
) -> CostBreakdown:
    return compute_cost(
        human_objects=human,
        machine_objects=machine,
        workers_per_object=TUTORIAL_WORKERS,
        task_price_usd=TUTORIAL_TASK_PRICE,
        prices=prices,
        iterations=iterations,
    )


# --- the tutorial's constants ------------------------------------------------------------------


def test_default_prices_are_cost_model_v2_with_the_flat_fee_and_no_labor_rate() -> None:
    """Given no overrides, then the table is named for the cost model, the object fee is 0.08 USD,
    compute is free and labor is not priced; the Mechanical Turk table is kept for history."""
    assert DEFAULT_PRICES.version == "labelchain-cost-v2"
    assert DEFAULT_PRICES.object_fee_usd == Decimal("0.08")
    assert DEFAULT_PRICES.auto_labeling_compute_usd_per_iteration == 0
    assert (DEFAULT_PRICES.task_price_usd, DEFAULT_PRICES.labor_rate_usd_per_hour) == (None, None)
    assert TUTORIAL_PRICES.version == "aws-gt-tutorial-2019"
    assert "Mechanical Turk" in TUTORIAL_PRICES.source


def test_one_human_labeled_object_costs_the_fee_plus_five_tasks() -> None:
    """Given 5 workers at 0.036 USD, when one object is human-labeled, then it costs 0.08 + 5 x 0.036."""
    breakdown = tutorial_cost(human=1, machine=0)

    assert breakdown.human_cost_usd == Decimal("0.26")
    assert breakdown.total_cost_usd == Decimal("0.26")


def test_one_machine_labeled_object_costs_only_the_fee() -> None:
    """Given the tutorial prices, when one object is machine-labeled, then it costs 0.08 and saves 0.18."""
    breakdown = tutorial_cost(human=0, machine=1)

    assert breakdown.machine_cost_usd == Decimal("0.08")
    assert breakdown.total_cost_usd == Decimal("0.08")
    assert breakdown.cost_without_auto_labeling_usd == Decimal("0.26")
    assert breakdown.saving_usd == Decimal("0.18")


# --- the experiment's scale (1,250 objects per job) --------------------------------------------


def test_seeded_job_at_experiment_scale_matches_hand_arithmetic() -> None:
    """Given job 2 of the experiment (80 % of 1,250 machine-labeled), then every line matches by hand.

    human   250 x 0.26 =  65.00
    machine 1000 x 0.08 = 80.00
    total   65 + 80    = 145.00
    without 1250 x 0.26 = 325.00
    saving  325 - 145  = 180.00  ->  180 / 325 = 55.3846... % -> 55.38 %
    """
    breakdown = tutorial_cost(human=250, machine=1000)

    assert breakdown.human_cost_usd == Decimal("65.00")
    assert breakdown.machine_cost_usd == Decimal("80.00")
    assert breakdown.compute_cost_usd == 0
    assert breakdown.total_cost_usd == Decimal("145.00")
    assert breakdown.cost_without_auto_labeling_usd == Decimal("325.00")
    assert breakdown.saving_usd == Decimal("180.00")
    assert breakdown.saving_percent == Decimal("55.38")
    assert breakdown.prices_version == "aws-gt-tutorial-2019"


def test_seeded_job_costs_about_23_percent_less_than_the_unseeded_control() -> None:
    """Given job 2 (80 % machine) and job 3 (60 % machine), then job 2 is ~23 % cheaper, as AWS reported.

    job 3: 500 x 0.26 + 750 x 0.08 = 130 + 60 = 190.00;  (190 - 145) / 190 = 23.68 %
    """
    seeded = tutorial_cost(human=250, machine=1000)
    control = tutorial_cost(human=500, machine=750)

    assert control.total_cost_usd == Decimal("190.00")
    assert control.saving_percent == Decimal("41.54")  # 135 / 325 = 41.538... %
    reduction = (control.total_cost_usd - seeded.total_cost_usd) / control.total_cost_usd
    assert Decimal("0.23") <= reduction < Decimal("0.24")


def test_zero_objects_cost_nothing_and_save_zero_percent() -> None:
    """Given no labeled objects, then every amount is 0 and the saving percent is 0 (no division by 0)."""
    breakdown = tutorial_cost(human=0, machine=0)

    assert breakdown.total_cost_usd == 0
    assert breakdown.cost_without_auto_labeling_usd == 0
    assert breakdown.saving_usd == 0
    assert breakdown.saving_percent == 0


# --- compute charge -----------------------------------------------------------------------------


def test_compute_charge_is_added_per_iteration_and_reduces_the_saving() -> None:
    """Given 2.50 USD compute per iteration, when 3 iterations ran, then 7.50 is added to the total only."""
    prices = resolve_prices(
        TUTORIAL_PRICES, PriceOverrides(auto_labeling_compute_usd_per_iteration=Decimal("2.5"))
    )

    breakdown = tutorial_cost(human=250, machine=1000, iterations=3, prices=prices)

    assert breakdown.compute_cost_usd == Decimal("7.50")
    assert breakdown.total_cost_usd == Decimal("152.50")  # 145 + 7.50
    assert breakdown.cost_without_auto_labeling_usd == Decimal("325.00")
    assert breakdown.saving_usd == Decimal("172.50")
    assert breakdown.saving_percent == Decimal("53.08")  # 172.5 / 325 = 53.0769... %


def test_compute_that_outweighs_the_saving_gives_a_negative_saving() -> None:
    """Given compute dearer than the labels it saved, then the saving is negative, not clipped to 0."""
    prices = resolve_prices(
        TUTORIAL_PRICES, PriceOverrides(auto_labeling_compute_usd_per_iteration=Decimal(100))
    )

    breakdown = tutorial_cost(human=0, machine=10, iterations=1, prices=prices)

    assert breakdown.saving_usd == Decimal("-98.20")  # 10 x 0.26 - (10 x 0.08 + 100)
    assert breakdown.saving_percent == Decimal("-3776.92")


# --- rounding -----------------------------------------------------------------------------------


def test_amounts_are_exact_and_carry_four_decimal_places() -> None:
    """Given a 4-decimal task price, then amounts are exact (no rounding) and stored with 4 places.

    per human object: 0.08 + 3 x 0.0361 = 0.1883; 7 objects = 1.3181
    """
    breakdown = compute_cost(
        human_objects=7,
        machine_objects=0,
        workers_per_object=3,
        task_price_usd=Decimal("0.0361"),
        prices=TUTORIAL_PRICES,
    )

    assert breakdown.human_cost_usd == Decimal("1.3181")
    assert breakdown.human_cost_usd.as_tuple().exponent == -4
    assert str(breakdown.total_cost_usd) == "1.3181"


def test_saving_percent_rounds_half_up_to_two_places() -> None:
    """Given a saving of exactly 0.125 %, then it is reported as 0.13 % (half-up, not half-even 0.12)."""
    prices = resolve_prices(TUTORIAL_PRICES, PriceOverrides(object_fee_usd=Decimal(0)))

    breakdown = compute_cost(
        human_objects=799,
        machine_objects=1,
        workers_per_object=1,
        task_price_usd=Decimal(1),
        prices=prices,
    )

    assert breakdown.saving_usd == Decimal(1)
    assert breakdown.cost_without_auto_labeling_usd == Decimal(800)
    assert breakdown.saving_percent == Decimal("0.13")


def test_arithmetic_ignores_the_callers_decimal_context() -> None:
    """Given a caller whose decimal context keeps only 3 digits, then amounts are still exact."""
    with localcontext() as context:
        context.prec = 3
        breakdown = tutorial_cost(human=250, machine=1000)

    assert breakdown.total_cost_usd == Decimal("145.00")
    assert breakdown.saving_percent == Decimal("55.38")


# --- invalid inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value", "allowed"),
    [
        ("human_objects", -1, "whole number from 0"),
        ("machine_objects", -5, "whole number from 0"),
        ("machine_objects", True, "whole number from 0"),
        ("workers_per_object", 0, "from 1 to 9"),
        ("workers_per_object", 10, "from 1 to 9"),
        ("iterations", -1, "whole number from 0"),
        ("task_price_usd", Decimal("-0.01"), "USD amount from 0 to 100"),
        ("task_price_usd", Decimal("0.12345"), "at most 4 decimal places"),
        ("task_price_usd", Decimal("NaN"), "USD amount"),
        ("task_price_usd", 0.036, "USD amount"),
    ],
)
def test_invalid_input_is_refused_naming_the_parameter(parameter: str, value: object, allowed: str) -> None:
    """Given one invalid argument, then ValueError names that parameter and what is allowed."""
    arguments: dict[str, object] = {
        "human_objects": 1,
        "machine_objects": 1,
        "workers_per_object": 1,
        "task_price_usd": Decimal("0.036"),
        "iterations": 0,
        parameter: value,
    }

    with pytest.raises(ValueError, match=parameter) as caught:
        compute_cost(prices=TUTORIAL_PRICES, **arguments)  # type: ignore[arg-type]

    assert str(caught.value).startswith(parameter)
    assert allowed in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("object_fee_usd", Decimal(-1)),
        ("auto_labeling_compute_usd_per_iteration", Decimal("100.01")),
        ("task_price_usd", Decimal("0.00001")),
        ("task_price_usd", "abc"),
    ],
)
def test_invalid_override_is_refused_naming_the_field(field: str, value: object) -> None:
    """Given an override out of range or too precise, then validation names the field."""
    with pytest.raises(ValidationError) as caught:
        PriceOverrides.model_validate({field: value})

    (error,) = caught.value.errors()
    assert error["loc"] == (field,)


def test_override_error_says_what_a_price_may_be() -> None:
    """Given a negative fee, then the message states the allowed range and precision, without noise."""
    with pytest.raises(ValidationError) as caught:
        PriceOverrides(object_fee_usd=Decimal("-0.08"))

    assert caught.value.errors()[0]["msg"] == (
        "must be a USD amount from 0 to 100 with at most 4 decimal places, got -0.08"
    )


def test_unknown_override_is_refused() -> None:
    """Given a misspelt override, then it is refused instead of silently ignored."""
    with pytest.raises(ValidationError, match="object_fee"):
        PriceOverrides.model_validate({"object_fee": Decimal("0.1")})


# --- overrides and the price version ------------------------------------------------------------


def test_override_names_itself_in_the_version_and_changes_the_result() -> None:
    """Given a 0.10 USD object fee override, then the version names it and the totals use it.

    250 x (0.10 + 0.18) + 1000 x 0.10 = 70 + 100 = 170.00
    """
    prices = resolve_prices(TUTORIAL_PRICES, PriceOverrides(object_fee_usd=Decimal("0.10")))

    breakdown = tutorial_cost(human=250, machine=1000, prices=prices)

    assert prices.version == "aws-gt-tutorial-2019+overrides(object_fee_usd)"
    assert breakdown.prices_version == "aws-gt-tutorial-2019+overrides(object_fee_usd)"
    assert breakdown.object_fee_usd == Decimal("0.10")
    assert breakdown.total_cost_usd == Decimal("170.00")


def test_no_overrides_leave_the_table_unchanged() -> None:
    """Given no overrides (None or all fields unset), then the default table comes back as is."""
    assert resolve_prices(TUTORIAL_PRICES, None) == TUTORIAL_PRICES
    assert resolve_prices(TUTORIAL_PRICES, PriceOverrides()) == TUTORIAL_PRICES


def test_every_overridden_field_is_named_in_declaration_order() -> None:
    """Given several overrides, then the version names each of them."""
    prices = resolve_prices(
        TUTORIAL_PRICES,
        PriceOverrides(task_price_usd=Decimal("0.05"), object_fee_usd=Decimal("0.08")),
    )

    assert prices.version == "aws-gt-tutorial-2019+overrides(object_fee_usd,task_price_usd)"
    assert prices.source == TUTORIAL_PRICES.source


def test_job_overrides_on_deployment_overrides_keep_both_in_the_version() -> None:
    """Given deployment overrides, when a job overrides again, then the version records both layers."""
    deployment = prices_from_json('{"object_fee_usd": 0.1}')

    job = resolve_prices(deployment, PriceOverrides(labor_rate_usd_per_hour=Decimal("32.5")))

    assert job.version == ("labelchain-cost-v2+overrides(object_fee_usd)+overrides(labor_rate_usd_per_hour)")
    assert job.object_fee_usd == Decimal("0.1")
    assert job.labor_rate_usd_per_hour == Decimal("32.5")


def test_public_task_price_from_the_request_wins_over_a_task_price_override() -> None:
    """Given a public-workforce job, then its request price is charged whatever the table says."""
    prices = resolve_prices(TUTORIAL_PRICES, PriceOverrides(task_price_usd=Decimal("0.5")))

    assert task_price_usd_for(prices, Decimal("0.036")) == Decimal("0.036")


def test_private_workforce_pays_the_overridden_task_price_or_nothing() -> None:
    """Given a private workforce (no request price), then the override applies, else tasks cost 0."""
    overridden = resolve_prices(TUTORIAL_PRICES, PriceOverrides(task_price_usd=Decimal("0.05")))

    assert task_price_usd_for(overridden, None) == Decimal("0.05")
    assert task_price_usd_for(TUTORIAL_PRICES, None) == 0


# --- deployment defaults from JSON --------------------------------------------------------------


def test_empty_json_object_gives_the_default_prices() -> None:
    """Given cdk.json context "{}", then the deployment uses the default table."""
    assert prices_from_json("{}") == DEFAULT_PRICES


def test_json_numbers_become_exact_decimals() -> None:
    """Given JSON numbers and numeric strings, then they are read as exact Decimals, never floats."""
    prices = prices_from_json('{"object_fee_usd": 0.1, "auto_labeling_compute_usd_per_iteration": "1.25"}')

    assert prices.object_fee_usd == Decimal("0.1")
    assert prices.auto_labeling_compute_usd_per_iteration == Decimal("1.25")
    assert prices.version == (
        "labelchain-cost-v2+overrides(object_fee_usd,auto_labeling_compute_usd_per_iteration)"
    )


def test_unknown_json_key_is_named_with_the_allowed_keys() -> None:
    """Given a misspelt key in the JSON, then the error names it and lists the allowed keys."""
    with pytest.raises(ValueError, match=r"unknown key 'object_fee'.*object_fee_usd") as caught:
        prices_from_json('{"object_fee": 0.1}')

    assert not isinstance(caught.value, ValidationError)


def test_invalid_json_value_is_named_with_its_key() -> None:
    """Given an out-of-range value in the JSON, then the error names the key and the allowed range."""
    with pytest.raises(ValueError, match=r"task_price_usd: must be a USD amount from 0 to 100"):
        prices_from_json('{"task_price_usd": 250}')


@pytest.mark.parametrize(("text", "problem"), [("[]", "expected a JSON object"), ("{", "not valid JSON")])
def test_json_that_is_not_an_object_is_refused(text: str, problem: str) -> None:
    """Given JSON that is not an object of overrides, then the error says what was expected."""
    with pytest.raises(ValueError, match=problem):
        prices_from_json(text)


# --- records: round trips and integrity ---------------------------------------------------------


def test_breakdown_survives_a_json_round_trip_with_decimals_as_strings() -> None:
    """Given a breakdown, when written as JSON and read back, then it is equal and money is strings."""
    breakdown = tutorial_cost(human=250, machine=1000)

    text = breakdown.model_dump_json()

    assert json.loads(text)["total_cost_usd"] == "145.0000"
    assert json.loads(text)["saving_percent"] == "55.38"
    assert CostBreakdown.model_validate_json(text) == breakdown


def test_breakdown_survives_a_dynamodb_style_round_trip() -> None:
    """Given a breakdown read back as DynamoDB returns it (every number a Decimal), then it is equal."""
    breakdown = tutorial_cost(human=250, machine=1000)
    item = {
        key: Decimal(value) if isinstance(value, int) else value
        for key, value in breakdown.model_dump().items()
    }

    assert CostBreakdown.model_validate(item) == breakdown


def test_record_whose_lines_do_not_add_up_is_refused() -> None:
    """Given a stored breakdown with a tampered total, then reading it fails naming the line."""
    item = tutorial_cost(human=250, machine=1000).model_dump()
    item["total_cost_usd"] = Decimal("100.00")

    with pytest.raises(ValidationError, match="total_cost_usd"):
        CostBreakdown.model_validate(item)
