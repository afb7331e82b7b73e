"""Specification of the DynamoDB adapter: records survive the round trip exactly, creation is
conditional, a sealed (final) record is never rewritten, the active-jobs index holds exactly the jobs
not yet final, a project's jobs come back newest first across pages, and throttling is transient.

moto gives the table real behaviour (conditions, GSI order, ``Limit``); a botocore Stubber on a
DynamoDB client produces the throttling errors moto never does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from labelchain.adapters.store import JobStore, item_to_plain
from labelchain.core.cost import compute_cost
from labelchain.core.prices import DEFAULT_PRICES, PriceOverrides, resolve_prices
from labelchain.core.records import (
    SNAPSHOT_RETENTION_DAYS,
    Counters,
    ExecutionFailure,
    IterationRow,
    JobRecord,
    ModelPointer,
    ProgressSnapshot,
    execution_failure_key,
    job_key,
    snapshot_key,
)
from labelchain.errors import TransientServiceError
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, bird_job_record, create_table

TABLE = TEST_SETTINGS.table_name
EXECUTION_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:birds-1"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        yield client


@pytest.fixture
def store(dynamodb: Any) -> JobStore:
    return JobStore(dynamodb, TABLE)


def job_record(name: str = "labelchain-birds-1-0a1b2c3d", **changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "job_name": name,
        "execution_arn": EXECUTION_ARN,
        "job_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{name}",
        "created_at": EXAMPLE_TIME,
    }
    return bird_job_record(**{**values, **changes})


def model_pointer(job_name: str, created_at: datetime, model: str = "birds-1-model") -> ModelPointer:
    return ModelPointer(
        project="birds",
        model_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{model}",
        job_name=job_name,
        job_created_at=created_at,
        task_type="bounding_box",
        labels=["Bird"],
        label_attribute="category",
    )


def raw_item(dynamodb: Any, key: dict[str, str]) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=TABLE, Key={k: {"S": v} for k, v in key.items()}).get("Item")
    return None if item is None else item_to_plain(item)


# --- job records ------------------------------------------------------------------------------------


def test_a_finished_job_record_round_trips_exactly_with_decimal_prices_and_datetimes(store: JobStore) -> None:
    prices = resolve_prices(
        DEFAULT_PRICES,
        PriceOverrides(
            object_fee_usd=Decimal("0.0825"),
            task_price_usd=Decimal("0.0125"),
            auto_labeling_compute_usd_per_iteration=Decimal("1.5"),
        ),
    )
    cost = compute_cost(
        human_objects=600,
        machine_objects=650,
        workers_per_object=3,
        task_price_usd=Decimal("0.036"),
        prices=prices,
        iterations=5,
    )
    record = job_record(
        prices=prices,
        status="Completed",
        created_at=datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC),
        ended_at=datetime(2026, 11, 29, 3, 30, 15, 654321, tzinfo=UTC),
        duration_seconds=55_815,
        counters=Counters(total_labeled=1250, human_labeled=600, machine_labeled=650),
        final_model_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-1-model",
        model_outcome="trained",
        cost=cost,
        iterations=[
            IterationRow(iteration=1, human_objects=200, machine_objects=0, boxes=310, cost_usd="38.1000"),
            IterationRow(iteration=2, human_objects=50, machine_objects=0, boxes=64, cost_usd="9.5250"),
        ],
        cross_check=["counters and output manifest agree"],
    )
    store.create_job(record)

    loaded = store.get_job(record.job_name)

    assert loaded == record
    assert isinstance(loaded.prices.object_fee_usd, Decimal)
    assert loaded.prices.task_price_usd == Decimal("0.0125")
    assert loaded.cost is not None
    assert loaded.cost.total_cost_usd == cost.total_cost_usd
    assert loaded.created_at.microsecond == 123456
    assert loaded.created_at.tzinfo is not None


def test_creating_a_job_record_twice_keeps_the_first(store: JobStore) -> None:
    first = job_record(object_count=1250)
    assert store.create_job(first) is True

    created_again = store.create_job(job_record(object_count=9999, execution_arn=f"{EXECUTION_ARN}-other"))

    assert created_again is False
    assert store.get_job(first.job_name) == first


def test_saving_a_job_replaces_the_whole_record(store: JobStore) -> None:
    store.create_job(job_record())

    store.save_job(job_record(status="Completed", model_outcome="no-model"))

    loaded = store.get_job(job_record().job_name)
    assert loaded is not None
    assert (loaded.status, loaded.model_outcome) == ("Completed", "no-model")


def test_an_unrecorded_job_is_none(store: JobStore) -> None:
    assert store.get_job("labelchain-never-created") is None


def test_progress_moves_a_recorded_jobs_status_and_counters(store: JobStore) -> None:
    store.create_job(job_record())
    counters = Counters(total_labeled=250, human_labeled=250, unlabeled=1000)

    moved = store.update_job_progress(job_record().job_name, "InProgress", counters, EXAMPLE_TIME, "47.0000")

    loaded = store.get_job(job_record().job_name)
    assert loaded is not None
    assert moved is True
    assert (loaded.status, loaded.counters) == ("InProgress", counters)
    assert (loaded.progress_at, loaded.running_cost_usd) == (EXAMPLE_TIME, "47.0000")
    assert loaded.prices == DEFAULT_PRICES


def test_progress_of_an_unrecorded_job_creates_nothing(store: JobStore, dynamodb: Any) -> None:
    moved = store.update_job_progress("labelchain-unknown", "InProgress", Counters(), EXAMPLE_TIME, None)

    assert moved is False
    assert raw_item(dynamodb, job_key("labelchain-unknown")) is None


# --- sealing and the active-jobs index --------------------------------------------------------------


def sealed(record: JobRecord, status: str = "Completed") -> JobRecord:
    return record.model_copy(update={"status": status, "finalized_at": EXAMPLE_TIME + timedelta(hours=4)})


def test_an_update_of_a_sealed_record_is_refused_and_changes_nothing(store: JobStore) -> None:
    final = sealed(job_record())
    store.create_job(job_record())
    store.seal_job(final)

    updated = store.update_job(final.job_name, {"status": "InProgress", "watch_token": "token-1"})

    assert updated is False
    assert store.get_job(final.job_name) == final


def test_an_update_of_an_unrecorded_job_is_refused_and_creates_nothing(
    store: JobStore, dynamodb: Any
) -> None:
    updated = store.update_job("labelchain-unknown", {"watch_token": "token-1"})

    assert updated is False
    assert raw_item(dynamodb, job_key("labelchain-unknown")) is None


def test_an_update_whose_expectation_does_not_hold_is_refused(store: JobStore) -> None:
    store.create_job(job_record())

    updated = store.update_job(
        job_record().job_name, {"watch_token": "token-1"}, expect={"execution_arn": f"{EXECUTION_ARN}-other"}
    )

    assert updated is False
    assert store.get_job(job_record().job_name) == job_record()


def test_only_the_first_seal_of_a_job_counts(store: JobStore) -> None:
    store.create_job(job_record())
    first = sealed(job_record(), "Completed")

    sealed_first = store.seal_job(first)
    sealed_again = store.seal_job(sealed(job_record(), "Stopped").model_copy(update={"stop_reason": "late"}))

    assert (sealed_first, sealed_again) == (True, False)
    assert store.get_job(first.job_name) == first


def test_a_job_saved_after_it_was_sealed_keeps_its_final_record(store: JobStore) -> None:
    final = sealed(job_record())
    store.create_job(job_record())
    store.seal_job(final)

    store.save_job(job_record(status="InProgress"))

    assert store.get_job(final.job_name) == final


def test_the_active_jobs_are_exactly_the_records_not_final_queued_ones_included(store: JobStore) -> None:
    def named(suffix: str, **changes: Any) -> JobRecord:
        return job_record(f"labelchain-birds-{suffix}", **changes)

    for record in [
        named("initializing"),
        named("in-progress", status="InProgress"),
        named("stopping", status="Stopping", watcher="reconciler"),
        named("ended-not-final", status="Completed"),
        named("queued", status="Queued", job_arn=None, queued_since=EXAMPLE_TIME, queue_attempts=1),
    ]:
        store.create_job(record)
    for record in [
        sealed(named("completed")),
        sealed(named("not-started", status="Queued"), "NotStarted"),
        sealed(named("not-found"), "NotFoundInSageMaker"),
    ]:
        store.create_job(record.model_copy(update={"finalized_at": None}))
        store.seal_job(record)

    active = sorted(record.job_name for record in store.active_jobs())

    assert active == [
        "labelchain-birds-ended-not-final",
        "labelchain-birds-in-progress",
        "labelchain-birds-initializing",
        "labelchain-birds-queued",
        "labelchain-birds-stopping",
    ]


def test_a_job_leaves_the_active_jobs_when_it_is_sealed(store: JobStore) -> None:
    store.create_job(job_record(status="InProgress"))
    store.update_job(job_record().job_name, {"watcher": "reconciler"}, remove=("watch_token",))
    assert [record.job_name for record in store.active_jobs()] == [job_record().job_name]

    store.seal_job(sealed(job_record()))

    assert list(store.active_jobs()) == []


# --- a project's jobs -------------------------------------------------------------------------------


def test_a_projects_jobs_come_newest_first_and_only_that_project(store: JobStore) -> None:
    for hours in (3, 1, 4, 2):
        store.create_job(
            job_record(f"labelchain-birds-{hours}", created_at=EXAMPLE_TIME + timedelta(hours=hours))
        )
    store.create_job(job_record("labelchain-cats-9", project="cats", created_at=EXAMPLE_TIME))

    names = [job.job_name for job in store.jobs_of_project("birds")]

    assert names == ["labelchain-birds-4", "labelchain-birds-3", "labelchain-birds-2", "labelchain-birds-1"]


def test_a_projects_jobs_come_oldest_first_when_asked(store: JobStore) -> None:
    for hours in (2, 1):
        store.create_job(
            job_record(f"labelchain-birds-{hours}", created_at=EXAMPLE_TIME + timedelta(hours=hours))
        )

    names = [job.job_name for job in store.jobs_of_project("birds", newest_first=False)]

    assert names == ["labelchain-birds-1", "labelchain-birds-2"]


class TwoItemPages:
    """A DynamoDB client whose queries return at most two items a page (moto honours ``Limit``)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.queries = 0

    def query(self, **params: Any) -> dict[str, Any]:
        self.queries += 1
        return dict(self._client.query(Limit=2, **params))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_projects_jobs_are_read_across_every_page(dynamodb: Any) -> None:
    paged = TwoItemPages(dynamodb)
    store = JobStore(paged, TABLE)
    for minute in range(7):
        store.create_job(
            job_record(f"labelchain-birds-{minute}", created_at=EXAMPLE_TIME + timedelta(minutes=minute))
        )

    names = [job.job_name for job in store.jobs_of_project("birds")]

    assert names == [f"labelchain-birds-{minute}" for minute in reversed(range(7))]
    assert paged.queries >= 4


