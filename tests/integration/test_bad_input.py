"""Specification: a bad LabelingJob input is refused before anything is created or spent.

Every case runs through the real CreateJob service (moto S3 and DynamoDB, a Stubber'd SageMaker
client with nothing queued unless the case reads an earlier job) and must

* raise the error class the state machine catches by name,
* say which field is wrong and what is allowed,
* make no CreateLabelingJob call, and
* write nothing: no job files under ``labelchain/`` in the data bucket, no DynamoDB item.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from labelchain.core.naming import job_name_for_execution
from labelchain.core.records import JobRecord, ModelPointer
from labelchain.core.s3_layout import LABELCHAIN_PREFIX
from labelchain.errors import (
    ConfigurationError,
    IncompatibleModel,
    InvalidJobInput,
    LabelChainError,
    ManifestNotFound,
    ModelNotFound,
)
from labelchain.services.create_job import create_labeling_job
from labelchain.services.events import CreateJobEvent, ExecutionRef
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
    id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:birds-half-b", name="birds-half-b"
)
JOB_NAME = job_name_for_execution(TEST_SETTINGS.resource_prefix, EXECUTION.name, EXECUTION.id)
MANIFEST_KEY = "birds/half-b.manifest"
MANIFEST_URI = f"s3://{TEST_SETTINGS.data_bucket}/{MANIFEST_KEY}"
EARLIER_JOB = "labelchain-birds-half-a-0a1b2c3d"
EARLIER_MODEL = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/birds-half-a-model"

REMOVE = object()
"""A change that deletes the field."""
NO_OBJECT = b"<no manifest object>"
"""A manifest that is not in the bucket at all."""


def manifest(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


VALID_MANIFEST = manifest(manifest_lines(1250))
LONG_KEY_URI = f"s3://{TEST_SETTINGS.data_bucket}/" + "k" * 1_100_000
"""An object reference of 1.1 MiB: past the manifest's 1 MiB line limit."""
"""1,250 objects: the smallest manifest automated data labeling accepts."""


@dataclass
class World:
    """Moto S3 + DynamoDB, a Stubber'd SageMaker client, and a record of every SageMaker call made."""

    runtime: Runtime
    s3: Any
    dynamodb: Any
    stub: Any
    sagemaker_calls: list[str] = field(default_factory=list)

    def put_manifest(self, body: bytes) -> None:
        if body is not NO_OBJECT:
            self.s3.put_object(Bucket=TEST_SETTINGS.data_bucket, Key=MANIFEST_KEY, Body=body)

    def job_files(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=TEST_SETTINGS.data_bucket, Prefix=LABELCHAIN_PREFIX)
        return [item["Key"] for item in listed.get("Contents", [])]

    def table_items(self) -> list[dict[str, Any]]:
        items = self.dynamodb.scan(TableName=TEST_SETTINGS.table_name)["Items"]
        return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


@pytest.fixture
def world(aws: tuple[Any, Any, Any]) -> Iterator[World]:
    s3, dynamodb, sagemaker = aws
    empty_account(s3, dynamodb)
    calls: list[str] = []

    def record_call(model: Any, **_: Any) -> None:
        calls.append(model.name)

    sagemaker.meta.events.register("provide-client-params.sagemaker.*", record_call)
    runtime = make_runtime(sagemaker, FixedClock(), s3=s3, dynamodb=dynamodb)
    try:
        with Stubber(sagemaker) as stub:
            yield World(runtime, s3, dynamodb, stub, calls)
    finally:
        sagemaker.meta.events.unregister("provide-client-params.sagemaker.*", record_call)


# --- earlier state some cases need ------------------------------------------------------------------


def earlier_job(**changes: Any) -> JobRecord:
    values: dict[str, Any] = {
        "job_name": EARLIER_JOB,
        "execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:birds-half-a",
        "created_at": EXAMPLE_TIME - timedelta(days=2),
    }
    return bird_job_record(**{**values, **changes})


def latest_pointer(**changes: Any) -> ModelPointer:
    values: dict[str, Any] = {
        "project": "birds",
        "model_arn": EARLIER_MODEL,
        "job_name": EARLIER_JOB,
        "job_created_at": EXAMPLE_TIME - timedelta(days=2),
        "task_type": "bounding_box",
        "labels": ["Bird"],
        "label_attribute": "category",
    }
    return ModelPointer.model_validate({**values, **changes})


