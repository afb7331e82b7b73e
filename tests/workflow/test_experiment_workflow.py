"""The synthesized Experiment state machine, nested LabelingJob executions included, run by moto's engine.

Every job's SageMaker side is scripted per job (the second stage runs its two jobs concurrently);
S3 and DynamoDB are moto; every Lambda is the real handler, in-process.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from labelchain.core.experiment import ROLES, child_execution_name
from labelchain.core.records import JobRecord
from labelchain.core.s3_layout import report_prefix
from labelchain.services.runtime import Runtime
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import EXAMPLE_TIME, FixedClock, make_runtime, manifest_lines, put_manifest
from tests.support.lifecycle import (
    deliver_execution_end,
    deliver_job_event,
    job_event_pump,
    wait_for_execution_status,
    wait_until_waiting,
)
from tests.support.output import write_bounding_box_output
from tests.support.scripted_sagemaker import JobScript, ScriptedSageMaker
from tests.workflow.harness import Deployment, ExecutionResult, deployed_stack

pytestmark = pytest.mark.workflow

EXPERIMENT = json.loads((Path(__file__).parents[2] / "examples" / "experiment-birds.json").read_text())
PROJECT = EXPERIMENT["project"]
MODELS = {
    role: f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/{role}-model"
    for role in ("initial", "pretrained", "control")
}
# (human objects, machine objects) per active-learning iteration, shaped like AWS's experiment:
# 48 % / 80 % / 60 % machine-labeled; the seeded job needs 3 iterations and about half the time.
ITERATIONS = {
    "initial": [(200, 0), (50, 0), (150, 250), (150, 200), (100, 150)],
    "pretrained": [(200, 0), (50, 0), (0, 1000)],
    "control": [(200, 0), (50, 0), (150, 450), (100, 300)],
}
HOURS = {"initial": 6, "pretrained": 2, "control": 4}
SECONDS_PER_ANSWER = 30
"""Each of the 3 workers' time per human-labeled object, priced at the example's 20 USD per worker hour."""


def role_of(job_name: str) -> str:
    """The experiment role a job plays: its name ends in ``-<role>-<hash>`` (child execution names)."""
    match = re.search(r"-(initial|pretrained|control)-[0-9a-f]{8}$", job_name)
    assert match is not None, job_name
    return match.group(1)


class World:
    def __init__(self, deployment: Deployment, sagemaker: ScriptedSageMaker, runtime: Runtime) -> None:
        self.deployment = deployment
        self.sagemaker = sagemaker
        self.runtime = runtime
        self.s3 = boto3.client("s3", region_name=REGION)

    def run(self, name: str, objects: int = 2500) -> ExecutionResult:
        uri = put_manifest(self.s3, "birds/birds.manifest", manifest_lines(objects))
        with job_event_pump(self.sagemaker.created.copy) as errors:
            result = self.deployment.experiment.run({**copy.deepcopy(EXPERIMENT), "manifest": uri}, name, 300)
        assert errors == []
        return result

    def request_of(self, role: str) -> dict[str, Any]:
        (request,) = [r for name, r in self.sagemaker.created.items() if role_of(name) == role]
        return request

    def record_of(self, role: str) -> JobRecord:
        (name,) = [name for name in self.sagemaker.created if role_of(name) == role]
        record = self.runtime.store.get_job(name)
        assert record is not None
        return record

    def child_names(self) -> set[str]:
        client = boto3.client("stepfunctions", region_name=REGION)
        executions = client.list_executions(stateMachineArn=self.deployment.labeling_job.state_machine_arn)
        return {e["name"] for e in executions["executions"]}

    def report(self, execution: str) -> dict[str, Any]:
        key = f"{report_prefix(PROJECT, execution)}report.json"
        body = self.s3.get_object(Bucket=TEST_SETTINGS.output_bucket, Key=key)["Body"].read()
        return dict(json.loads(body))


def make_world(outcomes: dict[str, tuple[list[str], dict[str, Any]]]) -> Any:
    """A deployed stack whose SageMaker plays ``outcomes[role] = (statuses, final details)``."""
    holder: dict[str, Any] = {}

    def script_for(job_name: str) -> JobScript:
        role = role_of(job_name)
        statuses, final = outcomes[role]
        human = sum(h for h, _ in ITERATIONS[role])
        machine = sum(m for _, m in ITERATIONS[role])

        def write_output(name: str, request: dict[str, Any]) -> None:
            write_bounding_box_output(
                boto3.client("s3", region_name=REGION),
                PROJECT,
                name,
                ITERATIONS[role],
                seconds_per_answer=SECONDS_PER_ANSWER,
                workers_per_object=3,
            )

        details = {
            "human": human,
            "machine": machine,
            "model_arn": MODELS[role],
            "modified": EXAMPLE_TIME + timedelta(hours=HOURS[role]),
            **final,
        }
        return JobScript(statuses=statuses, final=details, on_create=write_output)

    def build_runtime() -> Runtime:
        holder["sagemaker"] = ScriptedSageMaker(script_for)
        holder["runtime"] = make_runtime(
            holder["sagemaker"].client, FixedClock(EXAMPLE_TIME + timedelta(minutes=1))
        )
        return holder["runtime"]

    return deployed_stack(build_runtime), holder


COMPLETED = (["InProgress", "Completed"], {})


def test_the_seed_experiment_runs_all_three_jobs_and_writes_the_comparison() -> None:
    stack, holder = make_world({"initial": COMPLETED, "pretrained": COMPLETED, "control": COMPLETED})
    with stack as deployment:
        world = World(deployment, holder["sagemaker"], holder["runtime"])

        result = world.run("exp-happy")

        assert result.status == "SUCCEEDED", result.cause
        parent = deployment.experiment.execution_arn("exp-happy")
        assert world.child_names() == {child_execution_name("exp-happy", parent, role) for role in ROLES}
        seeded = world.request_of("pretrained")["LabelingJobAlgorithmsConfig"]
        assert seeded["InitialActiveLearningModelArn"] == MODELS["initial"]
        assert (
            "InitialActiveLearningModelArn" not in world.request_of("control")["LabelingJobAlgorithmsConfig"]
        )
        assert (
            "InitialActiveLearningModelArn" not in world.request_of("initial")["LabelingJobAlgorithmsConfig"]
        )
        # pretrained and control label the same pinned version of part 2, initial part 1; Ground Truth
        # reads each job's own copy of it
        records = {role: world.record_of(role) for role in ITERATIONS}
        sources = {
            role: (record.manifest_uri, record.manifest_version_id, record.manifest_sha256)
            for role, record in records.items()
        }
        assert sources["pretrained"] == sources["control"] != sources["initial"]
        assert sources["initial"][0] != sources["control"][0]
        assert all(version is not None and sha for _, version, sha in sources.values())
        read_by_ground_truth = {
            role: world.request_of(role)["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
            for role in ITERATIONS
        }
        assert read_by_ground_truth == {role: records[role].labeled_manifest_uri for role in ITERATIONS}
        assert len(set(read_by_ground_truth.values())) == 3

        report = world.report("exp-happy")
        figures = {role: report["jobs"][role]["figures"] for role in ITERATIONS}
        assert [figures[r]["machine_labeled_percent"] for r in ITERATIONS] == ["48.00", "80.00", "60.00"]
        assert [figures[r]["iterations"] for r in ITERATIONS] == [5, 3, 4]
        delta = report["pretrained_vs_control"]
        assert delta["machine_labeled_gain_points"]["value"] == "20.00"
        assert delta["duration_reduction_percent"]["value"] == "50.00"  # 2 h against 4 h
        # docs/COST.md: 1,250 × 0.08 USD fees + worker seconds × 20 USD / 3,600 for each job:
        # pretrained 250 objects × 3 answers × 30 s = 6.25 h → 100 + 125 = 225 USD,
        # control 500 × 3 × 30 s = 12.5 h → 100 + 250 = 350 USD: 125 / 350 = 35.71 % less
        costs = {
            r: (figures[r]["worker_hours"], figures[r]["total_cost_usd"]) for r in ("pretrained", "control")
        }
        assert costs == {"pretrained": ("6.25", "225.0000"), "control": ("12.50", "350.0000")}
        assert delta["cost_reduction_percent"]["value"] == "35.71"
        assert report["missing"] == {}
        assert world.runtime.store.get_comparison("exp-happy") is not None
        pointer = world.runtime.store.latest_model(PROJECT)
        assert pointer is not None
        assert pointer.model_arn == MODELS["pretrained"]  # the control job's model is not "latest"
        assert result.output["report_json_uri"].endswith("exp-happy/report.json")


def test_an_initial_job_without_a_model_stops_the_experiment_after_recording_it() -> None:
    stack, holder = make_world({"initial": (["Completed"], {"model_arn": None})})
    with stack as deployment:
        world = World(deployment, holder["sagemaker"], holder["runtime"])

        result = world.run("exp-nomodel")

        assert result.status == "FAILED"
        assert result.error == "NoModelFromInitialJob"
        parent = deployment.experiment.execution_arn("exp-nomodel")
        assert world.child_names() == {child_execution_name("exp-nomodel", parent, "initial")}
        report = world.report("exp-nomodel")
        assert report["jobs"]["initial"]["figures"]["model_outcome"] == "no-model"
        assert set(report["missing"]) == {"pretrained", "control"}
        assert "without a model" in report["stop_reason"]


def test_a_failed_control_job_keeps_the_pretrained_results_and_names_the_missing_side() -> None:
    stack, holder = make_world(
        {
            "initial": COMPLETED,
            "pretrained": COMPLETED,
            "control": (["InProgress", "Failed"], {"failure_reason": "ClientError: workteam not found"}),
        }
    )
    with stack as deployment:
        world = World(deployment, holder["sagemaker"], holder["runtime"])

        result = world.run("exp-control-fails")

        assert result.status == "FAILED"
        assert result.error == "SecondStageJobFailed"
        report = world.report("exp-control-fails")
        assert report["jobs"]["pretrained"]["figures"]["machine_labeled_percent"] == "80.00"
        control = report["jobs"]["control"]
        assert control["execution_status"] == "FAILED"
        assert "LabelingJobFailed" in (control["execution_error"] or "")


def test_a_failed_pretrained_job_keeps_the_control_results_and_names_the_missing_side() -> None:
    stack, holder = make_world(
        {
            "initial": COMPLETED,
            "pretrained": (["Stopped"], {}),
            "control": COMPLETED,
        }
    )
    with stack as deployment:
        world = World(deployment, holder["sagemaker"], holder["runtime"])

        result = world.run("exp-pretrained-fails")

        assert result.status == "FAILED"
        assert result.error == "SecondStageJobFailed"
        report = world.report("exp-pretrained-fails")
        assert report["jobs"]["control"]["figures"]["machine_labeled_percent"] == "60.00"
        assert report["jobs"]["pretrained"]["execution_status"] == "FAILED"


def test_a_dataset_too_small_to_split_fails_before_any_job() -> None:
    stack, holder = make_world({})
    with stack as deployment:
        world = World(deployment, holder["sagemaker"], holder["runtime"])

        result = world.run("exp-small", objects=2499)

        assert result.status == "FAILED"
        assert result.error == "InvalidJobInput"
        assert "1,250" in (result.cause or "")
        assert world.sagemaker.created == {}
        assert world.child_names() == set()


def test_stopping_the_experiment_stops_its_running_child_and_so_the_childs_labeling_job() -> None:
    stack, holder = make_world({"initial": (["InProgress"], {})})  # the initial job runs until stopped
    with stack as deployment:
        world = World(deployment, holder["sagemaker"], holder["runtime"])
        uri = put_manifest(world.s3, "birds/birds.manifest", manifest_lines(2500))
        parent = deployment.experiment.start({**copy.deepcopy(EXPERIMENT), "manifest": uri}, "exp-stopped")
        child = deployment.labeling_job.execution_arn(child_execution_name("exp-stopped", parent, "initial"))
        (job_name,) = wait_for_created_jobs(world.sagemaker, 1)
        wait_until_waiting(world.runtime, job_name)

        boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=parent)
        wait_for_execution_status(parent, "ABORTED")
        experiment_end = deliver_execution_end(parent)
        wait_for_execution_status(child, "ABORTED")
        child_end = deliver_execution_end(child)

        assert experiment_end["action"] == "children-stopped"
        assert experiment_end["stopped_children"] == [child]
        assert child_end["action"] == "stopped"
        assert world.sagemaker.stops == [job_name]
        deliver_job_event(job_name, "Stopped")
        record = world.runtime.store.get_job(job_name)
        assert record is not None
        assert (record.status, record.finalized_at is not None) == ("Stopped", True)
        assert "-initial ended ABORTED" in (record.stop_reason or "")


def wait_for_created_jobs(
    sagemaker: ScriptedSageMaker, count: int, timeout_seconds: float = 120.0
) -> list[str]:
    deadline = time.monotonic() + timeout_seconds
    while len(sagemaker.created) < count:
        assert time.monotonic() < deadline, f"fewer than {count} jobs created"
        time.sleep(0.01)
    return list(sagemaker.created)
