"""Specification of a job's life as DescribeLabelingJob reports it on the simulated clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from labelchain.adapters.sagemaker import LabelingJobs
from labelchain.core.catalog import TaskType
from labelchain.core.naming import SIMULATED_TAG
from local.ground_truth import FaultInjection, JobFailure, JobStop, SimulationParams, StatusDelay
from tests.emulator import (
    PRIVATE_TEAM,
    VENDOR_TEAM,
    World,
    emulator_world,
    labeling_request,
    put_labels,
    summarize_job,
)

MODEL_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:model/.*")
DEFAULTS = SimulationParams()


@pytest.fixture
def world() -> Iterator[World]:
    with emulator_world() as world:
        world.put_dataset("birds/half-a.manifest", 1250)
        yield world


HALF_A = "s3://gt-data/birds/half-a.manifest"


def describe(world: World, name: str = "birds-1") -> dict[str, object]:
    described: dict[str, object] = world.sagemaker.describe_labeling_job(LabelingJobName=name)
    return described


def counters(world: World, name: str = "birds-1") -> tuple[str, int, int]:
    described = describe(world, name)
    labels = described["LabelCounters"]
    assert isinstance(labels, dict)
    return str(described["LabelingJobStatus"]), labels["HumanLabeled"], labels["MachineLabeled"]


def test_a_job_initializes_then_labels_iteration_by_iteration_then_completes(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A))
    timeline = world.emulator.service.timeline("birds-1")

    assert counters(world) == ("Initializing", 0, 0)
    human = machine = 0
    for iteration in timeline.iterations:
        human += len(iteration.human_objects)
        machine += len(iteration.machine_objects)
        at_end = describe_at(world, iteration.ended_at)
        assert (at_end["LabelingJobStatus"], at_end["human"], at_end["machine"]) == (
            "InProgress",
            human,
            machine,
        )
    assert "LabelingJobOutput" not in describe(world)

    final = describe_at(world, timeline.ended_at)

    assert (final["LabelingJobStatus"], final["human"], final["machine"]) == ("Completed", human, machine)
    assert human + machine == 1250


def describe_at(world: World, seconds_after_creation: float) -> dict[str, object]:
    """Describe with the clock set to a moment of the job's timeline."""
    created = world.sagemaker.describe_labeling_job(LabelingJobName="birds-1")["CreationTime"]
    world.clock.now = created + timedelta(seconds=seconds_after_creation)
    described = world.sagemaker.describe_labeling_job(LabelingJobName="birds-1")
    return {
        **described,
        "human": described["LabelCounters"]["HumanLabeled"],
        "machine": described["LabelCounters"]["MachineLabeled"],
    }


def test_a_completed_job_reports_its_output_manifest_model_and_simulated_tag(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A, tags={"team": "vision"}))

    described = world.run_to_end("birds-1")

    output = described["LabelingJobOutput"]
    assert output["OutputDatasetS3Uri"] == "s3://gt-output/birds/birds-1/manifests/output/output.manifest"
    assert output["FinalActiveLearningModelArn"] == (
        "arn:aws:sagemaker:us-east-1:123456789012:model/birds-1-simulated-model"
    )
    assert MODEL_ARN.fullmatch(output["FinalActiveLearningModelArn"])
    tags = {tag["Key"]: tag["Value"] for tag in described["Tags"]}
    assert tags == {"team": "vision", SIMULATED_TAG: "true"}
    assert described["LastModifiedTime"] > described["CreationTime"]


def test_labelchains_adapter_reads_the_emulators_description(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A))
    world.run_to_end("birds-1")

    description = LabelingJobs(world.sagemaker).describe("birds-1")

    assert description.status == "Completed"
    assert description.tags[SIMULATED_TAG] == "true"
    assert description.final_model_arn is not None
    assert description.counters.human_labeled + description.counters.machine_labeled == 1250


def test_without_auto_labeling_humans_label_everything_and_no_model_is_reported(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A, auto_labeling=False))

    described = world.run_to_end("birds-1")

    assert described["LabelCounters"]["HumanLabeled"] == 1250
    assert described["LabelCounters"]["MachineLabeled"] == 0
    assert "FinalActiveLearningModelArn" not in described["LabelingJobOutput"]


def test_a_seeded_job_needs_fewer_humans_than_the_same_data_from_scratch(world: World) -> None:
    half_b = world.put_dataset("birds/half-b.manifest", 1250, prefix="more-birds")
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A))
    model = world.run_to_end("birds-1")["LabelingJobOutput"]["FinalActiveLearningModelArn"]

    world.sagemaker.create_labeling_job(**labeling_request("seeded", half_b, initial_model_arn=model))
    world.sagemaker.create_labeling_job(**labeling_request("control", half_b))
    seeded, control = world.run_to_end("seeded"), world.run_to_end("control")

    assert seeded["LabelCounters"]["HumanLabeled"] < control["LabelCounters"]["HumanLabeled"]
    assert seeded["LabelingJobAlgorithmsConfig"]["InitialActiveLearningModelArn"] == model
    seeded_timeline = world.emulator.service.timeline("seeded")
    assert seeded_timeline.head_start_labels == world.emulator.service.timeline("birds-1").model_labels


def test_a_model_the_emulator_did_not_create_gets_the_documented_head_start(world: World) -> None:
    foreign = "arn:aws:sagemaker:us-east-1:123456789012:model/trained-elsewhere"
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A, initial_model_arn=foreign))

    assert world.emulator.service.timeline("birds-1").head_start_labels == DEFAULTS.unknown_model_labels


