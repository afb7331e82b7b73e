"""Specification of the account's concurrent labeling-job quota (``SimulationParams.max_concurrent_jobs``):
CreateLabelingJob beyond it is ResourceLimitExceeded, as SageMaker answers it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from local.ground_truth import SimulationParams
from tests.emulator import DATA_BUCKET, World, emulator_world, labeling_request

SMALL_MANIFEST = f"s3://{DATA_BUCKET}/birds/small.manifest"
DEFAULTS = SimulationParams()


def create(world: World, name: str) -> dict[str, Any]:
    response: dict[str, Any] = world.sagemaker.create_labeling_job(
        **labeling_request(name, SMALL_MANIFEST, auto_labeling=False)
    )
    return response


def refusal(world: World, name: str) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        create(world, name)
    return caught.value.response


def test_a_create_beyond_the_quota_is_resource_limit_exceeded_and_creates_nothing() -> None:
    with emulator_world(params=SimulationParams(max_concurrent_jobs=2)) as world:
        world.put_dataset("birds/small.manifest", 10)
        create(world, "birds-1")
        create(world, "birds-2")

        response = refusal(world, "birds-3")
        listed = world.sagemaker.list_labeling_jobs()["LabelingJobSummaryList"]

    assert response["Error"]["Code"] == "ResourceLimitExceeded"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "is 2 LabelingJobs, with current utilization of 2 LabelingJobs" in response["Error"]["Message"]
    assert sorted(summary["LabelingJobName"] for summary in listed) == ["birds-1", "birds-2"]


def test_a_job_ending_frees_its_place_in_the_quota() -> None:
    with emulator_world(params=SimulationParams(max_concurrent_jobs=1)) as world:
        world.put_dataset("birds/small.manifest", 10)
        create(world, "birds-1")
        refused = refusal(world, "birds-2")

        world.run_to_end("birds-1")
        created = create(world, "birds-2")

    assert refused["Error"]["Code"] == "ResourceLimitExceeded"
    assert created["LabelingJobArn"].endswith("labeling-job/birds-2")


def test_a_stopping_job_holds_its_place_until_it_is_stopped() -> None:
    with emulator_world(params=SimulationParams(max_concurrent_jobs=1)) as world:
        world.put_dataset("birds/small.manifest", 10)
        create(world, "birds-1")
        world.sagemaker.stop_labeling_job(LabelingJobName="birds-1")

        while_stopping = refusal(world, "birds-2")
        world.clock.advance(DEFAULTS.stopping_seconds)
        created = create(world, "birds-2")

    assert while_stopping["Error"]["Code"] == "ResourceLimitExceeded"
    assert created["LabelingJobArn"].endswith("labeling-job/birds-2")


def test_a_quota_below_one_is_refused() -> None:
    with pytest.raises(ValidationError, match="max_concurrent_jobs"):
        SimulationParams(max_concurrent_jobs=0)
