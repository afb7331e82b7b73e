"""Specification: answers without a usable time neither vanish from a job's worker hours nor inflate its
saving (cost model v2, docs/COST.md)."""

from __future__ import annotations

from decimal import Decimal

from labelchain.core.cost import compute_cost
from labelchain.core.labor import WorkerTime
from labelchain.core.prices import DEFAULT_PRICES, PriceOverrides, resolve_prices

RATED = resolve_prices(DEFAULT_PRICES, PriceOverrides(labor_rate_usd_per_hour=Decimal(36)))


def priced(time: WorkerTime):  # type: ignore[no-untyped-def]
    return compute_cost(
        human_objects=100,
        machine_objects=100,
        workers_per_object=1,
        task_price_usd=Decimal(0),
        prices=RATED,
        workforce_kind="private",
        worker_time=time,
    )


def test_an_answer_without_a_time_counts_at_the_mean_of_the_timed_ones_and_the_saving_does_not_move() -> None:
    """Given 100 answers of 10 s each, or the same job with half the times lost, then the job's worker
    time, its labor and its saving are the same (the lost half is counted at the 10 s mean), with a note."""
    complete = priced(WorkerTime(worker_seconds=Decimal(1000), timed_answers=100))
    half_lost = priced(WorkerTime(worker_seconds=Decimal(500), timed_answers=50, answers_time_unknown=50))

    assert complete.worker_seconds == half_lost.worker_seconds == Decimal(1000)
    assert complete.saving_percent == half_lost.saving_percent
    assert complete.worker_seconds_saved == half_lost.worker_seconds_saved == Decimal(1000)
    assert any("50 of 100 worker answers had no time" in note for note in half_lost.notes)
    assert not any("had no time" in note for note in complete.notes)


def test_with_no_timed_answer_the_worker_time_is_unknown_not_zero() -> None:
    cost = priced(WorkerTime(answers_time_unknown=100))

    assert cost.worker_seconds is None
    assert cost.worker_seconds_saved is None
    assert cost.labor_cost_usd == Decimal(0)
    assert any("worker time unknown" in note for note in cost.notes)


def test_a_team_paid_both_per_task_and_per_hour_is_priced_as_declared_and_the_record_says_so() -> None:
    cost = compute_cost(
        human_objects=100,
        machine_objects=0,
        workers_per_object=1,
        task_price_usd=Decimal("0.5"),
        prices=RATED,
        workforce_kind="private",
        worker_time=WorkerTime(worker_seconds=Decimal(100), timed_answers=100),
    )

    assert cost.labor_cost_usd == Decimal(51)  # 100 x 0.50 per task + 100 s x 36 USD/h
    assert any("charged twice over" in note for note in cost.notes)
