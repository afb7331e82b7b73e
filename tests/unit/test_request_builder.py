"""Specification of the CreateLabelingJob request builder: every request it can produce is one the
SageMaker API model accepts.

botocore's ``validate_parameters`` checks required members, types, unknown keys and minimums; it does
not check maximums, patterns or enums, so ``api_model_violations`` below checks those from the same
service model (the installed ``sagemaker`` service-2.json).

The request has five dimensions: task type (4), workforce (2), model choice (3: auto-labeling without a
model, auto-labeling seeded by a model, no auto-labeling), stopping conditions (4) and region (12).
``COVERING_SET`` holds every value of every dimension at least once and every task type × model choice
pair: those interact, because the task type picks the labeling algorithm whose ARN is sent only with
auto-labeling on, and a seeding model goes into that same ``LabelingJobAlgorithmsConfig``. The others
are independent in the builder: the region only picks an account from the region table (one row per
region, whatever the task type), the workforce only fills ``WorkteamArn``, the stopping conditions only
``StoppingConditions``. Each covering case is its own test, so a failure names its request; one test
then validates the full matrix (1,152 requests) in a loop, which catches a bad pair the covering set
does not hold.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from botocore.validate import validate_parameters

from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.job_input import JobInput
from labelchain.core.naming import EXECUTION_TAG, PROJECT_TAG, job_name_for_execution
from labelchain.core.regions import SUPPORTED_REGIONS
from labelchain.core.request import JobPlacement, build_create_labeling_job_request
from tests.conftest import ACCOUNT, TEST_SETTINGS

CREATE_LABELING_JOB = (
    botocore.session.get_session()
    .get_service_model("sagemaker")
    .operation_model("CreateLabelingJob")
    .input_shape
)
EXECUTION_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:LabelingJob:birds-half-b-seeded"

VALID_TASKS: dict[TaskType, dict[str, Any]] = {
    TaskType.BOUNDING_BOX: {"labels": ["Bird"], "label_attribute": "category"},
    TaskType.IMAGE_CLASSIFICATION: {"labels": ["Bird", "Nest"], "label_attribute": "category"},
    TaskType.TEXT_CLASSIFICATION: {"labels": ["Positive", "Negative"], "label_attribute": "sentiment"},
    TaskType.SEMANTIC_SEGMENTATION: {"labels": ["Bird"], "label_attribute": "category-ref"},
}
"""A valid task per type: classification needs two labels, segmentation's attribute ends in -ref."""

STOPPING = {
    "none": {},
    "human-objects": {"max_human_labeled_objects": 500},
    "percentage": {"max_percentage_labeled": 90},
    "both": {"max_human_labeled_objects": 500, "max_percentage_labeled": 90},
}
WORKFORCES = ("private", "vendor")
VENDOR_ACCOUNT = "111122223333"
"""A vendor's work team lives in the vendor's (AWS Marketplace seller's) account, not the stack's."""
MODELS = (("auto", "no-model"), ("auto", "model-arn"), ("no-auto", "no-model"))
"""A model can only seed a job with auto_labeling on (JobInput refuses the fourth combination)."""


def model_arn(region: str) -> str:
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:model/birds-job-1-model"


def workteam_arn(kind: str, region: str) -> str:
    account = VENDOR_ACCOUNT if kind == "vendor" else ACCOUNT
    return f"arn:aws:sagemaker:{region}:{account}:workteam/{kind}-crowd/birders"


def workforce(kind: str, region: str) -> dict[str, Any]:
    if kind == "vendor":
        return {
            "kind": "vendor",
            "workteam_arn": workteam_arn(kind, region),
            "workers_per_object": 9,
            "price_per_object_usd": "0.06",
        }
    return {"kind": kind, "workteam_arn": workteam_arn(kind, region), "workers_per_object": 1}


