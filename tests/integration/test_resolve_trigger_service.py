"""Specification of ResolveTrigger: a dropped manifest plus its project's settings (from the table, never
from the data bucket) becomes exactly one LabelingJob input, validated like console input and held to the
project's ceilings, and a twice-delivered upload starts one job.

moto gives S3 and DynamoDB; ResolveTrigger makes no SageMaker call, so the SageMaker client is a
Stubber with nothing queued (any call would fail the test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.stub import Stubber

from labelchain.core.job_input import parse_job_input
from labelchain.core.records import trigger_key
from labelchain.errors import DuplicateTrigger, InvalidJobInput
from labelchain.handlers.resolve_trigger import handler
from labelchain.handlers.runtime import override_runtime
from labelchain.services.events import ExecutionRef
from labelchain.services.resolve_trigger import ResolveTriggerEvent, resolve_trigger
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import make_runtime, moto_account
from tests.support.project_settings import example_settings, write_project_settings

BUCKET = TEST_SETTINGS.data_bucket
MANIFEST_KEY = "incoming/birds/batch-7.manifest"
VERSION = "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
FIRST = ExecutionRef(id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:first", name="first")
SECOND = ExecutionRef(id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:second", name="second")


class FakeLambdaContext:
    function_name = "ResolveTrigger"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ResolveTrigger"
    aws_request_id = "request-1"


LAMBDA_CONTEXT = cast(LambdaContext, FakeLambdaContext())


@pytest.fixture
def world() -> Iterator[tuple[Runtime, Any, Any]]:
    with moto_account() as (s3, dynamodb, sagemaker), Stubber(sagemaker) as stub:
        yield make_runtime(sagemaker), s3, dynamodb
        stub.assert_no_pending_responses()


def upload_settings(runtime: Runtime, body: bytes | dict[str, Any] | None = None) -> None:
    """Store the birds project's settings (the example unless ``body`` says otherwise) in the table."""
    write_project_settings(runtime.store, "birds", body)


def event(execution: ExecutionRef = FIRST, **trigger: Any) -> ResolveTriggerEvent:
    values = {"bucket": BUCKET, "key": MANIFEST_KEY, "version_id": VERSION, "sequencer": "617f08299329d189"}
    return ResolveTriggerEvent.model_validate({"trigger": {**values, **trigger}, "execution": execution})


def claims(dynamodb: Any) -> list[dict[str, Any]]:
    items = dynamodb.scan(TableName=TEST_SETTINGS.table_name)["Items"]
    return [item for item in items if item["pk"]["S"].startswith("TRIGGER#")]


# --- a valid upload ------------------------------------------------------------------------------