# --- snapshots, model pointers, failures ------------------------------------------------------------


def snapshot(taken_at: datetime, human: int) -> ProgressSnapshot:
    return ProgressSnapshot(
        job_name="labelchain-birds-1",
        taken_at=taken_at,
        status="InProgress",
        counters=Counters(total_labeled=human, human_labeled=human),
        poll=human,
        next_wait_seconds=60,
    )


def test_snapshots_come_back_oldest_first(store: JobStore) -> None:
    for minutes in (30, 10, 20):
        store.add_snapshot(snapshot(EXAMPLE_TIME + timedelta(minutes=minutes), human=minutes))

    taken = [s.taken_at for s in store.snapshots("labelchain-birds-1")]

    assert taken == [EXAMPLE_TIME + timedelta(minutes=m) for m in (10, 20, 30)]


def test_a_snapshot_expires_after_the_retention_period(store: JobStore, dynamodb: Any) -> None:
    store.add_snapshot(snapshot(EXAMPLE_TIME, human=0))

    taken = snapshot(EXAMPLE_TIME, human=0)
    item = raw_item(dynamodb, snapshot_key(taken.job_name, taken.taken_at, taken.poll))

    assert item is not None
    assert item["expires_at"] == int((EXAMPLE_TIME + timedelta(days=SNAPSHOT_RETENTION_DAYS)).timestamp())


