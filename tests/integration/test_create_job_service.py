"""Specification of CreateJob on good input: the exact request SageMaker receives, the files and record
it leaves, how ``initial_model`` is resolved, and how a retried create finds its own job.
(Which manifest version is labeled, and what a manifest may hold, is test_manifest_pinning.py.)

moto gives S3 and DynamoDB; SageMaker is a botocore Stubber, so every request is checked against the
API model and ``expected_params`` pins it exactly.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from labelchain.core.prices import DEFAULT_PRICES
from labelchain.core.records import JobRecord, ModelPointer
from labelchain.core.s3_layout import job_files_prefix
from labelchain.errors import JobNameConflict, LabelingJobQuotaExceeded, TransientServiceError
from labelchain.services.create_job import create_labeling_job
from labelchain.services.events import CreateJobEvent, CreateJobResult, ExecutionRef
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    EXAMPLE_TIME,
    FixedClock,
    bird_job_record,
    describe_response,
    empty_account,
    make_runtime,
    manifest_lines,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bird-bounding-box.json"
EXECUTION = ExecutionRef(
    id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:birds-half-a", name="birds-half-a"
)
EXECUTION_FINGERPRINT = hashlib.sha256(EXECUTION.id.encode()).hexdigest()
"""The execution tag's value: tag-safe whatever characters the execution's name holds."""
JOB_NAME = f"labelchain-birds-half-a-{EXECUTION_FINGERPRINT[:8]}"
JOB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{JOB_NAME}"
JOB_FILES = job_files_prefix("birds", JOB_NAME).rstrip("/")
MANIFEST_KEY = "birds/half-a.manifest"
MANIFEST_URI = f"s3://{TEST_SETTINGS.data_bucket}/{MANIFEST_KEY}"
LABELED_MANIFEST_URI = f"s3://{TEST_SETTINGS.data_bucket}/{JOB_FILES}/input.manifest"
"""The per-job copy of the validated manifest version: what Ground Truth is given."""
BIRDERS = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/birders"
EARLIER_JOB = "labelchain-birds-earlier-0a1b2c3d"
EARLIER_MODEL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-earlier-model"
SAGEMAKER_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
SAGEMAKER_TAG_VALUE = re.compile(r"[\w .:/=+\-@]*")
"""``Tag.Value``'s pattern ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`` in Python's re (letters/numbers are \\w)."""


@dataclass
class World:
    runtime: Runtime
    clock: FixedClock
    s3: Any
    stub: Stubber
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.requests if name == operation]

    def read(self, key: str) -> tuple[str, str]:
        """Body and content type of an object in the data bucket."""
        response = self.s3.get_object(Bucket=TEST_SETTINGS.data_bucket, Key=key)
        return response["Body"].read().decode(), response["ContentType"]


@pytest.fixture
def world(aws: tuple[Any, Any, Any]) -> Iterator[World]:
    s3, dynamodb, sagemaker = aws
    empty_account(s3, dynamodb)
    s3.put_bucket_versioning(
        Bucket=TEST_SETTINGS.data_bucket, VersioningConfiguration={"Status": "Enabled"}
    )  # as the stack creates it: CreateJob labels one version
    s3.put_object(
        Bucket=TEST_SETTINGS.data_bucket, Key=MANIFEST_KEY, Body="\n".join(manifest_lines(1250)).encode()
    )
    requests: list[tuple[str, dict[str, Any]]] = []

    def record_request(model: Any, params: dict[str, Any], **_: Any) -> None:
        requests.append((model.name, params))

    sagemaker.meta.events.register("provide-client-params.sagemaker.*", record_request)
    clock = FixedClock()
    runtime = make_runtime(sagemaker, clock, s3=s3, dynamodb=dynamodb)
    try:
        with Stubber(sagemaker) as stub:
            yield World(runtime, clock, s3, stub, requests)
            stub.assert_no_pending_responses()
    finally:
        sagemaker.meta.events.unregister("provide-client-params.sagemaker.*", record_request)


def bird_input(**changes: Any) -> dict[str, Any]:
    """The bird example pointed at the test manifest, labeled by a private team of three, with top-level
    changes."""
    raw = json.loads(EXAMPLE.read_text())
    team = {"kind": "private", "workteam_arn": BIRDERS, "workers_per_object": 3}
    return {**raw, "manifest": MANIFEST_URI, "workforce": team, **changes}


def stored(world: World) -> JobRecord:
    """The job's record (the test fails here if CreateJob left none)."""
    record = world.runtime.store.get_job(JOB_NAME)
    assert record is not None, f"no record of {JOB_NAME}"
    return record