def job_input(
    task_type: TaskType,
    workforce_kind: str = "private",
    *,
    auto_labeling: bool = True,
    initial_model_arn: str | None = None,
    stopping: str = "none",
    region: str = "us-east-1",
    tags: dict[str, str] | None = None,
) -> JobInput:
    task = VALID_TASKS[task_type]
    source = "texts" if task_type is TaskType.TEXT_CLASSIFICATION else "images"
    return JobInput.model_validate(
        {
            "project": "birds",
            "manifest": f"s3://{TEST_SETTINGS.data_bucket}/birds/{source}.manifest",
            "task": {
                "type": task_type.value,
                "labels": task["labels"],
                "label_attribute": task["label_attribute"],
                "title": "Label the birds " + "x" * 112,  # 128 characters: the API's maximum
                "description": "Label every bird in the object. " + "y" * 223,  # 255: the maximum
                "keywords": ["birds", "image", "nature", "animals", "a" * 30],
                "instructions": {"short": "Label birds", "full": "<p>Label every bird.</p>"},
            },
            "workforce": workforce(workforce_kind, region),
            "auto_labeling": auto_labeling,
            "initial_model": {"arn": initial_model_arn} if initial_model_arn else "none",
            "stopping_conditions": STOPPING[stopping],
            "task_time_limit_seconds": 28_800,
            "task_availability_lifetime_seconds": 2_592_000,  # 30 days: the maximum
            "max_concurrent_tasks": 5000,
            "tags": tags or {},
        }
    )


def placement(region: str = "us-east-1") -> JobPlacement:
    job_name = job_name_for_execution(TEST_SETTINGS.resource_prefix, "birds-half-b-seeded", EXECUTION_ARN)
    files = f"s3://{TEST_SETTINGS.data_bucket}/labelchain/birds/{job_name}"
    return JobPlacement(
        job_name=job_name,
        region=region,
        role_arn=TEST_SETTINGS.ground_truth_role_arn,
        output_bucket=TEST_SETTINGS.output_bucket,
        kms_key_arn=TEST_SETTINGS.kms_key_arn,
        label_category_uri=f"{files}/label-categories.json",
        ui_template_uri=f"{files}/worker-template.liquid.html",
        execution_arn=EXECUTION_ARN,
    )