def recorded_job(status: str, model_arn: str | None = None, **changes: Any) -> Callable[[World], None]:
    """An earlier job LabelChain recorded with ``status`` (SageMaker is asked for its final state)."""

    def given(world: World) -> None:
        world.runtime.store.create_job(earlier_job(status=status, final_model_arn=model_arn, **changes))
        world.stub.add_response(
            "describe_labeling_job",
            describe_response(
                EARLIER_JOB,
                status,
                failure_reason="ClientError: 12 % of the validation set failed"
                if status == "Failed"
                else None,
                model_arn=model_arn,
            ),
            {"LabelingJobName": EARLIER_JOB},
        )

    return given


def recorded_job_with_model(**changes: Any) -> Callable[[World], None]:
    """A Completed earlier job whose record already names its model (no SageMaker read needed)."""

    def given(world: World) -> None:
        world.runtime.store.create_job(
            earlier_job(status="Completed", final_model_arn=EARLIER_MODEL, model_outcome="trained", **changes)
        )

    return given


def latest_model_is(**changes: Any) -> Callable[[World], None]:
    def given(world: World) -> None:
        assert world.runtime.store.advance_latest_model(latest_pointer(**changes))

    return given


def remembered_model(**changes: Any) -> Callable[[World], None]:
    def given(world: World) -> None:
        world.runtime.store.remember_model(latest_pointer(**changes))

    return given


# --- the table of bad inputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class BadInput:
    """One malformed input: what changes from the valid bird example, and what the refusal says."""

    name: str
    changes: dict[str, Any] = field(default_factory=dict)
    """Dotted path → new value (``REMOVE`` deletes), applied to the bird example."""
    error: type[Exception] = InvalidJobInput
    says: tuple[str, ...] = ()
    manifest: bytes = VALID_MANIFEST
    given: Callable[[World], None] | None = None
    region: str = REGION
    raw: Any = None
    """An input that is not built from the example at all."""
    bug: str | None = None
    """Set when LabelChain gets this case wrong today: the case is a strict xfail naming the bug."""


def bird_input(changes: dict[str, Any]) -> dict[str, Any]:
    raw = json.loads(EXAMPLE.read_text())
    raw["manifest"] = MANIFEST_URI
    raw = copy.deepcopy(raw)
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        target = raw
        for part in parents:
            target = target[part]
        if value is REMOVE:
            target.pop(leaf)
        else:
            target[leaf] = value
    return raw


PRIVATE_TEAM = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/birders"
VENDOR_TEAM = "arn:aws:sagemaker:us-east-1:111122223333:workteam/vendor-crowd/acme"
"""A vendor's team is in the vendor's account."""