def start(world: World, raw: dict[str, Any], execution: ExecutionRef = EXECUTION) -> CreateJobResult:
    return create_labeling_job(CreateJobEvent(input=raw, execution=execution), world.runtime)


def sagemaker_creates(world: World, expected: dict[str, Any] | None = None, job_arn: str = JOB_ARN) -> None:
    world.stub.add_response("create_labeling_job", {"LabelingJobArn": job_arn}, expected)


def earlier_job(**changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "job_name": EARLIER_JOB,
        "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:birds-earlier",
        "manifest_uri": f"s3://{TEST_SETTINGS.data_bucket}/birds/earlier.manifest",
        "created_at": EXAMPLE_TIME.replace(day=1),
    }
    return bird_job_record(**{**values, **changes})


def earlier_model() -> ModelPointer:
    return ModelPointer(
        project="birds",
        model_arn=EARLIER_MODEL,
        job_name=EARLIER_JOB,
        job_created_at=EXAMPLE_TIME.replace(day=1),
        task_type="bounding_box",
        labels=["Bird"],
        label_attribute="category",
    )


# --- the happy path ---------------------------------------------------------------------------------

BIRD_REQUEST: dict[str, Any] = {
    "LabelingJobName": JOB_NAME,
    "LabelAttributeName": "category",
    "InputConfig": {
        "DataSource": {"S3DataSource": {"ManifestS3Uri": LABELED_MANIFEST_URI}},
    },
    "OutputConfig": {
        "S3OutputPath": "s3://labelchain-output/jobs/birds/",
        "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    },
    "RoleArn": "arn:aws:iam::123456789012:role/labelchain-ground-truth",
    "LabelCategoryConfigS3Uri": f"s3://labelchain-data/{JOB_FILES}/label-categories.json",
    "HumanTaskConfig": {
        "WorkteamArn": BIRDERS,
        "UiConfig": {"UiTemplateS3Uri": f"s3://labelchain-data/{JOB_FILES}/worker-template.liquid.html"},
        "PreHumanTaskLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox",
        "TaskKeywords": ["image", "bounding box", "birds"],
        "TaskTitle": "Draw a box around each bird",
        "TaskDescription": "Draw a tight bounding box around every bird in the image",
        "NumberOfHumanWorkersPerDataObject": 3,
        "TaskTimeLimitInSeconds": 300,
        "TaskAvailabilityLifetimeInSeconds": 21_600,
        "MaxConcurrentTaskCount": 200,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": (
                "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox"
            )
        },
    },
    "Tags": [
        {"Key": "labelchain:execution", "Value": EXECUTION_FINGERPRINT},
        {"Key": "labelchain:project", "Value": "birds"},
    ],
    "LabelingJobAlgorithmsConfig": {
        "LabelingJobAlgorithmSpecificationArn": (
            "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/object-detection"
        )
    },
}
"""The bird example's CreateLabelingJob request (a private team), spelled out (docs/GROUND_TRUTH.md,
"The request, field by field"); Ground Truth reads the job's pinned copy of the manifest."""


def test_the_bird_example_starts_exactly_the_documented_labeling_job(world: World) -> None:
    sagemaker_creates(world, expected=BIRD_REQUEST)

    start(world, bird_input())

    world.stub.assert_no_pending_responses()
    assert len(world.calls("CreateLabelingJob")) == 1


