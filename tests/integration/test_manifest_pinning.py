"""Specification of what a job labels: exactly the manifest version CreateJob validated, copied to the job's
own key, with every line's reach and the manifest's size limited.

The line rules are pure (``core.manifest``); the pinning runs CreateJob on moto S3/DynamoDB with a
versioned data bucket (as the stack creates it) and SageMaker behind a botocore Stubber.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest
from botocore.stub import Stubber

from labelchain.adapters.s3 import ObjectHead, ObjectStore
from labelchain.core.json_stream import nesting_exceeds
from labelchain.core.manifest import (
    MAX_JSON_DEPTH,
    ManifestDigest,
    ManifestLimitExceeded,
    SourceRefScope,
    check_manifest_size,
    line_problem,
    scan_manifest,
)
from labelchain.core.s3_layout import LABELCHAIN_PREFIX, PINNED_MANIFEST_NAME, job_file_key, s3_uri
from labelchain.errors import (
    InvalidJobInput,
    LabelingJobQuotaExceeded,
    ManifestNotFound,
    TransientServiceError,
)
from labelchain.services.create_job import create_labeling_job
from labelchain.services.events import CreateJobEvent, ExecutionRef
from labelchain.services.runtime import Runtime
from labelchain.settings import Settings
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import (
    FixedClock,
    empty_account,
    make_runtime,
    manifest_lines,
    moto_account,
    small_bird_input,
)

DATA = TEST_SETTINGS.data_bucket
BUCKET_SCOPE = SourceRefScope.for_job(DATA, "birds", "bucket")
PROJECT_SCOPE = SourceRefScope.for_job(DATA, "birds", "project")
GOOD_LINE = f'{{"source-ref": "s3://{DATA}/incoming/birds/images/ok.jpg"}}'.encode()


def problems_of(
    line: bytes, scope: SourceRefScope | None = BUCKET_SCOPE, field: str = "source-ref"
) -> list[str]:
    """The problems a scan reports for ``line`` as the second line of a manifest."""
    summary = scan_manifest([GOOD_LINE + b"\n" + line + b"\n"], field, scope=scope)
    assert all(problem.line == 2 for problem in summary.problems)
    return [problem.problem for problem in summary.problems]


# --- what a line may point at -----------------------------------------------------------------------


def ref(key: str, bucket: str = DATA) -> bytes:
    return json.dumps({"source-ref": f"s3://{bucket}/{key}"}).encode()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (ref("birds/a.jpg", bucket="someone-elses-bucket"), "must be in the data bucket 'labelchain-data'"),
        (ref("birds/a.jpg", bucket=TEST_SETTINGS.output_bucket), "got bucket 'labelchain-output'"),
        (ref("labelchain/birds/other-job/input.manifest"), "reserved for LabelChain's own files"),
        (ref("birds/images/"), "must name an object, not a folder"),
        (ref("birds//a.jpg"), "empty path segment"),
        (ref("/birds/a.jpg"), "empty path segment"),
        (ref("incoming/birds/../other/a.jpg"), "'.' or '..' path segment"),
        (ref("birds/./a.jpg"), "'.' or '..' path segment"),
        (ref("birds%2F..%2Flabelchain/a.jpg"), "holds '%'"),
        (ref("birds\\a.jpg"), "holds '\\\\'"),
        (ref("birds/a.jpg#fragment"), "holds '#'"),
        (ref("birds/a\u200b.jpg"), "holds '\\u200b'"),
        (ref("birds/gpj.\u202ea"), "holds '\\u202e'"),
        (ref("k" * 1025), "longer than S3's 1024 bytes"),
    ],
    ids=[
        "another-bucket",
        "output-bucket",
        "reserved-prefix",
        "prefix-not-object",
        "double-slash",
        "leading-slash",
        "dot-dot",
        "dot",
        "percent-encoded",
        "backslash",
        "fragment",
        "zero-width-space",
        "bidi-override",
        "key-too-long",
    ],
)
def test_a_source_ref_outside_what_a_job_may_show_is_refused_with_its_line(line: bytes, says: str) -> None:
    (problem,) = problems_of(line)

    assert says in problem


def test_project_scope_keeps_source_refs_under_the_projects_own_prefix() -> None:
    (problem,) = problems_of(ref("incoming/fish/a.jpg"), scope=PROJECT_SCOPE)

    assert "must be under s3://labelchain-data/incoming/birds/ (source_ref_scope is 'project')" in problem
    assert problems_of(ref("incoming/birds/2026/a.jpg"), scope=PROJECT_SCOPE) == []


@pytest.mark.parametrize(
    "key",
    ["birds/Vögel im Park (1).jpg", "birds/a+b=c,d;e@f&g$h!i'j*k.jpg", "birds/.hidden.jpg", "birds/a..b.jpg"],
    ids=["letters-spaces-parentheses", "s3-special-handling-characters", "dot-file", "dots-inside-a-name"],
)
def test_ordinary_keys_are_accepted(key: str) -> None:
    assert problems_of(ref(key)) == []


def test_a_line_with_both_source_and_source_ref_is_refused_for_either_task_type() -> None:
    both = json.dumps({"source-ref": f"s3://{DATA}/birds/a.jpg", "source": "a bird"}).encode()

    assert "holds both 'source-ref' and 'source'" in problems_of(both)[0]
    text = scan_manifest([b'{"source": "ok"}\n' + both], "source").problems
    assert [(p.line, "holds both" in p.problem) for p in text] == [(2, True)]


def test_a_key_repeated_in_one_line_is_refused_not_last_wins() -> None:
    twice = f'{{"source-ref": "s3://{DATA}/birds/a.jpg", "source-ref": "s3://{DATA}/labelchain/x"}}'.encode()

    (problem,) = problems_of(twice)

    assert "key 'source-ref' appears twice" in problem


# --- limits -----------------------------------------------------------------------------------------


def test_a_deeply_nested_line_is_refused_before_the_parser_recurses() -> None:
    (problem,) = problems_of(b"[" * 1_000_000)

    assert f"JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels" in problem


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    line = json.dumps({"source-ref": f"s3://{DATA}/birds/a.jpg", "note": '[[[[{{{{\\"[[[[' * 10}).encode()

    assert not nesting_exceeds(line, MAX_JSON_DEPTH)
    assert nesting_exceeds(b'{"a": ' + b"[" * 17 + b"]" * 17 + b"}", MAX_JSON_DEPTH)
    assert not nesting_exceeds(b'{"a": ' + b"[" * 15 + b"]" * 15 + b"}", MAX_JSON_DEPTH)


def test_the_scan_stops_at_the_first_line_past_the_object_limit() -> None:
    read: list[int] = []

    def chunks() -> Iterator[bytes]:
        for number, line in enumerate(manifest_lines(10), start=1):
            read.append(number)
            yield line.encode() + b"\n"

    with pytest.raises(ManifestLimitExceeded) as refused:
        scan_manifest(chunks(), "source-ref", max_objects=3)

    assert refused.value.line == 4
    assert "more than the limit of 3 objects (line 4 is object 4)" in str(refused.value)
    assert read == [1, 2, 3, 4]


def test_the_digest_is_the_sha256_of_exactly_the_bytes_read_and_caps_the_size() -> None:
    digest = ManifestDigest(max_bytes=10)
    assert b"".join(digest.feed([b"abc", b"", b"defg"])) == b"abcdefg"
    assert (digest.sha256, digest.size) == (hashlib.sha256(b"abcdefg").hexdigest(), 7)

    with pytest.raises(ManifestLimitExceeded, match="larger than the limit of 10 bytes"):
        list(ManifestDigest(max_bytes=10).feed([b"abcdef", b"ghijk"]))
    with pytest.raises(ManifestLimitExceeded, match="is 2,147,483,648 bytes, larger than the limit"):
        check_manifest_size(2 * 1024**3)


# --- CreateJob labels the version it validated ------------------------------------------------------

EXECUTION = ExecutionRef(id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:pin", name="pin")
MANIFEST_KEY = "incoming/birds/batch-1.manifest"
MANIFEST_URI = f"s3://{DATA}/{MANIFEST_KEY}"
VALIDATED = ("\n".join(manifest_lines(1250)) + "\n").encode()
NEWER = ("\n".join(manifest_lines(1300, prefix="birds/newer")) + "\n").encode()


@dataclass
class World:
    runtime: Runtime
    s3: Any
    stub: Stubber
    created: list[dict[str, Any]]

    def upload(self, body: bytes, key: str = MANIFEST_KEY) -> str:
        return str(self.s3.put_object(Bucket=DATA, Key=key, Body=body)["VersionId"])

    def start(self, **changes: Any) -> None:
        raw = small_bird_input(changes.pop("manifest", MANIFEST_URI), **changes)
        create_labeling_job(CreateJobEvent(input=raw, execution=EXECUTION), self.runtime)

    def job_files(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=DATA, Prefix=LABELCHAIN_PREFIX).get("Contents", [])
        return [item["Key"] for item in listed]

    def labeled_manifest(self) -> tuple[bytes, dict[str, Any]]:
        (request,) = self.created
        uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        response = self.s3.get_object(Bucket=bucket, Key=key)
        return response["Body"].read(), response

    def record(self) -> Any:
        (record,) = self.runtime.store.jobs_of_project("birds")
        return record


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[Any, Any, Any]]:
    with moto_account() as (s3, dynamodb, sagemaker):
        s3.put_bucket_versioning(Bucket=DATA, VersioningConfiguration={"Status": "Enabled"})
        yield s3, dynamodb, sagemaker


@contextmanager
def make_world(aws: tuple[Any, Any, Any], settings: Settings = TEST_SETTINGS) -> Iterator[World]:
    s3, dynamodb, sagemaker = aws
    empty_account(s3, dynamodb)
    created: list[dict[str, Any]] = []

    def remember(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "CreateLabelingJob":
            created.append(params)

    sagemaker.meta.events.register("provide-client-params.sagemaker.*", remember)
    runtime = make_runtime(sagemaker, FixedClock(), s3=s3, dynamodb=dynamodb, settings=settings)
    try:
        with Stubber(sagemaker) as stub:
            yield World(runtime, s3, stub, created)
    finally:
        sagemaker.meta.events.unregister("provide-client-params.sagemaker.*", remember)


@pytest.fixture
def world(aws: tuple[Any, Any, Any]) -> Iterator[World]:
    with make_world(aws) as world:
        yield world


def sagemaker_creates(world: World) -> None:
    world.stub.add_response(
        "create_labeling_job", {"LabelingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:x"}
    )


def test_ground_truth_gets_the_jobs_own_copy_of_the_validated_version_and_the_record_pins_it(
    world: World,
) -> None:
    version = world.upload(VALIDATED)
    sagemaker_creates(world)

    world.start()

    body, copy = world.labeled_manifest()
    record = world.record()
    assert body == VALIDATED
    assert record.labeled_manifest_uri == s3_uri(
        DATA, job_file_key("birds", record.job_name, PINNED_MANIFEST_NAME)
    )
    assert (record.manifest_uri, record.manifest_version_id) == (MANIFEST_URI, version)
    assert record.manifest_sha256 == hashlib.sha256(VALIDATED).hexdigest()
    assert (copy["ServerSideEncryption"], copy["SSEKMSKeyId"]) == ("aws:kms", TEST_SETTINGS.kms_key_arn)


def test_the_input_version_is_labeled_even_when_a_newer_upload_is_current(world: World) -> None:
    version = world.upload(VALIDATED)
    world.upload(b'{"source-ref": "s3://labelchain-output/birds/someone-elses-labels.jpg"}\n')
    sagemaker_creates(world)

    world.start(manifest_version=version)

    assert world.labeled_manifest()[0] == VALIDATED
    assert world.record().manifest_version_id == version


def test_an_unknown_manifest_version_is_refused_and_nothing_is_written(world: World) -> None:
    world.upload(VALIDATED)

    with pytest.raises(InvalidJobInput) as refused:
        world.start(manifest_version="made-up-version-id")

    assert type(refused.value) is InvalidJobInput
    assert str(refused.value).startswith(
        f"manifest_version: {MANIFEST_URI} has no version 'made-up-version-id'"
    )
    assert (world.job_files(), world.created) == ([], [])


def test_a_bad_line_refuses_the_job_with_its_line_and_writes_nothing(world: World) -> None:
    lines = manifest_lines(1250)
    lines[2] = json.dumps({"source-ref": f"s3://{TEST_SETTINGS.output_bucket}/birds/labels.jpg"})
    world.upload(("\n".join(lines) + "\n").encode())

    with pytest.raises(InvalidJobInput) as refused:
        world.start()

    assert "line 3: 'source-ref' must be in the data bucket 'labelchain-data'" in str(refused.value)
    assert (world.job_files(), world.created) == ([], [])


def test_a_quota_retry_labels_the_version_the_first_attempt_validated(world: World) -> None:
    first = world.upload(VALIDATED)
    world.stub.add_client_error("create_labeling_job", service_error_code="ResourceLimitExceeded")
    with pytest.raises(LabelingJobQuotaExceeded):
        world.start()
    world.upload(NEWER)  # a newer, valid upload of the same key while the job waits for a slot
    world.created.clear()
    sagemaker_creates(world)

    world.start()

    record = world.record()
    assert (record.manifest_version_id, record.object_count) == (first, 1250)
    assert world.labeled_manifest()[0] == VALIDATED


def test_a_lambda_retry_after_the_copy_labels_the_copied_version(world: World) -> None:
    first = world.upload(VALIDATED)
    world.stub.add_client_error("create_labeling_job", service_error_code="ThrottlingException")
    with pytest.raises(TransientServiceError):
        world.start()  # the copy exists, the record does not
    world.upload(NEWER)
    world.created.clear()
    sagemaker_creates(world)

    world.start()

    assert world.record().manifest_version_id == first
    assert world.labeled_manifest()[0] == VALIDATED


def test_a_manifest_over_the_size_limit_is_refused_before_it_is_read(world: World) -> None:
    world.upload(VALIDATED)

    class HugeManifest(ObjectStore):
        def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectHead:
            return replace(super().head(bucket, key, version_id=version_id), size=2 * 1024**3)

        def iter_chunks(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
            raise AssertionError("the manifest was read")

    world.runtime = replace(world.runtime, objects=HugeManifest(world.s3))

    with pytest.raises(
        InvalidJobInput, match=r"is 2,147,483,648 bytes, larger than the limit of 134,217,728"
    ):
        world.start()


def test_project_scope_from_the_deployment_refuses_another_projects_objects(
    aws: tuple[Any, Any, Any],
) -> None:
    scoped = TEST_SETTINGS.model_copy(update={"source_ref_scope": "project"})
    lines = manifest_lines(1250, prefix="incoming/birds/images")
    lines[0] = json.dumps({"source-ref": f"s3://{DATA}/incoming/fish/secret.jpg"})

    with make_world(aws, scoped) as world:
        world.upload(("\n".join(lines) + "\n").encode())
        with pytest.raises(
            InvalidJobInput, match=r"line 1: 'source-ref' must be under s3://labelchain-data/"
        ):
            world.start()


def test_a_bucket_without_versions_is_refused_with_what_to_do(aws: tuple[Any, Any, Any]) -> None:
    s3 = aws[0]
    s3.create_bucket(Bucket="labelchain-unversioned")
    s3.put_object(Bucket="labelchain-unversioned", Key=MANIFEST_KEY, Body=VALIDATED)
    unversioned = TEST_SETTINGS.model_copy(update={"data_bucket": "labelchain-unversioned"})

    with make_world(aws, unversioned) as world, pytest.raises(InvalidJobInput) as refused:
        world.start(manifest="s3://labelchain-unversioned/" + MANIFEST_KEY)

    assert "has no S3 version id" in str(refused.value)
    assert "must keep versions (versioning enabled" in str(refused.value)
    assert world.created == []


def test_a_missing_manifest_is_still_manifest_not_found(world: World) -> None:
    with pytest.raises(ManifestNotFound, match=r"cannot be read .*NoSuchKey"):
        world.start()


def test_the_copys_sha256_from_s3_matches_the_scans(world: World) -> None:
    world.upload(VALIDATED)
    sagemaker_creates(world)

    world.start()

    record = world.record()
    key = record.labeled_manifest_uri.removeprefix(f"s3://{DATA}/")
    attributes = world.s3.get_object_attributes(Bucket=DATA, Key=key, ObjectAttributes=["Checksum"])
    assert base64.b64decode(attributes["Checksum"]["ChecksumSHA256"]).hex() == record.manifest_sha256


def test_a_manifest_key_beyond_ascii_is_pinned_and_labeled(world: World) -> None:
    """S3 user metadata holds ASCII only: the source URI is stored percent-encoded on the copy, so a key
    such as ``Vögel-鸟.manifest`` is labeled, not an InternalError after the job files were written."""
    key = "incoming/birds/Vögel-鸟.manifest"
    version = world.upload(VALIDATED, key=key)
    sagemaker_creates(world)

    world.start(manifest=f"s3://{DATA}/{key}")

    record = world.record()
    assert (record.manifest_uri, record.manifest_version_id) == (f"s3://{DATA}/{key}", version)
    assert world.labeled_manifest()[0] == VALIDATED


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"source-ref": "s3://labelchain-data/birds/a.jpg", "score": NaN}', "NaN is not a JSON number"),
        (
            b'{"source-ref": "s3://labelchain-data/birds/a.jpg", "score": -Infinity}',
            "-Infinity is not a JSON",
        ),
        (b'\xef\xbb\xbf{"source-ref": "s3://labelchain-data/birds/a.jpg"}', "byte-order mark"),
    ],
)
def test_json_python_reads_but_rfc_8259_does_not_is_refused(line: bytes, says: str) -> None:
    """Python's reader takes NaN, Infinity and a BOM; Ground Truth's may not, and it would find out only
    after the job started."""
    key, problem = line_problem(line, "source-ref")

    assert key is None
    assert problem is not None
    assert says in problem
