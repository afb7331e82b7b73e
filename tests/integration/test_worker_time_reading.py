"""Specification of how Finalize reads worker time: many files at once, the same result as one by one,
and never past its time budget (the record is then sealed with its cost, the worker time marked partial).

moto gives S3 and DynamoDB; SageMaker is a botocore Stubber. Budgets run on fake clocks: no test waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from botocore.stub import Stubber

from labelchain.adapters.s3 import ObjectMissing
from labelchain.core.labor import WorkerTimeSummary, WorkerTimeTally
from labelchain.core.prices import DEFAULT_PRICES
from labelchain.core.s3_layout import job_output_key_prefix
from labelchain.services.finalize import finalize_job
from labelchain.services.runtime import Runtime
from labelchain.services.worker_responses import (
    DEFAULT_BUDGET_SECONDS,
    RESERVE_SECONDS,
    ReadBudget,
    WorkerResponseReader,
)
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, bird_job_record, describe_response, make_runtime, moto_account

JOB = "labelchain-birds-private-3c4d5e6f"
PREFIX = job_output_key_prefix("birds", JOB)
BUCKET = TEST_SETTINGS.output_bucket


@pytest.fixture
def world() -> Iterator[tuple[Runtime, Stubber]]:
    with moto_account() as (s3, dynamodb, sagemaker), Stubber(sagemaker) as stub:
        yield make_runtime(sagemaker, s3=s3, dynamodb=dynamodb), stub
        stub.assert_no_pending_responses()


def response_key(iteration: int, object_id: int) -> str:
    return f"{PREFIX}annotations/worker-response/iteration-{iteration}/{object_id}/2026-11-30_10:01:00.json"


def put_responses(runtime: Runtime, count: int, seconds: int = 60) -> list[str]:
    """``count`` files, one answer of ``seconds`` each by worker ``w<object id>``, over iterations 1–3."""
    keys = []
    for object_id in range(count):
        key = response_key(1 + object_id % 3, object_id)
        body = {"answers": [{"workerId": f"w{object_id}", "timeSpentInSeconds": seconds}]}
        runtime.objects.client.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())
        keys.append(key)
    return keys


def iteration_of(key: str) -> int:
    return int(key.split("iteration-")[1].split("/", maxsplit=1)[0])


def ticking_clock(step: float) -> Callable[[], float]:
    """A monotonic clock that moves ``step`` seconds each time it is read."""
    now = [0.0]

    def read() -> float:
        now[0] += step
        return now[0]

    return read


def read_with_pool(
    runtime: Runtime, keys: list[str], budget: ReadBudget, max_readers: int
) -> WorkerTimeSummary:
    tally = WorkerTimeTally()
    with WorkerResponseReader(runtime.objects, BUCKET, tally, budget, max_readers=max_readers) as reader:
        for key in keys:
            reader.read(key, iteration_of(key))
    return tally.summary()


def test_the_pool_adds_up_to_exactly_what_reading_one_file_after_another_does(
    world: tuple[Runtime, Stubber],
) -> None:
    """Given 40 files, two malformed and one listed but gone, when 8 threads read them, then the summary
    equals the one-by-one reading's: per-iteration seconds, workers, and the malformed keys in key order."""
    runtime, _ = world
    keys = put_responses(runtime, 40)
    for broken in (keys[5], keys[31]):
        runtime.objects.client.put_object(Bucket=BUCKET, Key=broken, Body=b"{not json")
    keys.append(response_key(2, 999))  # listed, then deleted before it was read

    one_by_one = WorkerTimeTally()
    for key in keys:
        try:
            one_by_one.add(key, iteration_of(key), runtime.objects.iter_chunks(BUCKET, key))
        except ObjectMissing as exc:  # the gone file, as record_metrics counted it before the pool
            one_by_one.add_unreadable(key, f"{type(exc).__name__}: {exc}")

    pooled = read_with_pool(runtime, keys, ReadBudget.seconds_from_now(3600), max_readers=8)

    assert pooled == one_by_one.summary()
    assert (pooled.files, pooled.malformed_files, pooled.workers) == (40, 3, 38)
    assert pooled.total.worker_seconds == Decimal(38 * 60)
    assert pooled.notes() == one_by_one.summary().notes()


def test_reading_stops_when_the_budget_is_spent_and_counts_the_files_left_unread(
    world: tuple[Runtime, Stubber],
) -> None:
    """Given a 10 s budget on a clock that moves 4 s per look and 5 files, then 2 are read (at 4 s and
    8 s), the other 3 are counted as listed but not read, and the notes say the time is partial."""
    runtime, _ = world
    keys = put_responses(runtime, 5)

    summary = read_with_pool(runtime, keys, ReadBudget.seconds_from_now(10, clock=ticking_clock(4)), 4)

    assert (summary.files, summary.files_listed, summary.files_not_read) == (2, 5, 3)
    assert summary.total.worker_seconds == Decimal(120)
    assert any("worker time is partial: 2 of 5 worker-response files" in note for note in summary.notes())


def test_a_job_whose_reading_runs_out_of_time_is_still_sealed_with_its_cost_and_says_so(
    world: tuple[Runtime, Stubber],
) -> None:
    """Given a private team at 36 USD/h, 6 worker-response files of 1 h each and a Lambda with 61 s left
    that loses 0.5 s per look (reading stops at the 60 s reserve, after 2 files), when the job is
    finalized, then the record is sealed with the cost of the 2 hours read and a note that 2 of 6 files
    were read."""
    runtime, stub = world
    workforce = {
        "kind": "private",
        "workteam_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/birders",
        "workers_per_object": 1,
    }
    prices = {**DEFAULT_PRICES.model_dump(), "labor_rate_usd_per_hour": "36"}
    runtime.store.create_job(
        bird_job_record(
            job_name=JOB, execution_arn="arn:x", status="InProgress", workforce=workforce, prices=prices
        )
    )
    put_responses(runtime, 6, seconds=3600)
    stub.add_response(
        "describe_labeling_job",
        describe_response(JOB, "Completed", human=6, machine=0, modified=EXAMPLE_TIME),
        {"LabelingJobName": JOB},
    )
    remaining = iter([61 - 0.5 * look for look in range(100)])

    class LambdaContext:
        def get_remaining_time_in_millis(self) -> int:
            return int(next(remaining) * 1000)

    finalized = finalize_job(JOB, runtime, ReadBudget.of_lambda_context(LambdaContext()))

    record = runtime.store.get_job(JOB)
    assert record is not None
    assert record.finalized_at is not None
    assert record.cost is not None
    assert (record.cost.worker_seconds, record.cost.labor_cost_usd) == (Decimal(7200), Decimal(72))
    assert any("worker time is partial: 2 of 6 worker-response files" in note for note in record.cost.notes)
    assert finalized.sealed_now


def test_a_context_without_remaining_time_gets_the_default_budget() -> None:
    """The offline stack's Lambda context has no ``get_remaining_time_in_millis``."""
    budget = ReadBudget.of_lambda_context(object())

    assert budget.reserve_seconds == 0
    assert 0 < budget.remaining_seconds() <= DEFAULT_BUDGET_SECONDS
    assert RESERVE_SECONDS < DEFAULT_BUDGET_SECONDS


def test_a_reader_is_refused_more_threads_than_the_clients_connection_pool(
    world: tuple[Runtime, Stubber],
) -> None:
    runtime, _ = world

    with pytest.raises(ValueError, match="max_readers: between 1 and 19"):
        WorkerResponseReader(runtime.objects, BUCKET, WorkerTimeTally(), ReadBudget.seconds_from_now(1), 20)