def test_the_result_names_the_new_job_and_nothing_else(world: World) -> None:
    sagemaker_creates(world)

    result = start(world, bird_input())

    assert result.model_dump() == {"job_name": JOB_NAME, "project": "birds", "adopted": False}


def test_the_label_category_file_lists_the_labels_in_ground_truths_format(world: World) -> None:
    sagemaker_creates(world)

    start(world, bird_input())

    body, content_type = world.read(f"{JOB_FILES}/label-categories.json")
    assert json.loads(body) == {"document-version": "2018-11-28", "labels": [{"label": "Bird"}]}
    assert content_type == "application/json"


def test_the_worker_template_uses_the_bounding_box_element_and_the_inputs_words(world: World) -> None:
    sagemaker_creates(world)
    example = bird_input()

    start(world, example)

    template, content_type = world.read(f"{JOB_FILES}/worker-template.liquid.html")
    assert content_type == "text/html"
    assert "<crowd-bounding-box " in template
    assert 'src="{{ task.input.taskObject | grant_read_access }}"' in template
    assert 'header="Draw a box around each bird"' in template
    assert example["task"]["instructions"]["short"] in template
    assert example["task"]["instructions"]["full"] in template


def test_the_job_record_keeps_what_the_cost_report_needs(world: World) -> None:
    sagemaker_creates(world)

    start(world, bird_input())

    record = stored(world)
    assert record.object_count == 1250
    assert record.prices == DEFAULT_PRICES
    assert record.workforce.model_dump() == {
        "kind": "private",
        "workteam_arn": BIRDERS,
        "workers_per_object": 3,
        "task_price_usd": "0",
        "price_per_object_usd": None,
    }
    assert (record.job_arn, record.execution_arn, record.status) == (JOB_ARN, EXECUTION.id, "Initializing")
    assert (record.task_type, record.labels, record.label_attribute) == ("bounding_box", ["Bird"], "category")
    assert (record.manifest_uri, record.auto_labeling) == (MANIFEST_URI, True)
    assert (record.initial_model_source, record.initial_model_arn, record.initial_model_check) == (
        "none",
        None,
        "not-applicable",
    )
    assert record.created_at == EXAMPLE_TIME


def test_a_jobs_price_override_is_named_in_the_records_price_version(world: World) -> None:
    sagemaker_creates(world)

    start(world, bird_input(prices={"object_fee_usd": "0.09"}))

    prices = stored(world).prices
    assert prices.version == f"{DEFAULT_PRICES.version}+overrides(object_fee_usd)"
    assert prices.object_fee_usd == Decimal("0.09")


def test_without_auto_labeling_no_algorithm_is_configured_and_a_small_manifest_is_enough(
    world: World,
) -> None:
    world.s3.put_object(
        Bucket=TEST_SETTINGS.data_bucket, Key=MANIFEST_KEY, Body="\n".join(manifest_lines(10)).encode()
    )
    sagemaker_creates(world)

    start(world, bird_input(auto_labeling=False))

    (request,) = world.calls("CreateLabelingJob")
    assert "LabelingJobAlgorithmsConfig" not in request
    record = stored(world)
    assert (record.object_count, record.auto_labeling) == (10, False)


def test_a_private_team_is_charged_the_jobs_task_price_override(world: World) -> None:
    sagemaker_creates(world)

    start(
        world,
        bird_input(
            workforce={"kind": "private", "workteam_arn": BIRDERS, "workers_per_object": 2},
            prices={"task_price_usd": "0.05"},
        ),
    )

    (request,) = world.calls("CreateLabelingJob")
    assert request["HumanTaskConfig"]["WorkteamArn"] == BIRDERS
    assert "PublicWorkforceTaskPrice" not in request["HumanTaskConfig"]
    workforce = stored(world).workforce
    assert (workforce.kind, workforce.workteam_arn, workforce.task_price_usd) == ("private", BIRDERS, "0.05")


