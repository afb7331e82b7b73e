"""Specification of PrepareDataset: the parts it writes, the jobs it plans, what it refuses before
writing anything, and that a split failing at any point leaves no part and no upload behind.

moto gives S3 (with real multipart rules: parts but the last must be at least 5 MiB) and DynamoDB.
SageMaker is a Stubber with nothing queued: PrepareDataset must not call it at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from labelchain.adapters.s3 import MULTIPART_PART_SIZE
from labelchain.core.experiment import child_execution_name
from labelchain.core.job_input import parse_job_input
from labelchain.core.s3_layout import EXPERIMENT_PARTS_PREFIX, experiment_parts_prefix
from labelchain.errors import InvalidJobInput, ManifestNotFound, TransientServiceError
from labelchain.handlers.prepare_dataset import handler
from labelchain.handlers.runtime import override_runtime
from labelchain.services.events import ExecutionRef
from labelchain.services.experiment_events import DatasetPart, PrepareDatasetEvent, PrepareDatasetResult
from labelchain.services.prepare_dataset import prepare_dataset
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    FixedClock,
    make_runtime,
    manifest_lines,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "experiment-birds.json"
DATA_BUCKET = TEST_SETTINGS.data_bucket
MANIFEST_KEY = "birds/birds-2500.manifest"
MANIFEST_URI = f"s3://{DATA_BUCKET}/{MANIFEST_KEY}"
EXECUTION = ExecutionRef(
    id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Experiment:birds-run-1", name="birds-run-1"
)
PARTS_PREFIX = experiment_parts_prefix("birds-experiment", "birds-run-1")
PART_URIS = [f"s3://{DATA_BUCKET}/{PARTS_PREFIX}part-{part}-of-2.manifest" for part in (1, 2)]


@dataclass
class World:
    runtime: Runtime
    s3: Any
    requests: list[str] = field(default_factory=list)

    def calls(self, operation: str) -> int:
        return self.requests.count(operation)

    def put_manifest(self, lines: list[str], key: str = MANIFEST_KEY) -> None:
        """Set up the input manifest (the set-up's own request is not counted)."""
        self.s3.put_object(Bucket=DATA_BUCKET, Key=key, Body="".join(f"{line}\n" for line in lines).encode())
        self.requests.clear()

    def part_lines(self, uri: str) -> list[str]:
        key = uri.removeprefix(f"s3://{DATA_BUCKET}/")
        body: bytes = self.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read()
        return body.decode().splitlines()

    def keys_under_parts_prefix(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=DATA_BUCKET, Prefix=EXPERIMENT_PARTS_PREFIX)
        return [item["Key"] for item in listed.get("Contents", [])]

    def open_uploads(self) -> list[str]:
        return [
            upload["Key"] for upload in self.s3.list_multipart_uploads(Bucket=DATA_BUCKET).get("Uploads", [])
        ]

    def fail(self, operation: str, on_call: int, code: str = "InternalError", status: int = 500) -> None:
        """Make the ``on_call``-th call of an S3 operation fail as S3 would."""
        seen = 0

        def maybe_fail(**_: Any) -> None:
            nonlocal seen
            seen += 1
            if seen == on_call:
                raise ClientError(
                    {
                        "Error": {"Code": code, "Message": "injected"},
                        "ResponseMetadata": {"HTTPStatusCode": status},
                    },
                    operation,
                )

        self.s3.meta.events.register(f"before-call.s3.{operation}", maybe_fail, unique_id="test-failure")


@pytest.fixture
def world(aws: tuple[Any, Any, Any]) -> Iterator[World]:
    s3, dynamodb, sagemaker = aws
    for upload in s3.list_multipart_uploads(Bucket=DATA_BUCKET).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=DATA_BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    for item in s3.list_objects_v2(Bucket=DATA_BUCKET).get("Contents", []):
        s3.delete_object(Bucket=DATA_BUCKET, Key=item["Key"])
    requests: list[str] = []

    def record_request(model: Any, **_: Any) -> None:
        requests.append(model.name)

    s3.meta.events.register("provide-client-params.s3.*", record_request)
    runtime = make_runtime(sagemaker, FixedClock(), s3=s3, dynamodb=dynamodb)
    try:
        with Stubber(sagemaker) as stub:  # nothing queued: any SageMaker call fails the test
            world = World(runtime, s3, requests)
            world.put_manifest(manifest_lines(2500))
            yield world
            stub.assert_no_pending_responses()
    finally:
        s3.meta.events.unregister("provide-client-params.s3.*", record_request)
        for operation in ("UploadPart", "PutObject", "CompleteMultipartUpload"):
            s3.meta.events.unregister(f"before-call.s3.{operation}", unique_id="test-failure")


def experiment_input(**changes: Any) -> dict[str, Any]:
    """The bird experiment pointed at the test manifest, with top-level changes."""
    raw = json.loads(EXAMPLE.read_text())
    return {**raw, "manifest": MANIFEST_URI, **changes}


def prepare(world: World, raw: dict[str, Any] | None = None) -> PrepareDatasetResult:
    event = PrepareDatasetEvent(input=experiment_input() if raw is None else raw, execution=EXECUTION)
    return prepare_dataset(event, world.runtime)


def refused(world: World, raw: dict[str, Any] | None = None) -> str:
    with pytest.raises(InvalidJobInput) as refusal:
        prepare(world, raw)
    return str(refusal.value)


def long_manifest_lines(count: int, duplicate_of: int | None = None) -> list[str]:
    """Lines of ~170 bytes, so 60,000 of them (one part of 120,000) pass the 8 MiB part size."""
    folder = "open-images/train/" + "birds-of-the-world/" * 6
    lines = [json.dumps({"source-ref": f"s3://{DATA_BUCKET}/{folder}{n:06d}.jpg"}) for n in range(count)]
    if duplicate_of is not None:
        lines.append(lines[duplicate_of])
    return lines


# --- the bird experiment ----------------------------------------------------------------------------


def test_the_bird_experiment_is_split_into_two_parts_of_1250(world: World) -> None:
    result = prepare(world)

    assert result.project == "birds-experiment"
    assert result.parts == [
        DatasetPart(uri=PART_URIS[0], objects=1250),
        DatasetPart(uri=PART_URIS[1], objects=1250),
    ]


def test_the_parts_hold_exactly_the_first_and_the_second_half_of_the_manifest(world: World) -> None:
    lines = manifest_lines(2500)

    result = prepare(world)

    assert [world.part_lines(part.uri) for part in result.parts] == [lines[:1250], lines[1250:]]


def test_the_three_planned_inputs_are_valid_labeling_job_inputs_on_their_parts(world: World) -> None:
    result = prepare(world)

    inputs = {role: parse_job_input(job.input) for role, job in result.jobs.items()}

    assert list(inputs) == ["initial", "pretrained", "control"]
    assert {role: job_input.manifest for role, job_input in inputs.items()} == {
        "initial": PART_URIS[0],
        "pretrained": PART_URIS[1],
        "control": PART_URIS[1],
    }
    assert {job_input.initial_model for job_input in inputs.values()} == {"none"}


def test_the_planned_jobs_are_named_after_the_experiment_execution(world: World) -> None:
    result = prepare(world)

    assert {role: job.execution_name for role, job in result.jobs.items()} == {
        role: child_execution_name(EXECUTION.name, EXECUTION.id, role)
        for role in ("initial", "pretrained", "control")
    }


def test_the_planned_jobs_run_the_experiments_job_template(world: World) -> None:
    template = experiment_input()["job"]

    result = prepare(world)

    for job in result.jobs.values():
        assert job.input["project"] == "birds-experiment"
        assert job.input["task"]["labels"] == template["task"]["labels"]
        assert job.input["workforce"] == template["workforce"]
        assert job.input["max_concurrent_tasks"] == template["max_concurrent_tasks"]


def test_small_parts_are_written_with_one_put_each(world: World) -> None:
    prepare(world)

    assert (world.calls("PutObject"), world.calls("CreateMultipartUpload")) == (2, 0)


def test_preparing_a_dataset_reads_the_manifest_twice_and_calls_no_sagemaker_api(world: World) -> None:
    prepare(world)

    assert world.calls("GetObject") == 2  # the fixture's Stubber fails the test on any SageMaker call


def test_a_shuffled_split_writes_every_object_once_in_parts_of_1250(world: World) -> None:
    lines = manifest_lines(2500)

    result = prepare(world, experiment_input(split={"order": "shuffled", "seed": 2019}))

    parts = [world.part_lines(part.uri) for part in result.parts]
    assert [len(part) for part in parts] == [1250, 1250]
    assert sorted(parts[0] + parts[1]) == sorted(lines)
    assert parts[0] != lines[:1250]


def test_a_shuffled_split_is_the_same_for_the_same_seed(world: World) -> None:
    shuffled = experiment_input(split={"order": "shuffled", "seed": 2019})
    first = [world.part_lines(part.uri) for part in prepare(world, shuffled).parts]

    again = [world.part_lines(part.uri) for part in prepare(world, shuffled).parts]

    assert again == first


def test_the_handler_returns_the_result_as_json(world: World) -> None:
    class LambdaContext:
        function_name = "labelchain-prepare-dataset"
        memory_limit_in_mb = 1024
        invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:labelchain-prepare-dataset"
        aws_request_id = "00000000-0000-0000-0000-000000000000"

    event = {"input": experiment_input(), "execution": EXECUTION.model_dump()}
    with override_runtime(world.runtime):
        output = handler(event, LambdaContext())  # type: ignore[arg-type]

    assert output["parts"] == [{"uri": PART_URIS[0], "objects": 1250}, {"uri": PART_URIS[1], "objects": 1250}]
    assert json.loads(json.dumps(output)) == output


# --- refused before anything is written -------------------------------------------------------------


def test_a_manifest_too_small_for_two_auto_labeled_parts_is_refused_before_writing(world: World) -> None:
    world.put_manifest(manifest_lines(2499))

    message = refused(world)

    assert message.startswith("manifest: automated data labeling needs at least 1,250 objects per job; ")
    assert "2 parts of 1,250 and 1,249 objects" in message
    assert world.keys_under_parts_prefix() == []
    assert (world.calls("PutObject"), world.calls("CreateMultipartUpload")) == (0, 0)


def test_a_part_larger_than_the_task_types_auto_labeling_limit_is_refused_before_writing(
    world: World,
) -> None:
    world.put_manifest(manifest_lines(40_002))
    raw = experiment_input()
    raw["job"]["task"] = {
        **raw["job"]["task"],
        "type": "semantic_segmentation",
        "label_attribute": "category-ref",
    }

    message = refused(world, raw)

    assert "at most 20,000 objects per job for semantic_segmentation" in message
    assert "2 parts of 20,001 and 20,001 objects" in message
    assert world.keys_under_parts_prefix() == []


def test_a_manifest_outside_the_data_bucket_is_refused_before_it_is_read(world: World) -> None:
    message = refused(world, experiment_input(manifest="s3://someone-elses-bucket/birds.manifest"))

    assert message == (
        f"manifest: must be in the data bucket {DATA_BUCKET!r} (the Ground Truth role reads only that "
        "bucket), got bucket 'someone-elses-bucket'"
    )
    assert world.requests == []


def test_an_invalid_experiment_input_is_refused_before_the_manifest_is_read(world: World) -> None:
    raw = experiment_input(split={"order": "shuffled"})

    message = refused(world, raw)

    assert "seed: required when order is 'shuffled'" in message
    assert world.requests == []


@pytest.mark.parametrize("name", [".", ".."])
def test_an_execution_named_dot_or_dot_dot_is_refused_before_anything_is_written(
    world: World, name: str
) -> None:
    world.put_manifest(manifest_lines(2500))
    event = PrepareDatasetEvent(
        input=experiment_input(), execution=EXECUTION.model_copy(update={"name": name})
    )

    with pytest.raises(InvalidJobInput, match=r"^execution name: .* cannot name an experiment"):
        prepare_dataset(event, world.runtime)
    assert world.keys_under_parts_prefix() == []


def test_a_missing_manifest_is_not_found(world: World) -> None:
    with pytest.raises(
        ManifestNotFound, match=re.escape(f"manifest: s3://{DATA_BUCKET}/birds/none.manifest cannot be read")
    ):
        prepare(world, experiment_input(manifest=f"s3://{DATA_BUCKET}/birds/none.manifest"))


def test_bad_lines_are_refused_naming_the_manifest_and_the_lines(world: World) -> None:
    lines = manifest_lines(2500)
    lines[9] = '{"source-ref": "https://example.com/bird.jpg"}'
    lines[99] = "[]"
    world.put_manifest(lines)

    message = refused(world)

    assert message == (
        f"manifest: 2 bad line(s) in {MANIFEST_URI}; first: line 10: 'source-ref' must be an "
        "s3://bucket/key URI ('https://example.com/bird.jpg'); line 100: expected a JSON object, got list"
    )
    assert world.keys_under_parts_prefix() == []


def test_duplicate_objects_are_refused_naming_the_lines_and_leave_no_part(world: World) -> None:
    lines = manifest_lines(2500)
    world.put_manifest([*lines, lines[0], lines[7]])

    message = refused(world)

    assert message.startswith(
        f"manifest: 2 duplicate object(s) (each object is labeled once) in {MANIFEST_URI}; "
    )
    assert "line 2501: repeats line 1 " in message
    assert "line 2502: repeats line 8 " in message
    assert world.keys_under_parts_prefix() == []


# --- large parts and failures -----------------------------------------------------------------------


@pytest.fixture
def large_manifest(world: World) -> list[str]:
    lines = long_manifest_lines(120_000)
    world.put_manifest(lines)
    assert len("\n".join(lines[:60_000])) > MULTIPART_PART_SIZE
    return lines


def test_a_part_larger_than_the_part_size_goes_through_multipart_upload(
    world: World, large_manifest: list[str]
) -> None:
    prepare(world)

    assert world.calls("CreateMultipartUpload") == 2
    assert world.calls("UploadPart") == 4  # per part: one full 8 MiB part and the rest
    assert world.calls("CompleteMultipartUpload") == 2


def test_a_multipart_part_round_trips(world: World, large_manifest: list[str]) -> None:
    result = prepare(world)

    assert [world.part_lines(part.uri) for part in result.parts] == [
        large_manifest[:60_000],
        large_manifest[60_000:],
    ]


def test_duplicates_found_after_parts_were_uploaded_abort_every_upload(world: World) -> None:
    world.put_manifest(long_manifest_lines(120_000, duplicate_of=5))

    message = refused(world)

    assert "1 duplicate object(s)" in message
    assert world.calls("UploadPart") >= 2
    assert world.calls("AbortMultipartUpload") == 2
    assert (world.keys_under_parts_prefix(), world.open_uploads()) == ([], [])


def test_an_s3_failure_mid_upload_aborts_every_upload_and_is_transient(
    world: World, large_manifest: list[str]
) -> None:
    world.fail("UploadPart", on_call=2)

    with pytest.raises(TransientServiceError, match="S3 UploadPart refused transiently"):
        prepare(world)

    assert (world.keys_under_parts_prefix(), world.open_uploads()) == ([], [])


def test_a_failure_to_complete_the_second_part_deletes_the_first(
    world: World, large_manifest: list[str]
) -> None:
    world.fail("CompleteMultipartUpload", on_call=2, code="AccessDenied", status=403)

    with pytest.raises(ClientError, match="AccessDenied"):
        prepare(world)

    assert world.calls("DeleteObject") == 1
    assert (world.keys_under_parts_prefix(), world.open_uploads()) == ([], [])


def test_a_failure_to_write_a_small_second_part_deletes_the_first(world: World) -> None:
    world.fail("PutObject", on_call=2, code="SlowDown", status=503)

    with pytest.raises(TransientServiceError, match="S3 PutObject refused transiently"):
        prepare(world)

    assert world.keys_under_parts_prefix() == []


def test_a_manifest_replaced_between_the_two_reads_is_a_transient_error(world: World) -> None:
    replaced = False

    def replace_after_first_read(**_: Any) -> None:
        nonlocal replaced
        if not replaced:
            replaced = True
            world.put_manifest(manifest_lines(2600))

    world.s3.meta.events.register("after-call.s3.GetObject", replace_after_first_read, unique_id="replace")
    try:
        with pytest.raises(TransientServiceError, match="was replaced while it was being split"):
            prepare(world)
    finally:
        world.s3.meta.events.unregister("after-call.s3.GetObject", unique_id="replace")

    assert world.keys_under_parts_prefix() == []


# --- the Experiment state's 256 KiB limit -------------------------------------------------------------


def with_instructions(full: str, short: str) -> dict[str, Any]:
    raw = experiment_input()
    task = {**raw["job"]["task"], "instructions": {"short": short, "full": full}}
    return {**raw, "job": {**raw["job"], "task": task}}


def test_job_settings_too_large_for_the_experiment_state_are_refused_before_the_manifest_is_read(
    world: World,
) -> None:
    # 20,000 CJK characters are 60,000 UTF-8 bytes: four copies in the state pass 256 KiB.
    message = refused(world, with_instructions(full="鳥" * 20_000, short="Draw a box around each bird."))

    assert message.startswith("job: the experiment carries its job settings in its state four times")
    assert "256 KiB" in message
    assert "task.instructions" in message
    assert world.requests == []


def test_the_longest_plain_text_instructions_still_fit_the_experiment_state(world: World) -> None:
    result = prepare(world, with_instructions(full="b" * 20_000, short="s" * 2_000))

    assert len(result.model_dump_json().encode()) < 256 * 1024
    assert [part.objects for part in result.parts] == [1250, 1250]


def test_a_split_into_three_parts_keeps_the_third_for_later_batches(world: World) -> None:
    world.put_manifest(manifest_lines(3750))

    result = prepare(world, experiment_input(split={"order": "file", "parts": 3}))

    assert [part.objects for part in result.parts] == [1250, 1250, 1250]
    assert result.parts[2].uri.endswith("part-3-of-3.manifest")
    planned = {job.input["manifest"] for job in result.jobs.values()}
    assert planned == {result.parts[0].uri, result.parts[1].uri}  # part 3 is for later batches
