"""Specification of the pure rules every Lambda relies on: region ARNs, the task-type catalog, job
names, manifest scanning, the worker UI files and the execution input model.

No AWS: everything here is computed from ``labelchain.core``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from labelchain.core.catalog import CATALOG, TaskType, spec_for
from labelchain.core.job_input import JobInput, TaskSpec, VendorWorkforce, parse_job_input
from labelchain.core.json_stream import MalformedJsonStreamError
from labelchain.core.manifest import MAX_LINE_BYTES, MAX_REPORTED_PROBLEMS, ManifestProblem, scan_manifest
from labelchain.core.naming import MAX_JOB_NAME_LENGTH, job_name_for_execution
from labelchain.core.regions import (
    ALGORITHM_SPECIFICATION_ACCOUNT,
    GROUND_TRUTH_LAMBDA_ACCOUNTS,
    PUBLIC_WORKTEAM_ACCOUNT,
    SUPPORTED_REGIONS,
    algorithm_specification_arn,
    annotation_consolidation_lambda_arn,
    pre_human_task_lambda_arn,
    public_workteam_arn,
)
from labelchain.core.worker_ui import label_category_document, worker_ui_template
from labelchain.errors import ConfigurationError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SAGEMAKER_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
"""``LabelingJobName``'s pattern in botocore's sagemaker service model."""
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:LabelingJob:birds-half-a"

# --- the region ARN table ---------------------------------------------------------------------------


def test_the_twelve_documented_regions_are_supported() -> None:
    assert set(SUPPORTED_REGIONS) == {
        "us-east-1", "us-east-2", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
        "eu-central-1", "ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1",
        "ap-southeast-2",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("task_type", "pre", "acs", "algorithm"),
    [
        (
            TaskType.BOUNDING_BOX,
            "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox",
            "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox",
            "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/object-detection",
        ),
        (
            TaskType.IMAGE_CLASSIFICATION,
            "arn:aws:lambda:us-east-1:432418664414:function:PRE-ImageMultiClass",
            "arn:aws:lambda:us-east-1:432418664414:function:ACS-ImageMultiClass",
            "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/"
            "image-classification",
        ),
        (
            TaskType.TEXT_CLASSIFICATION,
            "arn:aws:lambda:us-east-1:432418664414:function:PRE-TextMultiClass",
            "arn:aws:lambda:us-east-1:432418664414:function:ACS-TextMultiClass",
            "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/"
            "text-classification",
        ),
        (
            TaskType.SEMANTIC_SEGMENTATION,
            "arn:aws:lambda:us-east-1:432418664414:function:PRE-SemanticSegmentation",
            "arn:aws:lambda:us-east-1:432418664414:function:ACS-SemanticSegmentation",
            "arn:aws:sagemaker:us-east-1:027400017018:labeling-job-algorithm-specification/"
            "semantic-segmentation",
        ),
    ],
)
def test_us_east_1_arns_are_the_documented_ones(
    task_type: TaskType, pre: str, acs: str, algorithm: str
) -> None:
    assert pre_human_task_lambda_arn("us-east-1", task_type) == pre
    assert annotation_consolidation_lambda_arn("us-east-1", task_type) == acs
    assert algorithm_specification_arn("us-east-1", task_type) == algorithm


@pytest.mark.parametrize(
    ("task_type", "pre", "acs", "algorithm"),
    [
        (
            TaskType.BOUNDING_BOX,
            "arn:aws:lambda:eu-central-1:203001061592:function:PRE-BoundingBox",
            "arn:aws:lambda:eu-central-1:203001061592:function:ACS-BoundingBox",
            "arn:aws:sagemaker:eu-central-1:027400017018:labeling-job-algorithm-specification/"
            "object-detection",
        ),
        (
            TaskType.TEXT_CLASSIFICATION,
            "arn:aws:lambda:eu-central-1:203001061592:function:PRE-TextMultiClass",
            "arn:aws:lambda:eu-central-1:203001061592:function:ACS-TextMultiClass",
            "arn:aws:sagemaker:eu-central-1:027400017018:labeling-job-algorithm-specification/"
            "text-classification",
        ),
    ],
)
def test_eu_central_1_arns_are_the_documented_ones(
    task_type: TaskType, pre: str, acs: str, algorithm: str
) -> None:
    assert pre_human_task_lambda_arn("eu-central-1", task_type) == pre
    assert annotation_consolidation_lambda_arn("eu-central-1", task_type) == acs
    assert algorithm_specification_arn("eu-central-1", task_type) == algorithm


def test_ap_southeast_2_public_workteam_is_the_mechanical_turk_crowd() -> None:
    assert (
        public_workteam_arn("ap-southeast-2")
        == "arn:aws:sagemaker:ap-southeast-2:394669845002:workteam/public-crowd/default"
    )


@pytest.mark.parametrize("task_type", list(TaskType))
@pytest.mark.parametrize("region", SUPPORTED_REGIONS)
def test_every_region_and_task_type_gets_arns_from_the_table_and_the_catalog(
    region: str, task_type: TaskType
) -> None:
    spec = spec_for(task_type)
    account = GROUND_TRUTH_LAMBDA_ACCOUNTS[region]

    pre = pre_human_task_lambda_arn(region, task_type).split(":")
    acs = annotation_consolidation_lambda_arn(region, task_type).split(":")
    algorithm = algorithm_specification_arn(region, task_type).split(":")
    workteam = public_workteam_arn(region).split(":")

    assert pre == ["arn", "aws", "lambda", region, account, "function", f"PRE-{spec.lambda_suffix}"]
    assert acs == ["arn", "aws", "lambda", region, account, "function", f"ACS-{spec.lambda_suffix}"]
    assert algorithm == [
        "arn", "aws", "sagemaker", region, ALGORITHM_SPECIFICATION_ACCOUNT,
        f"labeling-job-algorithm-specification/{spec.algorithm}",
    ]  # fmt: skip
    assert workteam[3:5] == [region, PUBLIC_WORKTEAM_ACCOUNT]


@pytest.mark.parametrize(
    "arn_for",
    [
        pre_human_task_lambda_arn,
        annotation_consolidation_lambda_arn,
        algorithm_specification_arn,
        lambda region, _task: public_workteam_arn(region),
    ],
    ids=["pre", "acs", "algorithm", "public-workteam"],
)
def test_a_region_outside_the_table_is_a_configuration_error_naming_the_supported_ones(
    arn_for: Callable[[str, TaskType], str],
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        arn_for("eu-north-1", TaskType.BOUNDING_BOX)

    message = str(refused.value)
    assert "'eu-north-1'" in message
    assert f"supported regions: {', '.join(SUPPORTED_REGIONS)}" in message


# --- the task-type catalog --------------------------------------------------------------------------


def test_only_classification_accepts_the_two_cheapest_public_prices() -> None:
    cheapest = {Decimal("0.012"), Decimal("0.024")}

    assert cheapest <= set(spec_for(TaskType.IMAGE_CLASSIFICATION).public_prices_usd)
    assert cheapest <= set(spec_for(TaskType.TEXT_CLASSIFICATION).public_prices_usd)
    assert not cheapest & set(spec_for(TaskType.BOUNDING_BOX).public_prices_usd)
    assert not cheapest & set(spec_for(TaskType.SEMANTIC_SEGMENTATION).public_prices_usd)


def test_semantic_segmentation_prices_run_from_0_84_to_1_20() -> None:
    assert spec_for(TaskType.SEMANTIC_SEGMENTATION).public_prices_usd == tuple(
        Decimal(p) for p in ("0.840", "0.960", "1.080", "1.200")
    )


def test_bounding_box_prices_are_the_fourteen_documented_ones() -> None:
    assert spec_for(TaskType.BOUNDING_BOX).public_prices_usd == tuple(
        Decimal(p)
        for p in (
            "0.036", "0.048", "0.060", "0.072", "0.120", "0.240", "0.360",
            "0.480", "0.600", "0.720", "0.840", "0.960", "1.080", "1.200",
        )
    )  # fmt: skip


def test_semantic_segmentation_with_auto_labeling_takes_at_most_20_labels_the_others_50() -> None:
    limits = {t: (spec.max_labels, spec.max_labels_with_auto_labeling) for t, spec in CATALOG.items()}

    assert limits == {
        TaskType.BOUNDING_BOX: (50, 50),
        TaskType.IMAGE_CLASSIFICATION: (50, 50),
        TaskType.TEXT_CLASSIFICATION: (50, 50),
        TaskType.SEMANTIC_SEGMENTATION: (50, 20),
    }


def test_only_text_classification_reads_inline_text_from_the_manifest() -> None:
    assert {t for t, spec in CATALOG.items() if spec.source_field == "source"} == {
        TaskType.TEXT_CLASSIFICATION
    }


# --- deterministic job names ------------------------------------------------------------------------


def test_the_same_execution_always_gets_the_same_job_name() -> None:
    first = job_name_for_execution("labelchain", "birds-half-a", EXECUTION_ARN)
    again = job_name_for_execution("labelchain", "birds-half-a", EXECUTION_ARN)

    assert first == again


def test_job_name_is_prefix_readable_execution_name_and_a_hash_of_the_arn() -> None:
    digest = hashlib.sha256(EXECUTION_ARN.encode()).hexdigest()[:8]

    assert job_name_for_execution("labelchain", "birds-half-a", EXECUTION_ARN) == (
        f"labelchain-birds-half-a-{digest}"
    )


def test_two_executions_whose_names_read_the_same_get_different_job_names() -> None:
    first = job_name_for_execution("labelchain", "Birds_Half_A", f"{EXECUTION_ARN}-x:Birds_Half_A")
    second = job_name_for_execution("labelchain", "birds.half.a", f"{EXECUTION_ARN}-x:birds.half.a")

    assert first.rsplit("-", 1)[0] == second.rsplit("-", 1)[0] == "labelchain-birds-half-a"
    assert first != second


@pytest.mark.parametrize(
    "execution_name",
    [
        "a" * 80,
        "bird_" * 16,  # 80 chars, underscores
        ("Birds__Half__B__Seeded__With__Job__One__Model__Retry__" * 2)[:80],
        "___---___",
        "Ünïcödé-Vögel-Übung",
        "9",
    ],
    ids=["80-letters", "80-with-underscores", "mixed-case-underscores", "only-symbols", "unicode", "one"],
)
@pytest.mark.parametrize("prefix", ["lc", "labelchain", "a" + "b" * 20])
def test_job_name_starts_with_the_prefix_and_fits_sagemakers_rules(prefix: str, execution_name: str) -> None:
    name = job_name_for_execution(prefix, execution_name, f"{EXECUTION_ARN}:{execution_name}")

    assert name.startswith(f"{prefix}-")
    assert len(name) <= MAX_JOB_NAME_LENGTH
    assert SAGEMAKER_JOB_NAME.fullmatch(name), name
    assert name == name.lower()


# --- manifest scanning ------------------------------------------------------------------------------

IMAGE_MANIFEST = (
    b'{"source-ref": "s3://labelchain-data/v\xc3\xb6gel/0001.jpg"}\n'
    b"\n"
    b'{"source-ref": "s3://labelchain-data/v\xc3\xb6gel/0002.jpg", "note": "\xe2\x82\xac"}\n'
    b"   \n"
    b'{"source-ref": "s3://labelchain-data/v\xc3\xb6gel/0003.jpg"}\n'
)


def test_a_manifest_read_in_one_chunk_counts_objects_and_blank_lines() -> None:
    summary = scan_manifest([IMAGE_MANIFEST], "source-ref")

    assert (summary.objects, summary.blank_lines, summary.problem_count) == (3, 2, 0)


@pytest.mark.parametrize("split_at", range(len(IMAGE_MANIFEST) + 1))
def test_chunk_boundaries_anywhere_do_not_change_the_scan(split_at: int) -> None:
    whole = scan_manifest([IMAGE_MANIFEST], "source-ref")

    split = scan_manifest([IMAGE_MANIFEST[:split_at], IMAGE_MANIFEST[split_at:]], "source-ref")

    assert split == whole


def test_one_byte_chunks_and_empty_chunks_do_not_change_the_scan() -> None:
    whole = scan_manifest([IMAGE_MANIFEST], "source-ref")
    one_byte_chunks = [IMAGE_MANIFEST[i : i + 1] for i in range(len(IMAGE_MANIFEST))]

    assert scan_manifest(one_byte_chunks, "source-ref") == whole
    assert scan_manifest([b"", *one_byte_chunks, b""], "source-ref") == whole


def test_the_last_line_counts_without_a_trailing_newline() -> None:
    summary = scan_manifest([b'{"source-ref": "s3://labelchain-data/a.jpg"}'], "source-ref")

    assert summary.objects == 1


def test_windows_line_endings_are_accepted() -> None:
    manifest = (
        b'{"source-ref": "s3://labelchain-data/a.jpg"}\r\n{"source-ref": "s3://labelchain-data/b.jpg"}\r\n'
    )

    summary = scan_manifest([manifest], "source-ref")

    assert (summary.objects, summary.problem_count) == (2, 0)


def test_problems_are_reported_up_to_the_cap_but_all_are_counted() -> None:
    lines = [b'{"source-ref": "s3://labelchain-data/ok.jpg"}'] + [b"not json"] * 8

    summary = scan_manifest([b"\n".join(lines)], "source-ref")

    assert summary.problem_count == 8
    assert len(summary.problems) == MAX_REPORTED_PROBLEMS == 5
    assert [p.line for p in summary.problems] == [2, 3, 4, 5, 6]
    assert summary.objects == 1


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b'["s3://labelchain-data/a.jpg"]', "expected a JSON object, got list"),
        (
            b'{"source": "s3://labelchain-data/a.jpg"}',
            "'source-ref' must be an s3://bucket/key URI (missing)",
        ),
        (b'{"source-ref": "https://example.com/a.jpg"}', "'source-ref' must be an s3://bucket/key URI"),
        (b'{"source-ref": 7}', "'source-ref' must be an s3://bucket/key URI (7)"),
        (b'{"source-ref": "s3://labelchain-data/"}', "'source-ref' must be an s3://bucket/key URI"),
    ],
    ids=["not-json", "array", "missing", "https", "number", "no-key"],
)
def test_a_bad_image_manifest_line_is_a_problem_with_its_line_number(line: bytes, problem: str) -> None:
    manifest = b'{"source-ref": "s3://labelchain-data/ok.jpg"}\n' + line + b"\n"

    summary = scan_manifest([manifest], "source-ref")

    assert summary.problem_count == 1
    assert summary.problems[0].line == 2
    assert problem in summary.problems[0].problem


def test_a_repeated_object_is_a_duplicate_problem() -> None:
    line = b'{"source-ref": "s3://labelchain-data/a.jpg"}'

    summary = scan_manifest([line + b"\n" + line + b"\n"], "source-ref")

    assert summary.duplicates == 1
    assert summary.objects == 1
    assert summary.problems == [
        ManifestProblem(line=2, problem="duplicate object 's3://labelchain-data/a.jpg'")
    ]


def test_a_text_manifest_holds_inline_text_in_source() -> None:
    manifest = '{"source": "The bird sings"}\n{"source": "Ein Vogel fliegt über das Haus"}\n'.encode()

    summary = scan_manifest([manifest], spec_for(TaskType.TEXT_CLASSIFICATION).source_field)

    assert (summary.objects, summary.problem_count) == (2, 0)


@pytest.mark.parametrize(
    "line",
    [
        b'{"source": ""}',
        b'{"source": "   "}',
        b'{"source-ref": "s3://labelchain-data/a.txt"}',
        b'{"source": 3}',
    ],
    ids=["empty", "blank", "source-ref-instead", "number"],
)
def test_a_text_manifest_line_without_text_is_a_problem(line: bytes) -> None:
    summary = scan_manifest([line + b"\n"], "source")

    assert summary.problems == [ManifestProblem(line=1, problem="'source' must be non-empty text")]


LONG_LINE = b'{"source-ref": "s3://labelchain-data/' + b"k" * MAX_LINE_BYTES + b'"}'
"""One manifest line just over the 1 MiB limit."""


def test_a_manifest_line_over_the_limit_is_refused_while_it_is_still_being_read() -> None:
    chunks = [LONG_LINE[:1000], LONG_LINE[1000:]]  # the second chunk ends without a newline

    with pytest.raises(MalformedJsonStreamError, match="longer than 1048576 bytes"):
        scan_manifest(chunks, "source-ref")


@pytest.mark.parametrize(
    "chunks",
    [[LONG_LINE + b"\n"], [LONG_LINE[:1000], LONG_LINE[1000:] + b"\n"]],
    ids=["one-chunk", "ends-in-the-next-chunk"],
)
def test_a_manifest_line_over_the_limit_is_refused_wherever_it_ends(chunks: list[bytes]) -> None:
    with pytest.raises(MalformedJsonStreamError, match="longer than 1048576 bytes"):
        scan_manifest(chunks, "source-ref")


# --- worker UI files --------------------------------------------------------------------------------


def task_spec(task_type: TaskType, title: str = "Draw a box around each bird") -> TaskSpec:
    return TaskSpec(
        type=task_type,
        labels=["Bird", "Nest"],
        label_attribute="category-ref" if task_type is TaskType.SEMANTIC_SEGMENTATION else "category",
        title=title,
        description="Label birds",
        keywords=["birds"],
        instructions={"short": "<b>Birds</b> only", "full": "<p>Every bird.</p>"},
    )


@pytest.mark.parametrize("task_type", list(TaskType))
def test_the_worker_template_uses_the_catalogs_crowd_element(task_type: TaskType) -> None:
    element = spec_for(task_type).ui_element

    template = worker_ui_template(task_spec(task_type))

    assert '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>' in template
    assert f"<{element} " in template
    assert f"</{element}>" in template
    assert "{{ task.input.labels | to_json | escape }}" in template
    assert "<short-instructions><b>Birds</b> only</short-instructions>" in template
    assert "<p>Every bird.</p>" in template


@pytest.mark.parametrize(
    "task_type", [TaskType.BOUNDING_BOX, TaskType.IMAGE_CLASSIFICATION, TaskType.SEMANTIC_SEGMENTATION]
)
def test_image_templates_grant_workers_read_access_to_the_image(task_type: TaskType) -> None:
    assert 'src="{{ task.input.taskObject | grant_read_access }}"' in worker_ui_template(task_spec(task_type))


def test_the_text_template_shows_the_text_as_the_classification_target() -> None:
    template = worker_ui_template(task_spec(TaskType.TEXT_CLASSIFICATION))

    assert "<classification-target>{{ task.input.taskObject | escape }}</classification-target>" in template
    assert "grant_read_access" not in template


def test_the_title_is_html_escaped_in_every_header() -> None:
    template = worker_ui_template(task_spec(TaskType.BOUNDING_BOX, title='Box <b>"birds"</b> & nests'))

    escaped = "Box &lt;b&gt;&quot;birds&quot;&lt;/b&gt; &amp; nests"
    assert template.count(f'header="{escaped}"') == 2
    assert '<b>"birds"</b>' not in template


def test_the_label_category_file_is_ground_truths_documented_format() -> None:
    document = json.loads(label_category_document(["Bird", "Nest", "Vogel über"]))

    assert document == {
        "document-version": "2018-11-28",
        "labels": [{"label": "Bird"}, {"label": "Nest"}, {"label": "Vogel über"}],
    }


def test_the_label_category_file_keeps_non_ascii_labels_readable() -> None:
    assert "Vogel über" in label_category_document(["Vogel über"])


# --- the execution input ----------------------------------------------------------------------------


def labeling_job_examples() -> list[Path]:
    """Example files that are LabelingJob execution inputs (they name a project, manifest and task)."""
    return [
        path
        for path in sorted(EXAMPLES.glob("*.json"))
        if {"project", "manifest", "task"} <= set(json.loads(path.read_text()))
    ]


def test_the_bird_example_is_among_the_labeling_job_examples() -> None:
    assert EXAMPLES / "bird-bounding-box.json" in labeling_job_examples()


@pytest.mark.parametrize("example", labeling_job_examples(), ids=lambda path: path.name)
def test_every_labeling_job_example_parses(example: Path) -> None:
    job_input = parse_job_input(json.loads(example.read_text()))

    assert isinstance(job_input, JobInput)


def test_the_bird_example_is_the_tutorials_bounding_box_job_for_a_private_team() -> None:
    job_input = parse_job_input(json.loads((EXAMPLES / "bird-bounding-box.json").read_text()))

    assert job_input.task.type is TaskType.BOUNDING_BOX
    assert job_input.workforce.kind == "private"
    assert job_input.workforce.workers_per_object == 3
    assert job_input.task.label_attribute == "category"
    assert job_input.task_time_limit_seconds == 300
    assert job_input.task_availability_lifetime_seconds == 21_600
    assert job_input.max_concurrent_tasks == 200


def test_a_vendor_price_given_as_a_json_number_is_read_exactly() -> None:
    raw = json.loads((EXAMPLES / "text-classification-vendor.json").read_text())
    raw["workforce"]["price_per_object_usd"] = 0.036

    job_input = parse_job_input(raw)

    assert isinstance(job_input.workforce, VendorWorkforce)
    assert job_input.workforce.price_per_object_usd == Decimal("0.036")


def test_omitted_fields_take_the_documented_defaults() -> None:
    raw = json.loads((EXAMPLES / "bird-bounding-box.json").read_text())
    for optional in ("auto_labeling", "initial_model", "task_time_limit_seconds", "max_concurrent_tasks"):
        raw.pop(optional)
    raw.pop("task_availability_lifetime_seconds")

    job_input = parse_job_input(raw)

    assert job_input.auto_labeling is True
    assert job_input.initial_model == "none"
    assert job_input.when_no_model == "fail"
    assert job_input.task_time_limit_seconds == 300
    assert job_input.task_availability_lifetime_seconds == 21_600
    assert job_input.max_concurrent_tasks == 1000
    assert job_input.tags == {}