INPUT_FIELDS = [
    BadInput("input-not-an-object", raw=["birds"], says=("input: expected a JSON object, got list",)),
    BadInput("project-uppercase", {"project": "Birds"}, says=("project: expected 1-40 lowercase letters",)),
    BadInput("project-trailing-hyphen", {"project": "birds-"}, says=("project:", "single hyphens")),
    BadInput("project-41-chars", {"project": "b" * 41}, says=("project:", "at most 40 characters")),
    BadInput("project-missing", {"project": REMOVE}, says=("project: Field required",)),
    BadInput(
        "manifest-not-s3",
        {"manifest": "https://example.com/birds.manifest"},
        says=("manifest: expected an S3 URI of a manifest object, s3://<bucket>/<key>",),
    ),
    BadInput(
        "manifest-is-a-prefix",
        {"manifest": f"s3://{TEST_SETTINGS.data_bucket}/birds/"},
        says=("manifest:", "must name a manifest object, not a prefix"),
    ),
    BadInput(
        "manifest-in-another-bucket",
        {"manifest": "s3://someone-elses-bucket/birds.manifest"},
        says=("manifest: must be in the data bucket 'labelchain-data'", "got bucket 'someone-elses-bucket'"),
    ),
    BadInput(
        "task-type-unknown",
        {"task.type": "polygon"},
        says=("task.type:", "'bounding_box'", "'image_classification'", "'semantic_segmentation'"),
    ),
    BadInput("labels-none", {"task.labels": []}, says=("task.labels:", "at least 1 item")),
    BadInput(
        "labels-duplicated",
        {"task.labels": ["Bird", "Nest", "Bird"]},
        says=("task.labels:", "labels must be unique, ignoring letter case", "repeated: Bird"),
    ),
    BadInput(
        "labels-duplicated-after-trimming",
        {"task.labels": ["Bird", " Bird "]},
        says=("task.labels:", "repeated: Bird"),
    ),
    BadInput(
        "classification-with-one-label",
        {"task.type": "image_classification", "task.labels": ["Bird"]},
        says=("task.labels: image_classification needs 2 to 50 labels, got 1",),
    ),
    BadInput(
        "bounding-box-with-51-labels",
        {"task.labels": [f"Bird {i}" for i in range(51)]},
        says=("task.labels: bounding_box needs 1 to 50 labels, got 51",),
    ),
    BadInput(
        "label-257-chars", {"task.labels": ["B" * 257]}, says=("task.labels.0:", "at most 256 characters")
    ),
    BadInput(
        "label-attribute-source",
        {"task.label_attribute": "source"},
        says=("task.label_attribute: 'source' is reserved (source, source-ref)",),
    ),
    BadInput(
        "label-attribute-source-ref",
        {"task.label_attribute": "source-ref"},
        says=("task.label_attribute: 'source-ref' is reserved",),
    ),
    BadInput(
        "label-attribute-metadata",
        {"task.label_attribute": "category-metadata"},
        says=("task.label_attribute: must not end in '-metadata'",),
    ),
    BadInput(
        "label-attribute-ref-for-boxes",
        {"task.label_attribute": "category-ref"},
        says=("task.label_attribute: must not end in '-ref' for bounding_box",),
    ),
    BadInput(
        "segmentation-attribute-without-ref",
        {"task.type": "semantic_segmentation"},
        says=("task.label_attribute: must end in '-ref' for semantic_segmentation",),
    ),
    BadInput(
        "label-attribute-underscore",
        {"task.label_attribute": "bird_box"},
        says=("task.label_attribute: expected letters, digits and hyphens",),
    ),
    BadInput("title-129-chars", {"task.title": "T" * 129}, says=("task.title:", "at most 128 characters")),
    BadInput(
        "title-with-a-control-character",
        {"task.title": "Birds \x07 ring"},
        says=("task.title:",),
    ),
    BadInput(
        "description-256-chars",
        {"task.description": "D" * 256},
        says=("task.description:", "at most 255 characters"),
    ),
    BadInput(
        "description-on-two-lines",
        {"task.description": "Box every bird.\nBe tight."},
        says=("task.description:",),
    ),
    BadInput("keywords-none", {"task.keywords": []}, says=("task.keywords:", "at least 1 item")),
    BadInput(
        "keywords-six",
        {"task.keywords": ["a", "b", "c", "d", "e", "f"]},
        says=("task.keywords:", "at most 5 items"),
    ),
    BadInput(
        "keyword-with-hyphen",
        {"task.keywords": ["bounding-box"]},
        says=("task.keywords.0: expected 1-30 letters or digits, words separated by single spaces",),
    ),
    BadInput(
        "keyword-31-chars", {"task.keywords": ["k" * 31]}, says=("task.keywords.0:", "at most 30 characters")
    ),
    BadInput(
        "instructions-missing-short",
        {"task.instructions.short": REMOVE},
        says=("task.instructions.short: Field required",),
    ),
    BadInput(
        "instructions-with-liquid-markup",
        {"task.instructions.full": "<p>Box every bird in {{ task.input.taskObject }}</p>"},
        says=("task.instructions.full:", "must not contain Liquid template markup ('{{' or '{%')"),
    ),
    BadInput(
        "title-with-liquid-markup",
        {"task.title": "Box the birds {{ task.input.labels }}"},
        says=("task.title:", "Liquid template markup"),
    ),
    BadInput(
        "workers-zero",
        {"workforce.workers_per_object": 0},
        says=("workforce.workers_per_object:", "greater than or equal to 1"),
    ),
    BadInput(
        "workers-ten",
        {"workforce.workers_per_object": 10},
        says=("workforce.workers_per_object:", "less than or equal to 9"),
    ),
    BadInput(
        "workforce-kind-unknown",
        {"workforce.kind": "crowd"},
        says=("workforce:", "'private', 'vendor'"),
    ),
    BadInput(
        "private-workforce-with-vendor-arn",
        {
            "workforce": {"kind": "private", "workteam_arn": VENDOR_TEAM, "workers_per_object": 1},
        },
        says=("workforce.workteam_arn: expected a work team ARN", "private-crowd/<name> for kind private"),
    ),
    BadInput(
        "vendor-workforce-with-private-arn",
        {
            "workforce": {
                "kind": "vendor",
                "workteam_arn": PRIVATE_TEAM,
                "workers_per_object": 1,
                "price_per_object_usd": "0.06",
            }
        },
        says=("workforce.workteam_arn: expected a work team ARN", "vendor-crowd/<name> for kind vendor"),
    ),
    BadInput(
        "private-workforce-arn-malformed",
        {"workforce": {"kind": "private", "workteam_arn": "birders", "workers_per_object": 1}},
        says=("workforce.workteam_arn: expected a work team ARN",),
    ),
    BadInput(
        "private-workforce-with-a-price",
        {
            "workforce": {
                "kind": "private",
                "workteam_arn": PRIVATE_TEAM,
                "workers_per_object": 1,
                "price_per_object_usd": "0.036",
            }
        },
        says=("workforce.price_per_object_usd: unknown field",),
    ),
    BadInput(
        "team-availability-over-30-days",
        {
            "workforce": {"kind": "private", "workteam_arn": PRIVATE_TEAM, "workers_per_object": 1},
            "task_availability_lifetime_seconds": 2_592_001,
        },
        says=("task_availability_lifetime_seconds:", "less than or equal to 2592000"),
    ),
    BadInput(
        "availability-under-a-minute",
        {"task_availability_lifetime_seconds": 59},
        says=("task_availability_lifetime_seconds:", "greater than or equal to 60"),
    ),
    BadInput(
        "task-time-under-30-seconds",
        {"task_time_limit_seconds": 29},
        says=("task_time_limit_seconds:", "greater than or equal to 30"),
    ),
    BadInput(
        "task-time-over-8-hours",
        {
            "workforce": {"kind": "private", "workteam_arn": PRIVATE_TEAM, "workers_per_object": 1},
            "task_time_limit_seconds": 28_801,
            "task_availability_lifetime_seconds": 864_000,
        },
        says=("task_time_limit_seconds:", "less than or equal to 28800"),
    ),
    BadInput(
        "task-time-longer-than-availability",
        {"task_time_limit_seconds": 3_600, "task_availability_lifetime_seconds": 600},
        says=("task_time_limit_seconds: must not exceed task_availability_lifetime_seconds (600)",),
    ),
    BadInput(
        "max-concurrent-zero",
        {"max_concurrent_tasks": 0},
        says=("max_concurrent_tasks:", "greater than or equal to 1"),
    ),
    BadInput(
        "max-concurrent-5001",
        {"max_concurrent_tasks": 5001},
        says=("max_concurrent_tasks:", "less than or equal to 5000"),
    ),
    BadInput(
        "stopping-percentage-zero",
        {"stopping_conditions": {"max_percentage_labeled": 0}},
        says=("stopping_conditions.max_percentage_labeled:", "greater than or equal to 1"),
    ),
    BadInput(
        "stopping-percentage-101",
        {"stopping_conditions": {"max_percentage_labeled": 101}},
        says=("stopping_conditions.max_percentage_labeled:", "less than or equal to 100"),
    ),
    BadInput(
        "stopping-human-objects-zero",
        {"stopping_conditions": {"max_human_labeled_objects": 0}},
        says=("stopping_conditions.max_human_labeled_objects:", "greater than or equal to 1"),
    ),
    BadInput(
        "auto-labeling-not-a-boolean",
        {"auto_labeling": "maybe"},
        says=("auto_labeling: expected true or false",),
    ),
    BadInput(
        "initial-model-unknown-word",
        {"initial_model": "newest"},
        says=("initial_model:", "expected 'none', 'latest', {\"job\": <job name>} or {\"arn\": <model ARN>}"),
    ),
    BadInput(
        "initial-model-number",
        {"initial_model": 42},
        says=("initial_model: expected 'none', 'latest'",),
    ),
    BadInput(
        "initial-model-job-name-malformed",
        {"initial_model": {"job": "birds half a"}},
        says=("initial_model.job: expected a labeling job name", "'birds half a'"),
    ),
    BadInput(
        "initial-model-arn-not-a-model",
        {"initial_model": {"arn": "arn:aws:s3:::birds/model.tar.gz"}},
        says=(
            "initial_model.arn: expected a SageMaker model ARN,",
            "arn:aws:sagemaker:<region>:<12-digit account>:model/<name>",
        ),
    ),
    BadInput(
        "initial-model-job-and-arn",
        {"initial_model": {"job": EARLIER_JOB, "arn": EARLIER_MODEL}},
        says=("initial_model:", "got an object with keys ['arn', 'job']"),
    ),
    BadInput(
        "initial-model-without-auto-labeling",
        {"auto_labeling": False, "initial_model": "latest"},
        says=("initial_model: a model can only seed a job with auto_labeling on",),
    ),
    BadInput(
        "when-no-model-unknown",
        {"when_no_model": "guess"},
        says=("when_no_model:", "'fail' or 'start_fresh'"),
    ),
    BadInput(
        "tag-key-reserved-for-labelchain",
        {"tags": {"labelchain:project": "cats"}},
        says=("tags: keys starting with aws: or labelchain: are reserved: labelchain:project",),
    ),
    BadInput(
        "tag-key-reserved-for-aws",
        {"tags": {"AWS:CreatedBy": "me"}},
        says=("tags: keys starting with aws: or labelchain: are reserved: AWS:CreatedBy",),
    ),
    BadInput(
        "tags-41",
        {"tags": {f"tag{i}": "x" for i in range(41)}},
        says=("tags: at most 40 tags",),
    ),
    BadInput(
        "tag-key-with-hash",
        {"tags": {"cost#centre": "42"}},
        says=("tags.cost#centre", "letters, digits, spaces and _ . : / = + - @"),
    ),
    BadInput(
        "unknown-top-level-field",
        {"priority": "high"},
        says=("priority: unknown field; remove it or check its spelling",),
    ),
    BadInput("unknown-task-field", {"task.colour": "red"}, says=("task.colour: unknown field",)),
    BadInput(
        "price-override-negative",
        {"prices": {"object_fee_usd": "-0.01"}},
        says=("prices.object_fee_usd: must be a USD amount from 0 to 100 with at most 4 decimal places",),
    ),
    BadInput(
        "price-override-five-decimals",
        {"prices": {"task_price_usd": "0.00001"}},
        says=("prices.task_price_usd:", "at most 4 decimal places"),
    ),
    BadInput(
        "price-override-unknown-key",
        {"prices": {"fee": "0.08"}},
        says=("prices.fee: unknown field",),
    ),
]


