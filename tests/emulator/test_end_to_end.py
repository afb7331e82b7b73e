"""The emulator over real HTTP on both sides: moto's server for S3, boto3 clients, a compressed clock.

AWS's experiment, job by job as LabelChain runs it: the initial job, then the seeded and control
jobs at the same time, each job's output parsed by LabelChain's RecordMetrics parser.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local.clock import CompressedClock
from local.ground_truth import GroundTruthEmulator
from local.ground_truth.calibration import run_experiment
from tests.conftest import REGION
from tests.emulator import (
    DATA_BUCKET,
    OUTPUT_BUCKET,
    labeling_request,
    manifest_lines,
    put_labels,
    put_manifest,
    sagemaker_client,
    summarize_job,
)

SCALE = 200_000.0
"""Simulated seconds per real second: an 8-hour job takes about 0.15 s."""


@pytest.fixture
def s3() -> Iterator[Any]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield boto3.client("s3", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


def wait_until_ended(sagemaker: Any, name: str, timeout: float = 120.0) -> tuple[dict[str, Any], float]:
    """Poll until the job ends; returns its description and how long the ending Describe took."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = time.perf_counter()
        described: dict[str, Any] = sagemaker.describe_labeling_job(LabelingJobName=name)
        if described["LabelingJobStatus"] in {"Completed", "Failed", "Stopped"}:
            return described, time.perf_counter() - started
        time.sleep(0.01)
    raise AssertionError(f"{name} did not end within {timeout} s")


def simulated_seconds(described: dict[str, Any]) -> float:
    return float((described["LastModifiedTime"] - described["CreationTime"]).total_seconds())


def test_the_experiment_runs_over_http_as_the_model_predicts_and_its_output_parses(s3: Any) -> None:
    for bucket in (DATA_BUCKET, OUTPUT_BUCKET):
        s3.create_bucket(Bucket=bucket)
    put_labels(s3, ["Bird"])
    lines = manifest_lines(2500)
    half_a = put_manifest(s3, "birds/half-a.manifest", lines[:1250])
    half_b = put_manifest(s3, "birds/half-b.manifest", lines[1250:])
    expected = run_experiment()

    with GroundTruthEmulator(s3, clock=CompressedClock(SCALE)) as emulator:
        sagemaker = sagemaker_client(emulator.endpoint_url)
        sagemaker.create_labeling_job(**labeling_request("initial", half_a))
        initial, _ = wait_until_ended(sagemaker, "initial")
        model = initial["LabelingJobOutput"]["FinalActiveLearningModelArn"]
        sagemaker.create_labeling_job(**labeling_request("pretrained", half_b, initial_model_arn=model))
        sagemaker.create_labeling_job(**labeling_request("control", half_b))
        with ThreadPoolExecutor(max_workers=2) as pool:
            pretrained, control = (
                d for d, _ in pool.map(lambda n: wait_until_ended(sagemaker, n), ["pretrained", "control"])
            )

    for described, timeline in (
        (initial, expected.initial),
        (pretrained, expected.pretrained),
        (control, expected.control),
    ):
        assert described["LabelingJobStatus"] == "Completed"
        assert described["LabelCounters"]["MachineLabeled"] == timeline.machine_labeled
        assert simulated_seconds(described) == pytest.approx(timeline.ended_at, abs=0.01)
        assert summarize_job(s3, described).cross_check == ()
    assert simulated_seconds(pretrained) <= 0.6 * simulated_seconds(control)
