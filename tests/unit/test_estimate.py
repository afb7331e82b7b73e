"""Specification of ``labelchain.core.estimate``: the least and the most a job can cost before it runs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from labelchain.core.estimate import (
    budget_problem,
    estimate_experiment_cost,
    estimate_job_cost,
    validation_sample_size,
)
from labelchain.core.experiment import parse_experiment_input
from labelchain.core.job_input import JobInput, parse_job_input
from labelchain.core.prices import DEFAULT_PRICES, prices_from_json

ROOT = Path(__file__).resolve().parents[2]
BIRD_JOB: dict[str, Any] = json.loads((ROOT / "examples" / "bird-bounding-box.json").read_text())
PRIVATE_JOB: dict[str, Any] = json.loads(
    (ROOT / "examples" / "image-classification-private.json").read_text()
)
EXPERIMENT: dict[str, Any] = json.loads((ROOT / "examples" / "experiment-birds.json").read_text())
VENDOR = {
    "kind": "vendor",
    "workteam_arn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/vendor-crowd/acme-labeling",
    "workers_per_object": 3,
    "price_per_object_usd": "0.108",
}
PER_HUMAN_OBJECT = Decimal("0.08") + Decimal("0.108")
"""The tutorial's numbers with a vendor: the object fee plus the vendor's 0.108 USD (3 x 0.036)."""


def job(**changes: Any) -> JobInput:
    return parse_job_input({**BIRD_JOB, "workforce": VENDOR, **changes})


@pytest.mark.parametrize(
    ("objects", "sample"),
    [(0, 0), (1250, 250), (4999, 999), (5000, 1000), (5001, 500), (5005, 500), (100_000, 10_000)],
)
def test_the_validation_sample_is_a_fifth_up_to_5000_objects_and_a_tenth_above(
    objects: int, sample: int
) -> None:
    assert validation_sample_size(objects) == sample


def test_the_tutorial_job_costs_between_its_validation_sample_by_people_and_everything_by_people() -> None:
    estimate = estimate_job_cost(job(), 1250)

    assert (estimate.minimum.human_objects, estimate.minimum.machine_objects) == (250, 1000)
    assert (
        estimate.minimum.total_cost_usd == 250 * PER_HUMAN_OBJECT + 1000 * Decimal("0.08") == Decimal("127")
    )
    assert (estimate.maximum.human_objects, estimate.maximum.machine_objects) == (1250, 0)
    assert estimate.maximum.total_cost_usd == 1250 * PER_HUMAN_OBJECT == Decimal("235")
    assert estimate.validation_objects == 250
    assert not estimate.single_value


def test_without_auto_labeling_the_least_is_the_most() -> None:
    estimate = estimate_job_cost(job(auto_labeling=False), 20)

    assert estimate.single_value
    assert estimate.minimum == estimate.maximum
    assert (estimate.minimum.human_objects, estimate.minimum.machine_objects) == (20, 0)
    assert estimate.minimum.iterations == 0
    assert estimate.validation_objects == 0


def test_a_human_label_cap_bounds_both_ends() -> None:
    estimate = estimate_job_cost(job(stopping_conditions={"max_human_labeled_objects": 100}), 1250)

    assert (estimate.minimum.human_objects, estimate.minimum.machine_objects) == (100, 1150)
    assert (estimate.maximum.human_objects, estimate.maximum.machine_objects) == (100, 1150)


def test_a_labeled_percentage_cap_leaves_objects_unlabeled() -> None:
    estimate = estimate_job_cost(job(stopping_conditions={"max_percentage_labeled": 50}), 1250)

    assert estimate.labeled == 625
    assert (estimate.minimum.human_objects, estimate.minimum.machine_objects) == (250, 375)
    assert (estimate.maximum.human_objects, estimate.maximum.machine_objects) == (625, 0)


def test_a_private_team_costs_the_fee_and_leaves_worker_time_out_before_it_runs() -> None:
    """Given a private team with a labor rate, then the range is the fees (plus a per-task price if
    the input names one) and says that worker time, unknown before the job runs, is left out."""
    rated = parse_job_input({**PRIVATE_JOB, "prices": {"labor_rate_usd_per_hour": "30"}})
    per_task = parse_job_input({**PRIVATE_JOB, "prices": {"task_price_usd": "0.05"}})

    estimate = estimate_job_cost(rated, 2000)
    paid_per_task = estimate_job_cost(per_task, 2000)

    assert estimate.maximum.total_cost_usd == 2000 * Decimal("0.08")
    assert estimate.labor_time_excluded
    workers = per_task.workforce.workers_per_object
    assert paid_per_task.maximum.total_cost_usd == 2000 * (Decimal("0.08") + workers * Decimal("0.05"))
    assert not paid_per_task.labor_time_excluded


def test_a_vendor_is_charged_its_price_per_human_labeled_object() -> None:
    estimate = estimate_job_cost(job(), 1250)

    assert estimate.maximum.vendor_price_per_object_usd == Decimal("0.108")
    assert estimate.maximum.labor_cost_usd == 1250 * Decimal("0.108")


def test_prices_resolve_like_create_job_deployment_defaults_then_the_inputs_overrides() -> None:
    deployment = prices_from_json('{"object_fee_usd": "0.10"}')

    from_deployment = estimate_job_cost(job(), 1250, deployment)
    from_input = estimate_job_cost(job(prices={"object_fee_usd": "0.05"}), 1250, deployment)

    assert from_deployment.minimum.object_fee_usd == Decimal("0.10")
    assert from_input.minimum.object_fee_usd == Decimal("0.05")
    assert (
        from_input.prices.version
        == f"{DEFAULT_PRICES.version}+overrides(object_fee_usd)+overrides(object_fee_usd)"
    )


def test_compute_is_charged_for_one_iteration_at_least_and_one_per_human_batch_at_most() -> None:
    priced = job(prices={"auto_labeling_compute_usd_per_iteration": "2"}, max_concurrent_tasks=200)

    estimate = estimate_job_cost(priced, 1250)

    assert estimate.minimum.iterations == 1
    assert estimate.maximum.iterations == 7  # ceil(1,250 / 200)
    assert estimate.maximum.compute_cost_usd == Decimal("14")


def test_a_budget_below_the_least_is_a_problem_naming_the_field_and_the_least() -> None:
    estimate = estimate_job_cost(job(), 1250)

    problem = budget_problem(Decimal("100"), estimate)

    assert problem is not None
    assert problem.startswith("budget_usd: 100.00 USD is below the least this job can cost, 127.00 USD")
    assert "250 objects labeled by people (the validation sample) and 1,000 by the model" in problem
    assert "raise it to at least 127.00" in problem
    assert budget_problem(Decimal("127"), estimate) is None
    assert budget_problem(None, estimate) is None


def test_the_experiment_prices_its_three_jobs_on_their_parts() -> None:
    experiment = parse_experiment_input({**EXPERIMENT, "job": {**EXPERIMENT["job"], "workforce": VENDOR}})

    estimate = estimate_experiment_cost(experiment, 2501)

    assert {role: e.objects for role, e in estimate.jobs.items()} == {
        "initial": 1251,
        "pretrained": 1250,
        "control": 1250,
    }
    assert estimate.minimum_usd == sum(e.minimum.total_cost_usd for e in estimate.jobs.values())
    assert estimate.maximum_usd == sum(e.maximum.total_cost_usd for e in estimate.jobs.values())


def test_an_empty_manifest_has_no_estimate() -> None:
    with pytest.raises(ValueError, match="objects must be at least 1"):
        estimate_job_cost(job(), 0)