def test_a_vendor_team_is_recorded_with_its_price_per_object(world: World) -> None:
    vendor = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/vendor-crowd/birders"
    sagemaker_creates(world)

    start(
        world,
        bird_input(
            workforce={
                "kind": "vendor",
                "workteam_arn": vendor,
                "workers_per_object": 2,
                "price_per_object_usd": "0.06",
            }
        ),
    )

    (request,) = world.calls("CreateLabelingJob")
    assert request["HumanTaskConfig"]["WorkteamArn"] == vendor
    workforce = stored(world).workforce
    assert (workforce.kind, workforce.price_per_object_usd) == ("vendor", "0.06")


def test_a_private_workforce_without_a_price_costs_nothing_per_task(world: World) -> None:
    sagemaker_creates(world)

    start(world, bird_input(workforce={"kind": "private", "workteam_arn": BIRDERS, "workers_per_object": 1}))

    assert stored(world).workforce.task_price_usd == "0"


# --- initial_model ----------------------------------------------------------------------------------


def algorithms_config(world: World) -> dict[str, Any]:
    (request,) = world.calls("CreateLabelingJob")
    return dict(request["LabelingJobAlgorithmsConfig"])


def test_latest_seeds_the_job_with_the_model_the_projects_pointer_names(world: World) -> None:
    world.runtime.store.advance_latest_model(earlier_model())
    sagemaker_creates(world)

    start(world, bird_input(initial_model="latest"))

    assert algorithms_config(world)["InitialActiveLearningModelArn"] == EARLIER_MODEL
    record = stored(world)
    assert (record.initial_model_source, record.initial_model_arn, record.initial_model_check) == (
        "latest",
        EARLIER_MODEL,
        "verified",
    )


def test_latest_with_start_fresh_starts_without_a_model_when_the_project_has_none(world: World) -> None:
    sagemaker_creates(world)

    start(world, bird_input(initial_model="latest", when_no_model="start_fresh"))

    assert "InitialActiveLearningModelArn" not in algorithms_config(world)
    assert "LabelingJobAlgorithmSpecificationArn" in algorithms_config(world)
    assert stored(world).initial_model_arn is None


def test_a_completed_jobs_model_seeds_the_job_by_job_name(world: World) -> None:
    world.runtime.store.create_job(
        earlier_job(status="Completed", final_model_arn=EARLIER_MODEL, model_outcome="trained")
    )
    sagemaker_creates(world)

    start(world, bird_input(initial_model={"job": EARLIER_JOB}))

    assert algorithms_config(world)["InitialActiveLearningModelArn"] == EARLIER_MODEL
    assert world.calls("DescribeLabelingJob") == []
    record = stored(world)
    assert (record.initial_model_source, record.initial_model_check) == (f"job:{EARLIER_JOB}", "verified")


def test_a_job_whose_record_has_no_model_yet_is_asked_of_sagemaker(world: World) -> None:
    world.runtime.store.create_job(earlier_job(status="InProgress"))
    world.stub.add_response(
        "describe_labeling_job",
        describe_response(EARLIER_JOB, "Completed", model_arn=EARLIER_MODEL),
        {"LabelingJobName": EARLIER_JOB},
    )
    sagemaker_creates(world)

    start(world, bird_input(initial_model={"job": EARLIER_JOB}))

    assert algorithms_config(world)["InitialActiveLearningModelArn"] == EARLIER_MODEL


def test_an_unknown_model_arn_in_the_stacks_account_is_used_but_recorded_as_unverified(world: World) -> None:
    unknown_model = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/trained-outside-labelchain"
    sagemaker_creates(world)

    start(world, bird_input(initial_model={"arn": unknown_model}))

    assert algorithms_config(world)["InitialActiveLearningModelArn"] == unknown_model
    record = stored(world)
    assert (record.initial_model_source, record.initial_model_check) == ("arn", "unverified")


def test_a_model_arn_a_labelchain_job_produced_is_verified(world: World) -> None:
    world.runtime.store.remember_model(earlier_model())
    sagemaker_creates(world)

    start(world, bird_input(initial_model={"arn": EARLIER_MODEL}))

    assert stored(world).initial_model_check == "verified"


# --- retries and SageMaker refusals -----------------------------------------------------------------


