"""Do the demo's claims hold for seeds the demo did not pick? Seeds 1-50, emulator model only.

    PYTHONPATH=lambdas:. .venv/bin/python bench/seed_sweep.py [--seeds 50] [--labor-rate 20]

For each seed, AWS's bird experiment (local.ground_truth.calibration: 2,500 generated objects split
in two halves; initial, seeded and control jobs; a private team of the default size) runs on the
simulation core directly (no moto, no HTTP: about 0.05 s a seed). The demo claims the seeded job
beats the control on cost, on time and on % machine-labeled; a seed passes when all three margins
are positive. Everything here is SIMULATED.

Cost = cost model v2 (labelchain.core.cost.compute_cost): Ground Truth's object fee × objects + the
team's worker hours (the sum of every answer's ``timeSpentInSeconds``) × a labor rate (``--labor-rate``,
default ``LABOR_RATE_USD_PER_HOUR``: an illustrative hourly cost of a private annotator, not an AWS
price). Both jobs label the same 1,250 objects, so the fee cancels out of the margin; labor decides.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from labelchain.core.cost import compute_cost
from labelchain.core.labor import WorkerTime
from labelchain.core.prices import DEFAULT_PRICES, PriceOverrides, resolve_prices
from local.ground_truth.calibration import run_experiment
from local.ground_truth.model import Timeline
from local.ground_truth.params import SimulationParams

LABOR_RATE_USD_PER_HOUR = Decimal("20.00")
"""Illustrative loaded hourly cost of one private-team annotator (an assumption, stated in docs)."""
REQUIRED_PASS_RATE = 0.9


def job_cost_usd(job: Timeline, labor_rate: Decimal) -> Decimal:
    """The job's total under cost model v2 (labelchain.core.cost): object fees + worker time x rate."""
    answers = sum(len(iteration.answers) for iteration in job.iterations)
    seconds = Decimal(str(round(job.worker_seconds, 3)))
    prices = resolve_prices(DEFAULT_PRICES, PriceOverrides(labor_rate_usd_per_hour=labor_rate))
    return compute_cost(
        human_objects=job.human_labeled,
        machine_objects=job.machine_labeled,
        workers_per_object=1,
        task_price_usd=Decimal(0),
        prices=prices,
        workforce_kind="private",
        worker_time=WorkerTime(worker_seconds=seconds, timed_answers=answers),
    ).total_cost_usd


@dataclass(frozen=True)
class Margins:
    """How much better the seeded job did than the control, for one seed."""

    seed: int
    cost_reduction_percent: float
    time_reduction_percent: float
    machine_gain_points: float

    @property
    def claims_hold(self) -> bool:
        return min(self.cost_reduction_percent, self.time_reduction_percent, self.machine_gain_points) > 0


def margins(seed: int, labor_rate: Decimal) -> Margins:
    run = run_experiment(SimulationParams(seed=seed))
    seeded, control = run.pretrained, run.control
    seeded_cost, control_cost = job_cost_usd(seeded, labor_rate), job_cost_usd(control, labor_rate)
    return Margins(
        seed=seed,
        cost_reduction_percent=float(100 * (1 - seeded_cost / control_cost)),
        time_reduction_percent=100 * (1 - seeded.ended_at / control.ended_at),
        machine_gain_points=100 * (seeded.machine_labeled_fraction - control.machine_labeled_fraction),
    )


def summary_table(rows: Sequence[Margins]) -> str:
    """Markdown: min / median / max of each margin and the pass rate."""
    lines = ["| seeded vs control | min | median | max |", "|---|---|---|---|"]
    for label, values in (
        ("cost lower (%)", [r.cost_reduction_percent for r in rows]),
        ("time shorter (%)", [r.time_reduction_percent for r in rows]),
        ("machine-labeled higher (points)", [r.machine_gain_points for r in rows]),
    ):
        lines.append(f"| {label} | {min(values):.1f} | {statistics.median(values):.1f} | {max(values):.1f} |")
    passed = sum(r.claims_hold for r in rows)
    lines.append(
        f"\nAll three claims hold for {passed} of {len(rows)} seeds ({100 * passed / len(rows):.0f} %;"
        f" required ≥ {100 * REQUIRED_PASS_RATE:.0f} %)."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=50, help="run seeds 1 … N (default 50)")
    parser.add_argument("--labor-rate", type=Decimal, default=LABOR_RATE_USD_PER_HOUR, help="USD per hour")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = [margins(seed, args.labor_rate) for seed in range(1, args.seeds + 1)]
    elapsed = time.perf_counter() - started
    print(
        f"SIMULATED — seeds 1-{args.seeds}, object fee ${DEFAULT_PRICES.object_fee_usd},"
        f" labor ${args.labor_rate}/h, default team of {SimulationParams().default_team_size}\n"
    )
    print(summary_table(rows))
    failing = [r.seed for r in rows if not r.claims_hold]
    print(f"\nSeeds where a claim fails: {failing or 'none'}. {elapsed:.1f} s for {len(rows)} seeds.")
    return 0 if sum(r.claims_hold for r in rows) >= REQUIRED_PASS_RATE * len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