MANIFEST_CONTENT = [
    BadInput(
        "manifest-object-missing",
        manifest=NO_OBJECT,
        error=ManifestNotFound,
        says=(f"manifest: {MANIFEST_URI} cannot be read", "NoSuchKey"),
    ),
    BadInput("manifest-empty", manifest=b"", says=(f"manifest: {MANIFEST_URI} holds no objects",)),
    BadInput("manifest-only-blank-lines", manifest=b"\n  \n\n", says=("manifest:", "holds no objects")),
    BadInput(
        "manifest-1249-objects-with-auto-labeling",
        manifest=manifest(manifest_lines(1249)),
        says=("manifest: automated data labeling needs at least 1,250 objects", "has 1,249", "auto_labeling"),
    ),
    BadInput(
        "manifest-line-not-json",
        manifest=manifest(
            [*manifest_lines(2), "{'source-ref': 's3://labelchain-data/x.jpg'}", *manifest_lines(1250)[2:]]
        ),
        says=("manifest: 1 bad line(s)", "line 3: not valid JSON"),
    ),
    BadInput(
        "manifest-line-json-array",
        manifest=manifest([*manifest_lines(1), '["s3://labelchain-data/x.jpg"]', *manifest_lines(1250)[1:]]),
        says=("manifest:", "line 2: expected a JSON object, got list"),
    ),
    BadInput(
        "manifest-line-without-source-ref",
        manifest=manifest([*manifest_lines(1250), '{"source": "s3://labelchain-data/x.jpg"}']),
        says=("manifest:", "line 1251: 'source-ref' must be an s3://bucket/key URI (missing)"),
    ),
    BadInput(
        "manifest-source-ref-not-s3",
        manifest=manifest(['{"source-ref": "https://example.com/bird.jpg"}', *manifest_lines(1250)]),
        says=(
            "manifest:",
            "line 1: 'source-ref' must be an s3://bucket/key URI ('https://example.com/bird.jpg')",
        ),
    ),
    BadInput(
        "manifest-object-listed-twice",
        manifest=manifest([*manifest_lines(1250), manifest_lines(1)[0]]),
        says=("manifest:", "line 1251: duplicate object 's3://labelchain-data/birds/images/00000.jpg'"),
    ),
    BadInput(
        "manifest-many-bad-lines-are-counted",
        manifest=manifest([*manifest_lines(1250), *["not json"] * 9]),
        says=("manifest: 9 bad line(s)", "line 1251", "line 1255"),
    ),
    BadInput(
        "manifest-line-of-3-mebibytes",
        manifest=manifest([*manifest_lines(1250), json.dumps({"source-ref": LONG_KEY_URI * 3})]),
        says=("manifest:", "is not a JSON-lines manifest", "longer than 1048576 bytes"),
    ),
    BadInput(
        "manifest-line-of-1.1-mebibytes-ending-in-the-next-chunk",
        manifest=manifest([*manifest_lines(1250), json.dumps({"source-ref": LONG_KEY_URI})]),
        says=("manifest:", "is not a JSON-lines manifest", "longer than 1048576 bytes"),
    ),
    BadInput(
        "text-manifest-with-image-references",
        {
            "task.type": "text_classification",
            "task.labels": ["Positive", "Negative"],
            "task.label_attribute": "sentiment",
        },
        says=("manifest:", "line 1: 'source' must be non-empty text"),
    ),
    BadInput(
        "segmentation-manifest-over-20000-objects",
        {"task.type": "semantic_segmentation", "task.label_attribute": "category-ref"},
        manifest=manifest(manifest_lines(20_001)),
        says=("manifest: automated data labeling takes at most 20,000 objects for semantic_segmentation",),
    ),
]

