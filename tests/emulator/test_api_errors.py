"""Specification of the emulator's API surface: validation and errors as a boto3 client sees them."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labelchain.core.catalog import TaskType
from labelchain.core.job_input import parse_job_input
from labelchain.core.regions import algorithm_specification_arn
from labelchain.core.request import JobPlacement, build_create_labeling_job_request
from tests.emulator import World, emulator_world, labeling_request, sagemaker_client

ACCOUNT = "123456789012"
TEAM = "bird-team"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def world() -> Iterator[World]:
    with emulator_world() as world:
        world.put_dataset("birds/all.manifest", 1250)
        yield world


def manifest(world: World) -> str:
    return "s3://gt-data/birds/all.manifest"


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response


def test_a_request_missing_a_required_member_is_a_validation_exception(world: World) -> None:
    unvalidated = sagemaker_client(world.emulator.endpoint_url, validate_parameters=False)
    request = labeling_request("birds-1", manifest(world))
    del request["RoleArn"]

    response = error_of(unvalidated.create_labeling_job, **request)

    assert response["Error"]["Code"] == "ValidationException"
    assert "RoleArn" in response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_name_breaking_the_models_pattern_is_refused_by_the_service_not_only_the_sdk(world: World) -> None:
    response = error_of(world.sagemaker.create_labeling_job, **labeling_request("birds_1!", manifest(world)))

    assert response["Error"]["Code"] == "ValidationException"
    assert "regular expression pattern" in response["Error"]["Message"]


def test_a_value_above_the_models_maximum_is_refused(world: World) -> None:
    request = labeling_request("birds-1", manifest(world))
    request["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] = 10

    response = error_of(world.sagemaker.create_labeling_job, **request)

    assert response["Error"]["Code"] == "ValidationException"
    assert "less than or equal to 9" in response["Error"]["Message"]


def test_a_label_attribute_ending_in_metadata_is_refused(world: World) -> None:
    request = labeling_request("birds-1", manifest(world), label_attribute="category-metadata")

    response = error_of(world.sagemaker.create_labeling_job, **request)

    assert response["Error"]["Code"] == "ValidationException"
    assert "-metadata" in response["Error"]["Message"]


def test_an_algorithm_of_another_task_type_than_the_pre_lambda_is_refused(world: World) -> None:
    request = labeling_request("birds-1", manifest(world))
    arn = algorithm_specification_arn("us-east-1", TaskType.IMAGE_CLASSIFICATION)
    request["LabelingJobAlgorithmsConfig"]["LabelingJobAlgorithmSpecificationArn"] = arn

    response = error_of(world.sagemaker.create_labeling_job, **request)

    assert response["Error"]["Code"] == "ValidationException"
    assert "must match" in response["Error"]["Message"]


def test_a_taken_name_is_resource_in_use(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest(world)))

    response = error_of(world.sagemaker.create_labeling_job, **labeling_request("birds-1", manifest(world)))

    assert response["Error"]["Code"] == "ResourceInUse"


def test_names_are_unique_regardless_of_case(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest(world)))

    response = error_of(world.sagemaker.create_labeling_job, **labeling_request("BIRDS-1", manifest(world)))

    assert response["Error"]["Code"] == "ResourceInUse"
    described = world.sagemaker.describe_labeling_job(LabelingJobName="Birds-1")
    assert described["LabelingJobName"] == "birds-1"


def test_describing_an_unknown_job_is_resource_not_found(world: World) -> None:
    response = error_of(world.sagemaker.describe_labeling_job, LabelingJobName="no-such-job")

    assert response["Error"]["Code"] == "ResourceNotFound"


def test_stopping_an_unknown_job_is_resource_not_found(world: World) -> None:
    response = error_of(world.sagemaker.stop_labeling_job, LabelingJobName="no-such-job")

    assert response["Error"]["Code"] == "ResourceNotFound"


def test_a_private_team_is_described_as_one_of_the_accounts_teams_in_the_requests_region(
    world: World,
) -> None:
    described = world.sagemaker.describe_workteam(WorkteamName=TEAM)["Workteam"]

    assert described["WorkteamArn"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:workteam/private-crowd/{TEAM}"
    assert "simulated" in described["Description"]


def test_a_vendor_subscription_exists_in_its_own_region_only(world: World) -> None:
    vendor = "arn:aws:sagemaker:us-east-1:111122223333:workteam/vendor-crowd/acme"
    elsewhere = "arn:aws:sagemaker:eu-west-1:111122223333:workteam/vendor-crowd/acme"

    described = world.sagemaker.describe_subscribed_workteam(WorkteamArn=vendor)["SubscribedWorkteam"]
    response = error_of(world.sagemaker.describe_subscribed_workteam, WorkteamArn=elsewhere)

    assert described["WorkteamArn"] == vendor
    assert response["Error"]["Code"] == "ValidationException"
    assert elsewhere in response["Error"]["Message"]


def test_an_unknown_operation_is_an_error_and_the_server_keeps_serving(world: World) -> None:
    request = urllib.request.Request(
        world.emulator.endpoint_url,
        data=json.dumps({"TrainingJobName": "x"}).encode(),
        headers={"X-Amz-Target": "SageMaker.CreateTrainingJob", "Content-Type": "application/x-amz-json-1.1"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    assert caught.value.code == 400
    assert json.loads(caught.value.read())["__type"] == "UnknownOperationException"
    assert world.sagemaker.list_labeling_jobs()["LabelingJobSummaryList"] == []


def test_a_body_that_is_not_json_is_a_serialization_error(world: World) -> None:
    request = urllib.request.Request(
        world.emulator.endpoint_url,
        data=b"{not json",
        headers={"X-Amz-Target": "SageMaker.DescribeLabelingJob"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    assert caught.value.headers["x-amzn-ErrorType"] == "SerializationException"


def test_list_filters_sorts_and_pages(world: World) -> None:
    for name in ("birds-b", "birds-a", "cats-c"):
        world.sagemaker.create_labeling_job(**labeling_request(name, manifest(world)))
        world.clock.advance(60)

    birds = world.sagemaker.list_labeling_jobs(NameContains="BIRDS", SortBy="Name", SortOrder="Ascending")
    first = world.sagemaker.list_labeling_jobs(MaxResults=2, SortOrder="Descending")
    rest = world.sagemaker.list_labeling_jobs(
        MaxResults=2, SortOrder="Descending", NextToken=first["NextToken"]
    )

    assert [s["LabelingJobName"] for s in birds["LabelingJobSummaryList"]] == ["birds-a", "birds-b"]
    assert [s["LabelingJobName"] for s in first["LabelingJobSummaryList"]] == ["cats-c", "birds-a"]
    assert [s["LabelingJobName"] for s in rest["LabelingJobSummaryList"]] == ["birds-b"]
    assert "NextToken" not in rest
    assert world.sagemaker.list_labeling_jobs(StatusEquals="Completed")["LabelingJobSummaryList"] == []


def test_the_request_labelchains_create_job_builds_is_accepted(world: World) -> None:
    raw = json.loads((EXAMPLES / "bird-bounding-box.json").read_text())
    job_input = parse_job_input({**raw, "manifest": manifest(world)})
    placement = JobPlacement(
        job_name="labelchain-birds-0123abcd",
        region="us-east-1",
        role_arn="arn:aws:iam::123456789012:role/labelchain-ground-truth",
        output_bucket="gt-output",
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
        label_category_uri="s3://gt-data/config/labels.json",
        ui_template_uri="s3://gt-data/config/template.liquid.html",
        execution_arn="arn:aws:states:us-east-1:123456789012:execution:LabelingJob:birds",
    )
    request = build_create_labeling_job_request(job_input, placement, initial_model_arn=None)

    arn = world.sagemaker.create_labeling_job(**request)["LabelingJobArn"]

    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/labelchain-birds-0123abcd"
    assert world.run_to_end("labelchain-birds-0123abcd")["LabelingJobStatus"] == "Completed"


def test_stopping_the_emulator_closes_its_port_and_ends_its_thread() -> None:
    with emulator_world() as world:
        emulator = world.emulator
        url = emulator.endpoint_url
        world.sagemaker.list_labeling_jobs()  # leaves a kept-alive connection open

        emulator.stop()

        assert not any(thread.name == "ground-truth-emulator" for thread in threading.enumerate())
        with pytest.raises(urllib.error.URLError, match="refused"):
            urllib.request.urlopen(url, timeout=2)
        assert emulator.start().startswith("http://127.0.0.1:")  # and it can serve again