def test_a_valid_upload_becomes_a_latest_model_input_for_the_uploaded_manifest(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, _, _ = world
    upload_settings(runtime)

    job_input = resolve_trigger(event(), runtime)

    assert job_input.project == "birds"
    assert job_input.manifest == f"s3://{BUCKET}/{MANIFEST_KEY}"
    assert job_input.initial_model == "latest"
    assert job_input.when_no_model == "start_fresh"
    assert job_input.task.labels == ["Bird"]


def test_the_handler_returns_an_execution_input_create_job_accepts(world: tuple[Runtime, Any, Any]) -> None:
    runtime, _, _ = world
    upload_settings(runtime)
    payload = json.loads(json.dumps(event().model_dump(mode="json")))  # as the state machine sends it

    with override_runtime(runtime):
        output = handler(payload, LAMBDA_CONTEXT)

    job_input = parse_job_input(json.loads(json.dumps(output)))
    assert job_input.initial_model == "latest"
    assert job_input.when_no_model == "start_fresh"
    assert output["manifest"] == f"s3://{BUCKET}/{MANIFEST_KEY}"


def test_a_valid_upload_claims_its_object_version_for_the_execution(world: tuple[Runtime, Any, Any]) -> None:
    runtime, _, dynamodb = world
    upload_settings(runtime)

    resolve_trigger(event(), runtime)

    (claim,) = claims(dynamodb)
    assert {"pk": claim["pk"]["S"], "sk": claim["sk"]["S"]} == trigger_key(BUCKET, MANIFEST_KEY, VERSION)
    assert claim["execution_arn"]["S"] == FIRST.id


# --- what fails the execution, creating nothing ---------------------------------------------------


def test_a_project_without_settings_in_the_table_is_told_how_an_operator_writes_them(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, _, dynamodb = world

    with pytest.raises(InvalidJobInput) as caught:
        resolve_trigger(event(), runtime)

    message = str(caught.value)
    assert message.startswith("project settings of 'birds': none in the table")
    assert "labelchain project-settings put birds --file SETTINGS.json" in message
    assert "except project, manifest, manifest_version, initial_model, when_no_model" in message
    assert claims(dynamodb) == []


def test_a_project_json_uploaded_next_to_the_batches_changes_nothing(world: tuple[Runtime, Any, Any]) -> None:
    runtime, s3, _ = world
    upload_settings(runtime)
    hostile = example_settings(
        workforce={**example_settings()["workforce"], "workers_per_object": 9}, max_concurrent_tasks=5000
    )
    s3.put_object(Bucket=BUCKET, Key="incoming/birds/project.json", Body=json.dumps(hostile).encode())

    job_input = resolve_trigger(event(), runtime)

    assert job_input.workforce.workers_per_object == 3
    assert job_input.max_concurrent_tasks == 200


def test_the_job_labels_the_uploaded_version_of_the_manifest(world: tuple[Runtime, Any, Any]) -> None:
    runtime, _, _ = world
    upload_settings(runtime)

    job_input = resolve_trigger(event(), runtime)

    assert job_input.manifest_version == VERSION


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"task": {', "project settings of 'birds': not valid JSON ("),
        (b'["task", "workforce"]', "project settings of 'birds': expected a JSON object of job settings"),
        (
            example_settings(workforce={**example_settings()["workforce"], "workers_per_object": 10}),
            "project settings of 'birds': workforce.workers_per_object: ",
        ),
        (
            example_settings(manifest="s3://elsewhere/x.manifest"),
            "project settings of 'birds': manifest: set by the trigger",
        ),
        (
            example_settings(auto_labelling=True),
            "project settings of 'birds': auto_labelling: unknown field; remove it or check its spelling",
        ),
        (
            example_settings(task=None),
            "project settings of 'birds': task: Field required",
        ),
        (
            json.dumps(example_settings())
            .replace('"auto_labeling": true', '"tags": {}, "tags": {}')
            .encode(),
            "project settings of 'birds': key 'tags' appears twice in one JSON object",
        ),
        (
            example_settings(ceilings={"max_workers_per_object": 2}),
            "project settings of 'birds': workforce.workers_per_object: 3 exceeds the ceiling",
        ),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "workers-10",
        "reserved-manifest",
        "unknown-field",
        "no-task",
        "duplicate-key",
        "above-its-ceiling",
    ],
)
def test_invalid_stored_settings_fail_with_a_message_naming_the_field(
    world: tuple[Runtime, Any, Any], body: bytes | dict[str, Any], expected: str
) -> None:
    runtime, _, dynamodb = world
    upload_settings(runtime, body)

    with pytest.raises(InvalidJobInput) as caught:
        resolve_trigger(event(), runtime)

    assert str(caught.value).startswith(expected)
    assert claims(dynamodb) == []


def test_a_manifest_outside_the_data_bucket_is_refused(world: tuple[Runtime, Any, Any]) -> None:
    runtime, _, _ = world

    with pytest.raises(InvalidJobInput, match=r"^trigger\.bucket: manifests must be uploaded to the data"):
        resolve_trigger(event(bucket="someone-elses-bucket"), runtime)


def test_a_key_outside_the_incoming_layout_is_refused_before_reading_anything(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, _, _ = world

    with pytest.raises(
        InvalidJobInput, match=r"^trigger\.key: expected incoming/<project>/<batch>\.manifest"
    ):
        resolve_trigger(event(key="birds/batch-7.manifest"), runtime)


def test_a_malformed_payload_is_an_invalid_input_naming_the_missing_field(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, _, _ = world

    payload = {"trigger": {"bucket": BUCKET, "version_id": VERSION}, "execution": FIRST.model_dump()}

    with override_runtime(runtime), pytest.raises(InvalidJobInput, match=r"trigger\.key: Field required"):
        handler(payload, LAMBDA_CONTEXT)


# --- delivered twice, retried ---------------------------------------------------------------------


def test_a_second_delivery_of_the_same_upload_fails_naming_the_execution_that_owns_it(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, _, dynamodb = world
    upload_settings(runtime)
    resolve_trigger(event(FIRST), runtime)

    with pytest.raises(DuplicateTrigger) as caught:
        resolve_trigger(event(SECOND), runtime)

    message = str(caught.value)
    assert f"already started execution {FIRST.id}" in message
    assert f"this execution ({SECOND.id}) creates no job" in message
    assert [claim["execution_arn"]["S"] for claim in claims(dynamodb)] == [FIRST.id]


def test_the_same_execution_retried_resolves_the_same_input_again(world: tuple[Runtime, Any, Any]) -> None:
    runtime, _, dynamodb = world
    upload_settings(runtime)
    first = resolve_trigger(event(FIRST), runtime)

    again = resolve_trigger(event(FIRST), runtime)

    assert again == first
    assert len(claims(dynamodb)) == 1


def test_a_new_version_of_the_same_key_is_a_new_upload(world: tuple[Runtime, Any, Any]) -> None:
    runtime, _, dynamodb = world
    upload_settings(runtime)
    resolve_trigger(event(FIRST), runtime)

    resolve_trigger(event(SECOND, version_id="3HL4kqtJvjVBH40Nrjfkd", sequencer="617f0829932a0000"), runtime)

    assert sorted(claim["execution_arn"]["S"] for claim in claims(dynamodb)) == [FIRST.id, SECOND.id]


def test_uploads_to_an_unversioned_bucket_are_told_apart_by_their_sequencer(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, _, dynamodb = world
    upload_settings(runtime)
    resolve_trigger(event(FIRST, version_id="", sequencer="617f08299329d189"), runtime)

    resolve_trigger(event(SECOND, version_id="", sequencer="617f0829932a0000"), runtime)
    with pytest.raises(DuplicateTrigger):
        resolve_trigger(event(ExecutionRef(id=f"{SECOND.id}-3", name="third"), version_id=""), runtime)

    assert {claim["sk"]["S"] for claim in claims(dynamodb)} == {
        "VERSION#sequencer:617f08299329d189",
        "VERSION#sequencer:617f0829932a0000",
    }