MODEL_REFERENCES = [
    BadInput(
        "latest-model-when-the-project-has-none",
        {"initial_model": "latest", "when_no_model": "fail"},
        error=ModelNotFound,
        says=("initial_model: project 'birds' has no model yet", '"when_no_model": "start_fresh"'),
    ),
    BadInput(
        "model-of-an-unknown-job",
        {"initial_model": {"job": "labelchain-never-ran"}},
        error=ModelNotFound,
        says=("initial_model.job: LabelChain has no record of a job named 'labelchain-never-ran'",),
    ),
    BadInput(
        "model-of-a-failed-job",
        {"initial_model": {"job": EARLIER_JOB}},
        error=ModelNotFound,
        given=recorded_job("Failed"),
        says=(
            f"initial_model.job: job '{EARLIER_JOB}' is Failed",
            "only a Completed job's model can seed another",
        ),
    ),
    BadInput(
        "model-of-a-job-still-running",
        {"initial_model": {"job": EARLIER_JOB}},
        error=ModelNotFound,
        given=recorded_job("InProgress"),
        says=(f"initial_model.job: job '{EARLIER_JOB}' is InProgress", "only a Completed job's model"),
    ),
    BadInput(
        "model-of-a-job-that-trained-none",
        {"initial_model": {"job": EARLIER_JOB}},
        error=ModelNotFound,
        given=recorded_job("Completed"),
        says=(f"initial_model.job: job '{EARLIER_JOB}' completed without a model",),
    ),
    BadInput(
        "latest-model-trained-on-other-labels",
        {"initial_model": "latest"},
        error=IncompatibleModel,
        given=latest_model_is(labels=["Bird", "Nest"]),
        says=(
            f"initial_model: {EARLIER_MODEL} was trained by job '{EARLIER_JOB}'",
            "labels ['Bird', 'Nest'] ≠ ['Bird'] (same labels in the same order)",
        ),
    ),
    BadInput(
        "latest-model-with-labels-in-another-order",
        {"initial_model": "latest", "task.labels": ["Nest", "Bird"]},
        error=IncompatibleModel,
        given=latest_model_is(labels=["Bird", "Nest"]),
        says=("initial_model:", "labels ['Bird', 'Nest'] ≠ ['Nest', 'Bird']"),
    ),
    BadInput(
        "latest-model-with-another-label-attribute",
        {"initial_model": "latest"},
        error=IncompatibleModel,
        given=latest_model_is(label_attribute="bird-box"),
        says=("initial_model:", "label attribute 'bird-box' ≠ 'category'"),
    ),
    BadInput(
        "latest-model-of-another-task-type",
        {"initial_model": "latest"},
        error=IncompatibleModel,
        given=latest_model_is(task_type="image_classification"),
        says=("initial_model:", "task type 'image_classification' ≠ 'bounding_box'"),
    ),
    BadInput(
        "model-of-a-job-with-other-labels",
        {"initial_model": {"job": EARLIER_JOB}},
        error=IncompatibleModel,
        given=recorded_job_with_model(labels=["Bird", "Nest"]),
        says=("initial_model:", "labels ['Bird', 'Nest'] ≠ ['Bird']"),
    ),
    BadInput(
        "unknown-model-arn-from-another-region",
        {"initial_model": {"arn": EARLIER_MODEL.replace(REGION, "eu-west-1")}},
        says=(
            "initial_model.arn: must be in this stack's partition, region and account",
            "has region 'eu-west-1' (this stack: 'us-east-1')",
        ),
    ),
    BadInput(
        "known-model-arn-from-another-region",
        {"initial_model": {"arn": EARLIER_MODEL.replace(REGION, "eu-west-1")}},
        given=remembered_model(model_arn=EARLIER_MODEL.replace(REGION, "eu-west-1")),
        says=("initial_model.arn:", "has region 'eu-west-1' (this stack: 'us-east-1')"),
    ),
    BadInput(
        "model-arn-from-another-account",
        {"initial_model": {"arn": EARLIER_MODEL.replace(ACCOUNT, "210987654321")}},
        says=("initial_model.arn:", "has account '210987654321' (this stack: '123456789012')"),
    ),
]