def test_the_first_model_of_a_project_becomes_its_latest(store: JobStore) -> None:
    pointer = model_pointer("labelchain-birds-1", EXAMPLE_TIME)

    assert store.advance_latest_model(pointer) is True
    assert store.latest_model("birds") == pointer


def test_a_newer_jobs_model_replaces_the_latest(store: JobStore) -> None:
    store.advance_latest_model(model_pointer("labelchain-birds-1", EXAMPLE_TIME))
    newer = model_pointer("labelchain-birds-2", EXAMPLE_TIME + timedelta(hours=1), model="birds-2-model")

    assert store.advance_latest_model(newer) is True
    assert store.latest_model("birds") == newer


def test_an_older_jobs_model_never_replaces_a_newer_one(store: JobStore) -> None:
    newer = model_pointer("labelchain-birds-2", EXAMPLE_TIME + timedelta(hours=1), model="birds-2-model")
    store.advance_latest_model(newer)

    moved = store.advance_latest_model(model_pointer("labelchain-birds-1", EXAMPLE_TIME))

    assert moved is False
    assert store.latest_model("birds") == newer


def test_advancing_to_the_same_model_again_is_idempotent(store: JobStore) -> None:
    pointer = model_pointer("labelchain-birds-1", EXAMPLE_TIME)
    store.advance_latest_model(pointer)

    assert store.advance_latest_model(pointer) is True
    assert store.latest_model("birds") == pointer