def name_taken(world: World, *, started_by: str | None, status: str = "InProgress") -> None:
    world.stub.add_client_error(
        "create_labeling_job", service_error_code="ResourceInUse", http_status_code=400
    )
    world.stub.add_response(
        "describe_labeling_job",
        describe_response(JOB_NAME, status, execution_arn=started_by),
        {"LabelingJobName": JOB_NAME},
    )


def test_retried_create_adopts_the_job_it_already_started(world: World) -> None:
    name_taken(world, started_by=EXECUTION.id)

    result = start(world, bird_input())

    assert result.adopted is True
    assert len(world.calls("CreateLabelingJob")) == 1
    assert [job.job_name for job in world.runtime.store.jobs_of_project("birds")] == [JOB_NAME]
    assert stored(world).job_arn == JOB_ARN


@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped"])
def test_a_reused_execution_name_does_not_adopt_the_earlier_executions_ended_job(
    world: World, status: str
) -> None:
    name_taken(world, started_by=EXECUTION.id, status=status)

    with pytest.raises(JobNameConflict, match="already ended"):
        start(world, bird_input())

    assert world.runtime.store.get_job(JOB_NAME) is None


def test_a_retry_after_the_record_was_written_keeps_the_first_record(world: World) -> None:
    sagemaker_creates(world)
    start(world, bird_input())
    world.clock.advance(30)
    name_taken(world, started_by=EXECUTION.id)

    retried = start(world, bird_input())

    assert retried.adopted is True
    assert [job.created_at for job in world.runtime.store.jobs_of_project("birds")] == [EXAMPLE_TIME]


def test_a_retry_asks_for_the_same_job_name(world: World) -> None:
    sagemaker_creates(world)
    start(world, bird_input())
    name_taken(world, started_by=EXECUTION.id)

    start(world, bird_input())

    assert [request["LabelingJobName"] for request in world.calls("CreateLabelingJob")] == [
        JOB_NAME,
        JOB_NAME,
    ]


