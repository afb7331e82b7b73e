"""Specification of ResolveTrigger: a dropped manifest plus its project's project.json becomes exactly
one LabelingJob input, validated like console input, and a twice-delivered upload starts one job.

moto gives S3 and DynamoDB; ResolveTrigger makes no SageMaker call, so the SageMaker client is a
Stubber with nothing queued (any call would fail the test).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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

PROJECT_SETTINGS = Path(__file__).resolve().parents[2] / "examples" / "project.json"
BUCKET = TEST_SETTINGS.data_bucket
MANIFEST_KEY = "incoming/birds/batch-7.manifest"
SETTINGS_KEY = "incoming/birds/project.json"
VERSION = "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
FIRST = ExecutionRef(id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:first", name="first")
SECOND = ExecutionRef(id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:second", name="second")


class FakeLambdaContext:
    function_name = "ResolveTrigger"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ResolveTrigger"
    aws_request_id = "request-1"


@pytest.fixture
def world() -> Iterator[tuple[Runtime, Any, Any]]:
    with moto_account() as (s3, dynamodb, sagemaker), Stubber(sagemaker) as stub:
        yield make_runtime(sagemaker), s3, dynamodb
        stub.assert_no_pending_responses()


def upload_settings(s3: Any, body: bytes | dict[str, Any] | None = None) -> None:
    """Put project.json (the example unless ``body`` says otherwise) in the data bucket."""
    data = PROJECT_SETTINGS.read_bytes() if body is None else body
    if isinstance(data, dict):
        data = json.dumps(data).encode()
    s3.put_object(Bucket=BUCKET, Key=SETTINGS_KEY, Body=data)


def example_settings(**changes: Any) -> dict[str, Any]:
    return {**json.loads(PROJECT_SETTINGS.read_text()), **changes}


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
    runtime, s3, _ = world
    upload_settings(s3)

    job_input = resolve_trigger(event(), runtime)

    assert job_input.project == "birds"
    assert job_input.manifest == f"s3://{BUCKET}/{MANIFEST_KEY}"
    assert job_input.initial_model == "latest"
    assert job_input.when_no_model == "start_fresh"
    assert job_input.task.labels == ["Bird"]


def test_the_handler_returns_an_execution_input_create_job_accepts(world: tuple[Runtime, Any, Any]) -> None:
    runtime, s3, _ = world
    upload_settings(s3)
    payload = json.loads(json.dumps(event().model_dump(mode="json")))  # as the state machine sends it

    with override_runtime(runtime):
        output = handler(payload, FakeLambdaContext())

    job_input = parse_job_input(json.loads(json.dumps(output)))
    assert job_input.initial_model == "latest"
    assert job_input.when_no_model == "start_fresh"
    assert output["manifest"] == f"s3://{BUCKET}/{MANIFEST_KEY}"


def test_a_valid_upload_claims_its_object_version_for_the_execution(world: tuple[Runtime, Any, Any]) -> None:
    runtime, s3, dynamodb = world
    upload_settings(s3)

    resolve_trigger(event(), runtime)

    (claim,) = claims(dynamodb)
    assert {"pk": claim["pk"]["S"], "sk": claim["sk"]["S"]} == trigger_key(BUCKET, MANIFEST_KEY, VERSION)
    assert claim["execution_arn"]["S"] == FIRST.id


# --- what fails the execution, creating nothing ---------------------------------------------------


def test_a_missing_project_settings_file_is_named_with_what_it_must_hold(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, _, dynamodb = world

    with pytest.raises(InvalidJobInput) as caught:
        resolve_trigger(event(), runtime)

    message = str(caught.value)
    assert message.startswith(f"project.json: s3://{BUCKET}/{SETTINGS_KEY} cannot be read (NoSuchKey)")
    assert "every LabelingJob input field except project, manifest, initial_model, when_no_model" in message
    assert "docs/TRIGGERS.md" in message
    assert claims(dynamodb) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"task": {', "project.json: not valid JSON ("),
        (b'["task", "workforce"]', "project.json: expected a JSON object of job settings, got list"),
        (
            example_settings(
                workforce={"kind": "public", "price_per_task_usd": "0.036", "workers_per_object": 10}
            ),
            "project.json: workforce.workers_per_object: Input should be less than or equal to 9",
        ),
        (
            example_settings(manifest="s3://elsewhere/x.manifest"),
            "project.json: manifest: set by the trigger",
        ),
        (
            example_settings(auto_labelling=True),
            "project.json: auto_labelling: unknown field; remove it or check its spelling",
        ),
        (b"{" + b" " * (256 * 1024) + b"}", "project.json: larger than 256 KiB"),
        (
            {key: value for key, value in example_settings().items() if key != "task"},
            "project.json: task: Field required",
        ),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "workers-10",
        "reserved-manifest",
        "unknown-field",
        "too-large",
        "no-task",
    ],
)
def test_an_invalid_project_settings_file_fails_with_a_message_naming_the_field(
    world: tuple[Runtime, Any, Any], body: bytes | dict[str, Any], expected: str
) -> None:
    runtime, s3, dynamodb = world
    upload_settings(s3, body)

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
        handler(payload, FakeLambdaContext())


# --- delivered twice, retried ---------------------------------------------------------------------


def test_a_second_delivery_of_the_same_upload_fails_naming_the_execution_that_owns_it(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, s3, dynamodb = world
    upload_settings(s3)
    resolve_trigger(event(FIRST), runtime)

    with pytest.raises(DuplicateTrigger) as caught:
        resolve_trigger(event(SECOND), runtime)

    message = str(caught.value)
    assert f"already started execution {FIRST.id}" in message
    assert f"this execution ({SECOND.id}) creates no job" in message
    assert [claim["execution_arn"]["S"] for claim in claims(dynamodb)] == [FIRST.id]


def test_the_same_execution_retried_resolves_the_same_input_again(world: tuple[Runtime, Any, Any]) -> None:
    runtime, s3, dynamodb = world
    upload_settings(s3)
    first = resolve_trigger(event(FIRST), runtime)

    again = resolve_trigger(event(FIRST), runtime)

    assert again == first
    assert len(claims(dynamodb)) == 1


def test_a_new_version_of_the_same_key_is_a_new_upload(world: tuple[Runtime, Any, Any]) -> None:
    runtime, s3, dynamodb = world
    upload_settings(s3)
    resolve_trigger(event(FIRST), runtime)

    resolve_trigger(event(SECOND, version_id="3HL4kqtJvjVBH40Nrjfkd", sequencer="617f0829932a0000"), runtime)

    assert sorted(claim["execution_arn"]["S"] for claim in claims(dynamodb)) == [FIRST.id, SECOND.id]


def test_uploads_to_an_unversioned_bucket_are_told_apart_by_their_sequencer(
    world: tuple[Runtime, Any, Any],
) -> None:
    runtime, s3, dynamodb = world
    upload_settings(s3)
    resolve_trigger(event(FIRST, version_id="", sequencer="617f08299329d189"), runtime)

    resolve_trigger(event(SECOND, version_id="", sequencer="617f0829932a0000"), runtime)
    with pytest.raises(DuplicateTrigger):
        resolve_trigger(event(ExecutionRef(id=f"{SECOND.id}-3", name="third"), version_id=""), runtime)

    assert {claim["sk"]["S"] for claim in claims(dynamodb)} == {
        "VERSION#sequencer:617f08299329d189",
        "VERSION#sequencer:617f0829932a0000",
    }