def api_model_violations(value: Any, shape: Any, path: str = "request") -> list[str]:
    """Maximums, patterns and enums of the API model that botocore's validator does not check."""
    meta = shape.metadata
    found: list[str] = []
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                found += api_model_violations(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        if len(value) > meta.get("max", len(value)):
            found.append(f"{path}: {len(value)} items > max {meta['max']}")
        for index, item in enumerate(value):
            found += api_model_violations(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "string":
        if len(value) > meta.get("max", len(value)):
            found.append(f"{path}: {len(value)} chars > max {meta['max']}")
        # Python's re has no \p{…}; the tag pattern's letters/spaces/numbers become \w and a space.
        pattern = meta.get("pattern", "").replace(r"\p{L}\p{Z}\p{N}", r"\w ")
        if pattern and not re.fullmatch(pattern, value):
            found.append(f"{path}: {value!r} does not match {meta['pattern']!r}")
        if "enum" in meta and value not in meta["enum"]:
            found.append(f"{path}: {value!r} not in {meta['enum']}")
    elif shape.type_name in {"integer", "long"} and value > meta.get("max", value):
        found.append(f"{path}: {value} > max {meta['max']}")
    return found


FULL_MATRIX = list(itertools.product(TaskType, WORKFORCES, MODELS, STOPPING, SUPPORTED_REGIONS))
"""Every request shape: 4 task types x 2 workforces x 3 model choices x 4 stopping conditions x 12
regions."""


def covering_set() -> list[tuple[TaskType, str, tuple[str, str], str, str]]:
    """Row ``i`` takes value ``i mod n`` of each dimension of ``n`` values, over as many rows as the
    largest of them (task type × model choice counted as one dimension): so every value and every
    task type × model choice pair appears, whatever the sizes."""
    pairs = list(itertools.product(TaskType, MODELS))
    stoppings = list(STOPPING)
    rows = max(len(pairs), len(WORKFORCES), len(stoppings), len(SUPPORTED_REGIONS))
    return [
        (
            *pairs[i % len(pairs)],
            WORKFORCES[i % len(WORKFORCES)],
            stoppings[(i // len(WORKFORCES)) % len(stoppings)],
            SUPPORTED_REGIONS[i % len(SUPPORTED_REGIONS)],
        )
        for i in range(rows)
    ]


def build(
    task_type: TaskType, kind: str, auto: str, model: str, stopping: str, region: str
) -> dict[str, Any]:
    arn = model_arn(region) if model == "model-arn" else None
    return build_create_labeling_job_request(
        job_input(
            task_type,
            kind,
            auto_labeling=auto == "auto",
            initial_model_arn=arn,
            stopping=stopping,
            region=region,
        ),
        placement(region),
        arn,
    )


@pytest.mark.parametrize(
    ("task_type", "model_choice", "kind", "stopping", "region"),
    covering_set(),
    ids=lambda value: (
        value.value if isinstance(value, TaskType) else "-".join(value) if isinstance(value, tuple) else value
    ),
)
def test_a_request_of_the_covering_set_passes_the_api_model(
    task_type: TaskType, model_choice: tuple[str, str], kind: str, stopping: str, region: str
) -> None:
    request = build(task_type, kind, *model_choice, stopping, region)

    validate_parameters(request, CREATE_LABELING_JOB)  # raises ParamValidationError
    assert api_model_violations(request, CREATE_LABELING_JOB) == []


def test_every_request_of_the_full_matrix_passes_the_api_model() -> None:
    violations = {}
    for task_type, kind, (auto, model), stopping, region in FULL_MATRIX:
        request = build(task_type, kind, auto, model, stopping, region)

        validate_parameters(request, CREATE_LABELING_JOB)  # raises ParamValidationError
        if found := api_model_violations(request, CREATE_LABELING_JOB):
            violations[task_type.value, kind, auto, model, stopping, region] = found

    assert violations == {}


@pytest.mark.parametrize("task_type", list(TaskType))
def test_a_stubbed_create_labeling_job_accepts_one_request_per_task_type(task_type: TaskType) -> None:
    request = build(task_type, "private", "auto", "model-arn", "both", "us-east-1")
    job_arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:labeling-job/{request['LabelingJobName']}"

    sagemaker = boto3.client("sagemaker", region_name="us-east-1")

    with Stubber(sagemaker) as stub:
        stub.add_response("create_labeling_job", {"LabelingJobArn": job_arn}, expected_params=request)
        response = sagemaker.create_labeling_job(**request)
        stub.assert_no_pending_responses()

    assert response["LabelingJobArn"] == job_arn


# --- what each choice puts in the request -----------------------------------------------------------


def test_auto_labeling_off_sends_no_algorithms_config() -> None:
    request = build(TaskType.BOUNDING_BOX, "private", "no-auto", "no-model", "none", "us-east-1")

    assert "LabelingJobAlgorithmsConfig" not in request


@pytest.mark.parametrize("task_type", list(TaskType))
def test_auto_labeling_uses_the_algorithm_of_the_same_task_type_as_the_lambdas(task_type: TaskType) -> None:
    spec = spec_for(task_type)

    request = build(task_type, "private", "auto", "no-model", "none", "eu-west-2")

    assert request["LabelingJobAlgorithmsConfig"] == {
        "LabelingJobAlgorithmSpecificationArn": (
            f"arn:aws:sagemaker:eu-west-2:027400017018:labeling-job-algorithm-specification/{spec.algorithm}"
        )
    }
    assert request["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith(f":function:PRE-{spec.lambda_suffix}")
    assert request["HumanTaskConfig"]["AnnotationConsolidationConfig"][
        "AnnotationConsolidationLambdaArn"
    ].endswith(f":function:ACS-{spec.lambda_suffix}")


def test_an_initial_model_is_sent_as_the_initial_active_learning_model() -> None:
    request = build(TaskType.BOUNDING_BOX, "private", "auto", "model-arn", "none", "us-east-1")

    assert request["LabelingJobAlgorithmsConfig"]["InitialActiveLearningModelArn"] == model_arn("us-east-1")


@pytest.mark.parametrize(
    ("stopping", "expected"),
    [
        ("none", None),
        ("human-objects", {"MaxHumanLabeledObjectCount": 500}),
        ("percentage", {"MaxPercentageOfInputDatasetLabeled": 90}),
        ("both", {"MaxHumanLabeledObjectCount": 500, "MaxPercentageOfInputDatasetLabeled": 90}),
    ],
)
def test_only_the_stopping_conditions_asked_for_are_sent(stopping: str, expected: dict | None) -> None:
    request = build(TaskType.BOUNDING_BOX, "private", "auto", "no-model", stopping, "us-east-1")

    assert request.get("StoppingConditions") == expected


@pytest.mark.parametrize("kind", ["private", "vendor"])
def test_a_team_workforce_sends_its_workteam_and_no_price_or_content_classifiers(kind: str) -> None:
    request = build(TaskType.BOUNDING_BOX, kind, "auto", "no-model", "none", "us-west-2")

    human_task = request["HumanTaskConfig"]
    assert human_task["WorkteamArn"] == workteam_arn(kind, "us-west-2")
    assert "PublicWorkforceTaskPrice" not in human_task  # a vendor bills through AWS Marketplace
    assert "DataAttributes" not in request["InputConfig"]


def test_labelchain_tags_come_first_then_the_users_tags_sorted_by_key() -> None:
    request = build_create_labeling_job_request(
        job_input(TaskType.BOUNDING_BOX, tags={"team": "vision", "cost-centre": "42"}), placement(), None
    )

    assert request["Tags"] == [
        {"Key": EXECUTION_TAG, "Value": hashlib.sha256(EXECUTION_ARN.encode()).hexdigest()},
        {"Key": PROJECT_TAG, "Value": "birds"},
        {"Key": "cost-centre", "Value": "42"},
        {"Key": "team", "Value": "vision"},
    ]


def test_the_output_path_is_the_projects_prefix_under_jobs_in_the_output_bucket_with_the_kms_key() -> None:
    request = build(TaskType.BOUNDING_BOX, "private", "auto", "no-model", "none", "us-east-1")

    assert request["OutputConfig"] == {
        "S3OutputPath": f"s3://{TEST_SETTINGS.output_bucket}/jobs/birds/",  # + the job name
        "KmsKeyId": TEST_SETTINGS.kms_key_arn,
    }


def test_the_api_model_check_catches_what_botocores_validator_lets_through() -> None:
    request = build(TaskType.BOUNDING_BOX, "private", "auto", "no-model", "none", "us-east-1")
    request["HumanTaskConfig"]["TaskTitle"] = "Bell \x07" + "t" * 128
    request["Tags"][0]["Value"] = "execution:birds(2)"
    request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] = 10

    validate_parameters(request, CREATE_LABELING_JOB)  # botocore checks neither maximums nor patterns
    violations = api_model_violations(request, CREATE_LABELING_JOB)

    assert len(violations) == 4
    assert violations[0].startswith("request.HumanTaskConfig.TaskTitle: 134 chars > max 128")
    assert violations[1].startswith("request.HumanTaskConfig.TaskTitle: 'Bell \\x07")
    assert violations[2] == "request.HumanTaskConfig.NumberOfHumanWorkersPerDataObject: 10 > max 9"
    assert violations[3].startswith("request.Tags[0].Value: 'execution:birds(2)' does not match")