@pytest.mark.parametrize(
    "started_by",
    [f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:someone-else", None],
    ids=["another-execution", "no-labelchain-tag"],
)
def test_a_job_name_taken_by_a_job_this_execution_did_not_start_is_a_conflict(
    world: World, started_by: str | None
) -> None:
    name_taken(world, started_by=started_by)

    with pytest.raises(JobNameConflict) as refused:
        start(world, bird_input())

    assert f"labeling job {JOB_NAME!r} already exists" in str(refused.value)
    assert "start the execution under another name" in str(refused.value)
    assert world.runtime.store.get_job(JOB_NAME) is None


def test_a_throttled_create_is_a_transient_error(world: World) -> None:
    world.stub.add_client_error(
        "create_labeling_job", service_error_code="ThrottlingException", http_status_code=400
    )

    with pytest.raises(TransientServiceError) as refused:
        start(world, bird_input())

    assert "SageMaker CreateLabelingJob refused transiently (ThrottlingException)" in str(refused.value)
    assert world.runtime.store.get_job(JOB_NAME) is None


# --- the account's concurrent-job quota -------------------------------------------------------------


def quota_reached(world: World) -> None:
    world.stub.add_client_error(
        "create_labeling_job", service_error_code="ResourceLimitExceeded", http_status_code=400
    )


def test_a_refusal_for_quota_queues_the_job_and_is_raised_for_the_long_retry(world: World) -> None:
    quota_reached(world)

    with pytest.raises(LabelingJobQuotaExceeded, match="ResourceLimitExceeded"):
        start(world, bird_input())

    queued = stored(world)
    assert (queued.status, queued.queued_since, queued.queue_attempts) == ("Queued", EXAMPLE_TIME, 1)
    assert queued.job_arn is None
    table = world.runtime.store.client.scan(TableName=TEST_SETTINGS.table_name)["Items"]
    assert [item["pk"]["S"] for item in table] == [f"JOB#{JOB_NAME}"]  # the queued record, nothing else
    # Active, so the reconciler notices if the execution ends unseen while the job waits for a slot.
    assert [record.status for record in world.runtime.store.active_jobs()] == ["Queued"]


def test_every_further_refusal_counts_an_attempt_and_keeps_the_first_queued_time(world: World) -> None:
    quota_reached(world)
    with pytest.raises(LabelingJobQuotaExceeded):
        start(world, bird_input())
    world.clock.advance(3_600)
    quota_reached(world)

    with pytest.raises(LabelingJobQuotaExceeded):
        start(world, bird_input())

    queued = stored(world)
    assert (queued.status, queued.queued_since, queued.queue_attempts) == ("Queued", EXAMPLE_TIME, 2)


def test_a_later_successful_create_replaces_the_queued_record_with_the_started_job(world: World) -> None:
    quota_reached(world)
    with pytest.raises(LabelingJobQuotaExceeded):
        start(world, bird_input())
    queued = stored(world)
    world.clock.advance(3_600)
    sagemaker_creates(world)

    result = start(world, bird_input())

    started = stored(world)
    assert (result.job_name, result.adopted) == (JOB_NAME, False)
    assert (started.status, started.job_arn) == ("Initializing", JOB_ARN)
    assert (started.queued_since, started.queue_attempts) == (EXAMPLE_TIME, 1)
    assert started.created_at == EXAMPLE_TIME + timedelta(hours=1)
    # The queued record was the job's record with only the queue's fields: no ARN, nothing SageMaker said.
    assert queued == started.model_copy(
        update={"status": "Queued", "job_arn": None, "created_at": EXAMPLE_TIME}
    )
    assert [record.job_name for record in world.runtime.store.active_jobs()] == [JOB_NAME]
    assert [job.job_name for job in world.runtime.store.jobs_of_project("birds")] == [JOB_NAME]


def test_a_quota_refusal_never_turns_a_started_jobs_record_back_into_a_queued_one(world: World) -> None:
    sagemaker_creates(world)
    start(world, bird_input())
    started = stored(world)
    quota_reached(world)

    with pytest.raises(LabelingJobQuotaExceeded):
        start(world, bird_input())

    assert world.runtime.store.get_job(JOB_NAME) == started


# --- deterministic job names ------------------------------------------------------------------------


def execution_named(name: str) -> ExecutionRef:
    return ExecutionRef(id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:{name}", name=name)


@pytest.mark.parametrize(
    "execution_name",
    [
        "birds-half-a",
        "bird_" * 16,
        ("Birds_Half_B_Seeded_With_The_Model_Of_Job_One_" * 2)[:80],
        "2026-11-28T12:00:00.000Z",
    ],
    ids=["short", "80-chars-underscores", "80-chars-mixed-case", "timestamp"],
)
def test_the_job_name_starts_with_the_prefix_and_fits_sagemakers_pattern(
    world: World, execution_name: str
) -> None:
    sagemaker_creates(world)

    result = start(world, bird_input(), execution=execution_named(execution_name))

    (request,) = world.calls("CreateLabelingJob")
    assert request["LabelingJobName"] == result.job_name
    assert result.job_name.startswith(f"{TEST_SETTINGS.resource_prefix}-")
    assert len(result.job_name) <= 63
    assert SAGEMAKER_JOB_NAME.fullmatch(result.job_name)


def test_two_executions_get_two_job_names(world: World) -> None:
    sagemaker_creates(world)
    sagemaker_creates(world)

    first = start(world, bird_input(), execution=execution_named("birds_half_a"))
    second = start(world, bird_input(), execution=execution_named("birds-half-a"))

    assert first.job_name != second.job_name


def test_an_execution_name_with_parentheses_still_makes_valid_tags(world: World) -> None:
    sagemaker_creates(world)

    start(world, bird_input(), execution=execution_named("birds-half-b-(retry-2)"))

    (request,) = world.calls("CreateLabelingJob")
    assert all(SAGEMAKER_TAG_VALUE.fullmatch(tag["Value"]) for tag in request["Tags"]), request["Tags"]