DEPLOYMENT = [
    BadInput(
        "region-outside-the-arn-table",
        region="eu-north-1",
        error=ConfigurationError,
        says=("region 'eu-north-1'", "supported regions: us-east-1, us-east-2, us-west-2", "ap-southeast-2"),
    ),
]

ALL_CASES = INPUT_FIELDS + MANIFEST_CONTENT + MODEL_REFERENCES + DEPLOYMENT


def refuse(world: World, case: BadInput) -> Exception:
    """Run CreateJob on the case; return the refusal after checking nothing was created."""
    world.put_manifest(case.manifest)
    if case.given is not None:
        case.given(world)
    table_before = world.table_items()
    raw = case.raw if case.raw is not None else bird_input(case.changes)
    runtime = replace(world.runtime, settings=TEST_SETTINGS.model_copy(update={"region": case.region}))

    with pytest.raises(LabelChainError) as refused:
        create_labeling_job(CreateJobEvent(input=raw, execution=EXECUTION), runtime)

    assert "CreateLabelingJob" not in world.sagemaker_calls
    world.stub.assert_no_pending_responses()
    assert world.job_files() == []
    assert world.table_items() == table_before
    assert runtime.store.get_job(JOB_NAME) is None
    return refused.value


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        )
        for case in ALL_CASES
    ],
)
def test_a_bad_input_is_refused_by_name_before_anything_is_created(world: World, case: BadInput) -> None:
    refusal = refuse(world, case)

    assert type(refusal) is case.error
    for expected in case.says:
        assert expected in str(refusal)


# --- outside the table ------------------------------------------------------------------------------


def test_malformed_deployment_prices_are_a_configuration_error(world: World) -> None:
    world.put_manifest(VALID_MANIFEST)
    runtime = replace(
        world.runtime, settings=TEST_SETTINGS.model_copy(update={"default_prices": '{"object_fee": 0.08}'})
    )

    with pytest.raises(ConfigurationError) as refused:
        create_labeling_job(CreateJobEvent(input=bird_input({}), execution=EXECUTION), runtime)

    assert "LABELCHAIN_DEFAULT_PRICES" in str(refused.value)
    assert "unknown key 'object_fee' (allowed keys: object_fee_usd," in str(refused.value)
    assert "CreateLabelingJob" not in world.sagemaker_calls
    assert world.job_files() == []
    assert world.table_items() == []
