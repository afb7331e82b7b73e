"""What a labeling job can cost before it runs: the least and the most, from the cost model.

No AWS call and no guess about how well the model will learn: the range brackets every outcome of a
job that runs to its end.

* **Most**: every object a person labels (``objects × (fee + workers × task price)``), as if
  automated labeling never took over.
* **Least**: automated labeling labels everything it possibly can. Ground Truth still sends its
  validation sample to people first — 20 % of the objects for datasets of up to 5,000 objects, 10 %
  above (the facts ``local/ground_truth`` models; docs/EMULATOR.md) — so at least that many objects
  are human-labeled; the rest cost only the object fee. Without ``auto_labeling`` the least is the
  most.
* Stopping conditions bound both: ``max_human_labeled_objects`` caps the human-labeled objects and
  ``max_percentage_labeled`` caps the labeled ones (``ceil(pct × objects / 100)``).
* Compute (``auto_labeling_compute_usd_per_iteration``, 0 by default) is charged for at least one
  active-learning iteration and at most one per batch of ``max_concurrent_tasks`` human-labeled
  objects.
* A vendor work team's price per object is charged per human-labeled object. A private team's labor
  is worker time × ``labor_rate_usd_per_hour``, and worker time is only known once the job ran: the
  range leaves it out and ``labor_time_excluded`` says so (cost model ``labelchain-cost-v2``).

Prices resolve exactly as CreateJob resolves them: the deployment's table (``DEFAULT_PRICES`` unless
cdk.json overrides it), then the input's ``prices``, and a vendor's own price per object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from labelchain.core.cost import MAX_ITERATIONS, CostBreakdown, compute_cost
from labelchain.core.dataset_split import part_sizes
from labelchain.core.experiment import ROLES, ExperimentInput
from labelchain.core.job_input import JobInput
from labelchain.core.prices import DEFAULT_PRICES, PriceTable, resolve_prices, task_price_usd_for

LARGE_DATASET_OBJECTS = 5_000
"""Datasets above this many objects get the smaller validation sample."""
VALIDATION_FRACTION_SMALL = Decimal("0.20")
VALIDATION_FRACTION_LARGE = Decimal("0.10")


def validation_sample_size(objects: int) -> int:
    """The fewest objects Ground Truth's validation sample sends to people (rounded down)."""
    if objects < 0:
        raise ValueError(f"objects must be 0 or more, got {objects}")
    fraction = VALIDATION_FRACTION_LARGE if objects > LARGE_DATASET_OBJECTS else VALIDATION_FRACTION_SMALL
    return int(fraction * objects)  # int() of a non-negative Decimal rounds down


@dataclass(frozen=True)
class CostEstimate:
    """The cost range of one job of ``objects`` objects."""

    objects: int
    labeled: int
    """Objects the job labels by its end (fewer than ``objects`` under max_percentage_labeled)."""
    validation_objects: int
    """Human-labeled at the least: the validation sample (0 when auto_labeling is off)."""
    minimum: CostBreakdown
    maximum: CostBreakdown
    prices: PriceTable
    auto_labeling: bool
    labor_time_excluded: bool = False
    """True for a private team with a labor rate: its worker time cannot be priced before the job runs."""

    @property
    def single_value(self) -> bool:
        """True when least and most are the same (no automated labeling, or nothing it could take)."""
        return self.minimum.total_cost_usd == self.maximum.total_cost_usd


def estimate_job_cost(
    job_input: JobInput, objects: int, default_prices: PriceTable = DEFAULT_PRICES
) -> CostEstimate:
    """The least and the most ``job_input`` can cost on a manifest of ``objects`` objects."""
    if objects < 1:
        raise ValueError(f"objects must be at least 1, got {objects}")
    prices = resolve_prices(default_prices, job_input.prices)
    workforce = job_input.workforce
    task_price = Decimal(0) if workforce.kind == "vendor" else task_price_usd_for(prices, None)
    vendor_price = getattr(workforce, "price_per_object_usd", None) if workforce.kind == "vendor" else None
    conditions = job_input.stopping_conditions

    labeled = objects
    if conditions.max_percentage_labeled is not None:
        labeled = min(objects, math.ceil(conditions.max_percentage_labeled * objects / 100))
    human_cap = labeled
    if conditions.max_human_labeled_objects is not None:
        human_cap = min(human_cap, conditions.max_human_labeled_objects)

    if job_input.auto_labeling:
        validation = min(validation_sample_size(objects), human_cap)
        least_humans, most_humans = validation, human_cap
        least_iterations = 1
        most_iterations = min(MAX_ITERATIONS, max(1, math.ceil(most_humans / job_input.max_concurrent_tasks)))
        least_machines, most_machines = labeled - least_humans, labeled - most_humans
    else:
        validation = 0
        least_humans = most_humans = human_cap
        least_machines = most_machines = 0
        least_iterations = most_iterations = 0

    def price(humans: int, machines: int, iterations: int) -> CostBreakdown:
        return compute_cost(
            human_objects=humans,
            machine_objects=machines,
            workers_per_object=workforce.workers_per_object,
            task_price_usd=task_price,
            prices=prices,
            iterations=iterations,
            workforce_kind=workforce.kind,
            vendor_price_per_object_usd=vendor_price if vendor_price is not None else Decimal(0),
        )

    return CostEstimate(
        objects=objects,
        labeled=labeled,
        validation_objects=validation,
        minimum=price(least_humans, least_machines, least_iterations),
        maximum=price(most_humans, most_machines, most_iterations),
        prices=prices,
        auto_labeling=job_input.auto_labeling,
        labor_time_excluded=workforce.kind == "private" and prices.labor_rate_usd_per_hour is not None,
    )


def budget_problem(
    budget_usd: Decimal | None, estimate: CostEstimate, label: str = "budget_usd"
) -> str | None:
    """Why a budget cannot work (below the least the job can cost), or None when it can."""
    if budget_usd is None or budget_usd >= estimate.minimum.total_cost_usd:
        return None
    least = estimate.minimum
    how = f"{least.human_objects:,} objects labeled by people"
    if estimate.auto_labeling:
        how += f" (the validation sample) and {least.machine_objects:,} by the model"
    return (
        f"{label}: {budget_usd:.2f} USD is below the least this job can cost, "
        f"{least.total_cost_usd:.2f} USD: {how}; raise it to at least {least.total_cost_usd:.2f} "
        "or remove it"
    )


@dataclass(frozen=True)
class ExperimentEstimate:
    """The cost range of the seed experiment's three jobs (initial on part 1, the other two on part 2)."""

    objects: int
    jobs: dict[str, CostEstimate]

    @property
    def minimum_usd(self) -> Decimal:
        return sum((job.minimum.total_cost_usd for job in self.jobs.values()), Decimal(0))

    @property
    def maximum_usd(self) -> Decimal:
        return sum((job.maximum.total_cost_usd for job in self.jobs.values()), Decimal(0))


def estimate_experiment_cost(
    experiment: ExperimentInput, objects: int, default_prices: PriceTable = DEFAULT_PRICES
) -> ExperimentEstimate:
    """Each of the experiment's jobs priced on its part of a manifest of ``objects`` objects."""
    sizes = part_sizes(objects, experiment.split.parts)
    part_of_role = {"initial": sizes[0], "pretrained": sizes[1], "control": sizes[1]}
    template = experiment.job_input(experiment.manifest)
    return ExperimentEstimate(
        objects=objects,
        jobs={role: estimate_job_cost(template, part_of_role[role], default_prices) for role in ROLES},
    )