def test_a_model_of_another_task_type_fails_the_job_that_uses_it(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A))
    model = world.run_to_end("birds-1")["LabelingJobOutput"]["FinalActiveLearningModelArn"]
    classes = put_labels(world.s3, ["Bird", "Plane"], key="config/classes.json")
    request = labeling_request(
        "classify",
        HALF_A,
        task_type=TaskType.IMAGE_CLASSIFICATION,
        initial_model_arn=model,
        labels_uri=classes,
    )
    world.sagemaker.create_labeling_job(**request)

    described = world.run_to_end("classify")

    assert described["LabelingJobStatus"] == "Failed"
    assert "InitialActiveLearningModelArn" in described["FailureReason"]


def test_a_missing_manifest_fails_the_job_not_the_create_call(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", "s3://gt-data/birds/missing.manifest"))

    assert describe(world)["LabelingJobStatus"] == "Initializing"
    described = world.run_to_end("birds-1", step_seconds=60)

    assert described["LabelingJobStatus"] == "Failed"
    assert "missing.manifest" in described["FailureReason"]
    assert "LabelingJobOutput" not in described


def test_stop_labeling_job_stops_midway_with_the_counters_reached_so_far(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A))
    timeline = world.emulator.service.timeline("birds-1")
    reached = describe_at(world, timeline.iterations[2].ended_at + 1)

    world.sagemaker.stop_labeling_job(LabelingJobName="birds-1")
    stopping = describe(world)
    world.clock.advance(DEFAULTS.stopping_seconds + timeline.ended_at)
    stopped = describe(world)

    assert stopping["LabelingJobStatus"] == "Stopping"
    assert stopped["LabelingJobStatus"] == "Stopped"
    assert stopped["LabelCounters"] == reached["LabelCounters"]
    assert stopped["LabelCounters"]["Unlabeled"] > 0
    assert stopped["LabelingJobOutput"]["OutputDatasetS3Uri"].endswith("manifests/output/output.manifest")
    assert summarize_job(world.s3, stopped).cross_check == ()


def test_a_job_that_has_ended_cannot_be_stopped(world: World) -> None:
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A))
    world.run_to_end("birds-1")

    with pytest.raises(ClientError, match="ValidationException"):
        world.sagemaker.stop_labeling_job(LabelingJobName="birds-1")


def test_an_injected_stop_stops_matching_jobs_midway() -> None:
    with emulator_world(faults=FaultInjection(stops=(JobStop("^birds-", at_fraction=0.5),))) as world:
        manifest = world.put_dataset("birds/half-a.manifest", 1250)
        world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest))
        world.sagemaker.create_labeling_job(**labeling_request("cats-1", manifest))
        ended_at = world.emulator.service.timeline("birds-1").ended_at

        stopping = describe_at(world, 0.5 * ended_at + 1)
        stopped, cats = world.run_to_end("birds-1"), world.run_to_end("cats-1")

    assert stopping["LabelingJobStatus"] == "Stopping"
    assert stopped["LabelingJobStatus"] == "Stopped"
    assert 0 < stopped["LabelCounters"]["TotalLabeled"] < 1250
    assert cats["LabelingJobStatus"] == "Completed"


def test_an_injected_failure_fails_the_job_with_its_reason_and_no_output_manifest() -> None:
    failure = JobFailure("birds", reason="ClientError: workers walked away", at_fraction=0.6)
    with emulator_world(faults=FaultInjection(failures=(failure,))) as world:
        manifest = world.put_dataset("birds/half-a.manifest", 1250)
        world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest))

        failed = world.run_to_end("birds-1")
        summary = summarize_job(world.s3, failed)

    assert failed["LabelingJobStatus"] == "Failed"
    assert failed["FailureReason"] == "ClientError: workers walked away"
    assert "LabelingJobOutput" not in failed
    assert failed["LabelCounters"]["HumanLabeled"] > 0
    assert summary.cross_check == ()
    assert summary.output_manifest is None


def test_a_status_delay_keeps_the_job_initializing_longer() -> None:
    delay = StatusDelay(extra_initializing_seconds=7200)
    with emulator_world(faults=FaultInjection(delays=(delay,))) as world:
        manifest = world.put_dataset("birds/half-a.manifest", 1250)
        world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest))

        world.clock.advance(DEFAULTS.initializing_seconds + 3600)
        delayed = describe(world)
        world.clock.advance(3600)
        started = describe(world)

    assert delayed["LabelingJobStatus"] == "Initializing"
    assert started["LabelingJobStatus"] == "InProgress"


def test_a_stopping_condition_stops_the_job_when_humans_reach_the_cap(world: World) -> None:
    stopping = {"MaxHumanLabeledObjectCount": 300}
    world.sagemaker.create_labeling_job(**labeling_request("birds-1", HALF_A, stopping=stopping))

    described = world.run_to_end("birds-1")

    assert described["LabelingJobStatus"] == "Stopped"
    assert described["LabelCounters"]["HumanLabeled"] == 300
    assert summarize_job(world.s3, described).cross_check == ()


def test_a_work_teams_size_from_the_params_sets_how_long_its_job_runs() -> None:
    small_team = SimulationParams(team_sizes={VENDOR_TEAM: 3})
    with emulator_world(params=small_team) as world:
        manifest = world.put_dataset("birds/half-a.manifest", 1250)
        for name, team in (("by-vendor", VENDOR_TEAM), ("by-private", PRIVATE_TEAM)):
            world.sagemaker.create_labeling_job(**labeling_request(name, manifest, workteam_arn=team))
        vendor, private = (world.emulator.service.timeline(n) for n in ("by-vendor", "by-private"))

    assert vendor.human_labeled == private.human_labeled
    assert vendor.ended_at > 1.5 * private.ended_at  # 3 people instead of the default 10
    assert {a.worker for i in vendor.iterations for a in i.answers} == {0, 1, 2}