def test_a_project_without_a_model_has_no_latest(store: JobStore) -> None:
    assert store.latest_model("birds") is None


def test_a_remembered_model_names_the_job_that_trained_it(store: JobStore) -> None:
    pointer = model_pointer("labelchain-birds-1", EXAMPLE_TIME)

    store.remember_model(pointer)

    assert store.model_by_arn(pointer.model_arn) == pointer
    assert store.model_by_arn(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/unknown") is None


def execution_failure(project: str | None) -> ExecutionFailure:
    return ExecutionFailure(
        execution_arn=EXECUTION_ARN,
        execution_name="birds-1",
        project=project,
        error="InvalidJobInput",
        cause="task.labels: List should have at least 1 item after validation, not 0",
        failed_at=EXAMPLE_TIME,
    )


def test_an_execution_failure_is_kept_under_the_executions_arn(store: JobStore, dynamodb: Any) -> None:
    failure = execution_failure(project="birds")

    store.record_execution_failure(failure)

    assert (
        ExecutionFailure.model_validate(raw_item(dynamodb, execution_failure_key(EXECUTION_ARN))) == failure
    )


def test_an_execution_failure_without_a_project_reads_back(store: JobStore, dynamodb: Any) -> None:
    failure = execution_failure(project=None)

    store.record_execution_failure(failure)

    assert (
        ExecutionFailure.model_validate(raw_item(dynamodb, execution_failure_key(EXECUTION_ARN))) == failure
    )


def test_a_classification_job_with_iteration_rows_reads_back(store: JobStore) -> None:
    record = job_record(
        task_type="image_classification",
        labels=["Bird", "Nest"],
        status="Completed",
        iterations=[
            IterationRow(iteration=1, human_objects=200, machine_objects=0, boxes=None, cost_usd="37.6000"),
            IterationRow(iteration=2, human_objects=50, machine_objects=None, boxes=None, cost_usd="9.4000"),
        ],
    )
    store.create_job(record)

    assert store.get_job(record.job_name) == record


# --- DynamoDB errors --------------------------------------------------------------------------------


@pytest.fixture
def stubbed_dynamodb() -> Iterator[tuple[JobStore, Stubber]]:
    client = boto3.client("dynamodb", region_name=REGION)
    with Stubber(client) as stub:
        yield JobStore(client, TABLE), stub
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("RequestLimitExceeded", 400),
        ("InternalServerError", 500),
    ],
)
def test_a_throttled_write_is_a_transient_error(
    stubbed_dynamodb: tuple[JobStore, Stubber], code: str, status: int
) -> None:
    store, stub = stubbed_dynamodb
    stub.add_client_error("put_item", service_error_code=code, http_status_code=status)

    with pytest.raises(TransientServiceError) as refused:
        store.save_job(job_record())

    assert f"DynamoDB put_item refused transiently ({code})" in str(refused.value)


def test_a_throttled_read_is_a_transient_error(stubbed_dynamodb: tuple[JobStore, Stubber]) -> None:
    store, stub = stubbed_dynamodb
    stub.add_client_error("get_item", service_error_code="ProvisionedThroughputExceededException")

    with pytest.raises(TransientServiceError):
        store.get_job("labelchain-birds-1")


def test_a_throttled_page_of_a_projects_jobs_is_a_transient_error(
    stubbed_dynamodb: tuple[JobStore, Stubber],
) -> None:
    store, stub = stubbed_dynamodb
    stub.add_client_error("query", service_error_code="ProvisionedThroughputExceededException")

    with pytest.raises(TransientServiceError):
        list(store.jobs_of_project("birds"))


def test_a_throttled_conditional_create_is_transient_not_an_existing_record(
    stubbed_dynamodb: tuple[JobStore, Stubber],
) -> None:
    store, stub = stubbed_dynamodb
    stub.add_client_error("put_item", service_error_code="ProvisionedThroughputExceededException")

    with pytest.raises(TransientServiceError):
        store.create_job(job_record())


def test_a_refused_request_is_not_disguised_as_transient(stubbed_dynamodb: tuple[JobStore, Stubber]) -> None:
    store, stub = stubbed_dynamodb
    stub.add_client_error("put_item", service_error_code="ValidationException", http_status_code=400)

    with pytest.raises(ClientError) as refused:
        store.save_job(job_record())

    assert not isinstance(refused.value, TransientServiceError)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
