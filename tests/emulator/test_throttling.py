"""Specification of injected throttling: a seeded fraction of requests is refused, as AWS refuses them."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labelchain.adapters.sagemaker import LabelingJobs
from labelchain.errors import TransientServiceError
from local.ground_truth import FaultInjection
from tests.emulator import emulator_world, labeling_request

REQUESTS = 200


def throttled_count(sagemaker: Any, requests: int) -> int:
    """How many of ``requests`` ListLabelingJobs calls were refused (any other error is raised)."""
    codes = []
    for _ in range(requests):
        try:
            sagemaker.list_labeling_jobs()
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert set(codes) <= {"ThrottlingException"}
    return len(codes)


def test_rate_one_throttles_every_request_with_throttling_exception() -> None:
    with emulator_world(faults=FaultInjection(throttle_rate=1.0)) as world:
        assert throttled_count(world.sagemaker, 20) == 20


def test_rate_point_three_throttles_the_seeded_share_of_requests() -> None:
    seed = 42
    draws = random.Random(seed)
    expected = sum(draws.random() < 0.3 for _ in range(REQUESTS))

    with emulator_world(faults=FaultInjection(throttle_rate=0.3, throttle_seed=seed)) as world:
        count = throttled_count(world.sagemaker, REQUESTS)
        reported = world.emulator.throttled_requests

    assert count == expected == reported
    assert count == pytest.approx(0.3 * REQUESTS, abs=20)


def test_throttling_can_target_one_operation_and_be_switched_off_while_running() -> None:
    faults = FaultInjection(throttle_rate=1.0, throttle_operations=frozenset({"CreateLabelingJob"}))
    with emulator_world(faults=faults) as world:
        manifest = world.put_dataset("birds/all.manifest", 1250)
        with pytest.raises(ClientError, match="ThrottlingException"):
            world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest))
        assert world.sagemaker.list_labeling_jobs()["LabelingJobSummaryList"] == []

        world.emulator.faults = FaultInjection()

        world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest))


def test_labelchain_adapter_turns_the_emulators_throttling_into_a_transient_error() -> None:
    with emulator_world(faults=FaultInjection(throttle_rate=1.0)) as world:
        jobs = LabelingJobs(world.sagemaker)

        with pytest.raises(TransientServiceError, match="ThrottlingException"):
            jobs.describe("birds-1")
