"""Specification of cost model v2's labor: worker time from worker-response files, priced per workforce."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest

from labelchain.core.cost import COMPUTE_EXCLUDED_NOTE, LABOR_NOT_PRICED_NOTE, compute_cost
from labelchain.core.labor import (
    MAX_REPORTED_MALFORMED_KEYS,
    WorkerTime,
    WorkerTimeSummary,
    WorkerTimeTally,
    answer_seconds,
    read_worker_response,
    read_worker_response_file,
    unfetched_worker_response,
)
from labelchain.core.output_layout import OutputKind, classify_output_key
from labelchain.core.prices import DEFAULT_PRICES, PriceOverrides, resolve_prices
from labelchain.core.records import JobRecord, workforce_used

PREFIX = "birds/labelchain-job/"
RATED = resolve_prices(DEFAULT_PRICES, PriceOverrides(labor_rate_usd_per_hour=Decimal(36)))


def answer(**fields: Any) -> dict[str, Any]:
    return {"workerId": "private.us-east-1.abc", "answerContent": {"x": 1}, "workerMetadata": {}, **fields}


def response_bytes(*answers: dict[str, Any]) -> bytes:
    return json.dumps({"answers": list(answers)}).encode()


def one_byte_chunks(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# --- one answer's time ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "seconds"),
    [
        ({"timeSpentInSeconds": 41.2}, Decimal("41.2")),
        ({"timeSpentInSeconds": 0}, Decimal(0)),  # zero is zero, not unknown
        (
            {"acceptanceTime": "2026-11-30T10:00:00.000Z", "submissionTime": "2026-11-30T10:00:41.200Z"},
            Decimal("41.2"),
        ),
        ({}, None),
        ({"timeSpentInSeconds": -3}, None),
        ({"acceptanceTime": "2026-11-30T10:00:41Z", "submissionTime": "2026-11-30T10:00:00Z"}, None),
        ({"acceptanceTime": "yesterday", "submissionTime": "2026-11-30T10:00:00Z"}, None),
    ],
)
def test_an_answers_time_is_time_spent_else_submission_minus_acceptance_else_unknown(
    fields: dict[str, Any], seconds: Decimal | None
) -> None:
    assert answer_seconds(answer(**fields)) == seconds


# --- one file, streamed --------------------------------------------------------------------------


def test_a_file_read_one_byte_at_a_time_counts_known_and_unknown_answers() -> None:
    """Given three workers' answers, one without any time, split into 1-byte chunks, then the known
    times add up, the unknown one is counted, and every worker is seen."""
    data = response_bytes(
        answer(timeSpentInSeconds=41.2, workerId="w1"),
        answer(timeSpentInSeconds=0, workerId="w2"),
        answer(workerId="w3"),
    )

    time, workers = read_worker_response(one_byte_chunks(data))

    assert time == WorkerTime(worker_seconds=Decimal("41.2"), timed_answers=2, answers_time_unknown=1)
    assert workers == {"w1", "w2", "w3"}


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"answers": {}}', b'{"answers": [1, 2]', b"not json", b'{"other": [], "answers": []}', b""],
)
def test_a_malformed_file_is_counted_with_its_key_and_the_rest_still_read(body: bytes) -> None:
    tally = WorkerTimeTally()

    tally.add(f"{PREFIX}annotations/worker-response/iteration-1/0/a.json", 1, [body])
    tally.add(
        f"{PREFIX}annotations/worker-response/iteration-1/1/b.json",
        1,
        [response_bytes(answer(timeSpentInSeconds=5))],
    )

    summary = tally.summary()
    assert (summary.files, summary.malformed_files) == (2, 1)
    assert summary.total.worker_seconds == Decimal(5)
    assert "0/a.json" in summary.malformed_keys[0]
    assert any("malformed" in note for note in summary.notes())


def test_iterations_ten_and_above_are_their_own_rows_in_numeric_order() -> None:
    """Given worker responses of iterations 2, 10 and 9, then their keys classify by number and the
    per-iteration worker time comes back ordered 2, 9, 10 (not 10 before 2)."""
    tally = WorkerTimeTally()
    for iteration, seconds in ((2, 10), (10, 30), (9, 20)):
        key = f"{PREFIX}annotations/worker-response/iteration-{iteration}/obj-{iteration}/t.json"
        classified = classify_output_key(key, PREFIX)
        assert classified is not None
        assert classified.kind is OutputKind.WORKER_RESPONSE
        assert classified.iteration is not None
        tally.add(key, classified.iteration, [response_bytes(answer(timeSpentInSeconds=seconds))])

    summary = tally.summary()

    assert list(summary.iterations) == [2, 9, 10]
    assert summary.iterations[10].worker_seconds == Decimal(30)
    assert summary.total.worker_seconds == Decimal(60)


def test_files_merged_in_any_order_add_up_to_the_same_summary() -> None:
    """Given 12 files (3 iterations, 7 malformed, 1 gone) merged as a thread pool might finish them,
    then every order gives the summary of the listing order, with the first malformed keys in key order."""
    reads = []
    for index in range(12):
        key = f"{PREFIX}annotations/worker-response/iteration-{1 + index % 3}/{index:02d}/t.json"
        body = b"[]" if index % 2 else response_bytes(answer(timeSpentInSeconds=index, workerId=f"w{index}"))
        reads.append(read_worker_response_file(key, 1 + index % 3, [body]))
    reads.append(
        unfetched_worker_response(f"{PREFIX}annotations/worker-response/iteration-1/99/t.json", "gone")
    )

    def merged(order: list[int]) -> WorkerTimeSummary:
        tally = WorkerTimeTally()
        for position in order:
            tally.merge(reads[position])
        return tally.summary()

    in_listing_order = merged(list(range(len(reads))))
    for seed in range(5):
        shuffled = list(range(len(reads)))
        random.Random(seed).shuffle(shuffled)
        assert merged(shuffled) == in_listing_order
    result = in_listing_order
    assert (result.files, result.files_listed, result.malformed_files) == (12, 13, 7)
    assert len(result.malformed_keys) == MAX_REPORTED_MALFORMED_KEYS
    assert list(result.malformed_keys) == sorted(result.malformed_keys)
    assert result.total.worker_seconds == Decimal(0 + 2 + 4 + 6 + 8 + 10)


def test_files_left_unread_make_the_worker_time_a_partial_lower_bound() -> None:
    tally = WorkerTimeTally()
    tally.add(f"{PREFIX}annotations/worker-response/iteration-1/0/t.json", 1, [response_bytes(answer())])
    tally.skip_unread(3)

    notes = tally.summary().notes()

    assert any("worker time is partial: 1 of 4 worker-response files" in note for note in notes)
    assert not any("no worker-response files found" in note for note in notes)


# --- pricing -------------------------------------------------------------------------------------


def test_a_private_team_pays_worker_time_at_its_rate_and_saves_hours_by_the_observed_mean() -> None:
    """Given 250 human objects x 2 workers = 500 answers taking 10 h in all, at 36 USD an hour, and 750
    machine objects, then labor is 360 USD; without auto-labeling all 1,000 objects x 2 workers at the
    mean 72 s per answer = 40 h (1,440 USD); 30 worker hours are saved."""
    time = WorkerTime(worker_seconds=Decimal(36_000), timed_answers=500)

    cost = compute_cost(
        human_objects=250,
        machine_objects=750,
        workers_per_object=2,
        task_price_usd=Decimal(0),
        prices=RATED,
        iterations=3,
        workforce_kind="private",
        worker_time=time,
    )

    assert cost.labor_cost_usd == Decimal(360)
    assert cost.total_cost_usd == Decimal(440)  # 1,000 x 0.08 + 360
    assert cost.worker_seconds_without_auto_labeling == Decimal(144_000)
    assert cost.cost_without_auto_labeling_usd == Decimal(1520)  # 80 + 1,440
    assert cost.worker_seconds_saved == Decimal(108_000)
    assert cost.cost_per_object_usd == Decimal("0.44")
    assert COMPUTE_EXCLUDED_NOTE in cost.notes


def test_a_private_team_without_a_rate_reports_hours_but_no_labor_money() -> None:
    time = WorkerTime(worker_seconds=Decimal(3600), timed_answers=100)

    cost = compute_cost(
        human_objects=100,
        machine_objects=0,
        workers_per_object=1,
        task_price_usd=Decimal(0),
        prices=DEFAULT_PRICES,
        workforce_kind="private",
        worker_time=time,
    )

    assert (cost.labor_cost_usd, cost.worker_seconds) == (Decimal(0), Decimal(3600))
    assert LABOR_NOT_PRICED_NOTE in cost.notes


def test_a_vendor_is_paid_per_human_object_and_its_time_is_not_charged() -> None:
    """Given a vendor at 0.12 USD per object, then 250 human objects cost 250 x (0.08 + 0.12), worker
    time (the vendor's) is not charged, and without auto-labeling all 1,250 objects would pay both."""
    cost = compute_cost(
        human_objects=250,
        machine_objects=1000,
        workers_per_object=3,
        task_price_usd=Decimal(0),
        prices=RATED,
        workforce_kind="vendor",
        vendor_price_per_object_usd=Decimal("0.12"),
        worker_time=WorkerTime(worker_seconds=Decimal(9999), timed_answers=750),
    )

    assert (cost.labor_cost_usd, cost.human_cost_usd) == (Decimal(30), Decimal(50))
    assert cost.cost_without_auto_labeling_usd == Decimal(250)  # 1,250 x 0.20
    # The vendor's people's time is reported (hours saved hold for any team) but never charged.
    assert cost.worker_seconds == Decimal(9999)
    assert cost.worker_seconds_without_auto_labeling == Decimal(49995)  # 9,999 s / 750 answers x 1,250 x 3


def test_the_records_workforce_carries_the_vendors_price_per_object() -> None:
    class Vendor:
        kind = "vendor"
        workers_per_object = 2
        price_per_object_usd = Decimal("0.12")

    used = workforce_used(Vendor(), DEFAULT_PRICES, "arn:aws:sagemaker:us-east-1:1:workteam/vendor-crowd/x")

    assert (used.kind, used.price_per_object_usd, used.task_price_usd) == ("vendor", "0.12", "0")


def test_an_old_public_record_priced_by_cost_model_v1_still_loads() -> None:
    """Given a record written before v2 (public workforce, tutorial table, no cost_model, labor or
    worker fields), then it loads, is named v1, and its lines still add up."""
    old_cost = {
        "human_objects": 250,
        "machine_objects": 1000,
        "workers_per_object": 3,
        "task_price_usd": "0.036",
        "object_fee_usd": "0.08",
        "iterations": 3,
        "human_cost_usd": "47.0000",
        "machine_cost_usd": "80.0000",
        "compute_cost_usd": "0.0000",
        "total_cost_usd": "127.0000",
        "cost_without_auto_labeling_usd": "235.0000",
        "saving_usd": "108.0000",
        "saving_percent": "45.96",
        "prices_version": "aws-gt-tutorial-2019",
    }
    record = JobRecord.model_validate(
        {
            "job_name": "labelchain-old",
            "project": "birds",
            "execution_arn": "arn:x",
            "task_type": "bounding_box",
            "labels": ["Bird"],
            "label_attribute": "category",
            "manifest_uri": "s3://b/k",
            "object_count": 1250,
            "auto_labeling": True,
            "initial_model_source": "none",
            "created_at": "2026-01-01T00:00:00Z",
            "workforce": {
                "kind": "public",
                "workteam_arn": "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default",
                "workers_per_object": 3,
                "task_price_usd": "0.036",
            },
            "prices": {
                "version": "aws-gt-tutorial-2019",
                "object_fee_usd": "0.08",
                "auto_labeling_compute_usd_per_iteration": "0",
                "task_price_usd": None,
                "source": "tutorial",
            },
            "cost": old_cost,
            "iterations": [
                {
                    "iteration": 1,
                    "human_objects": 200,
                    "machine_objects": None,
                    "boxes": None,
                    "cost_usd": "37.6000",
                }
            ],
        }
    )

    assert record.cost is not None
    assert (record.cost.cost_model, record.cost.labor_cost_usd) == ("labelchain-cost-v1", None)
    assert record.iterations[0].worker_seconds is None
