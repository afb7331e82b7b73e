"""Specification of the output the emulator writes: Ground Truth's layout, read by LabelChain's parser."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from labelchain.core.catalog import TaskType, spec_for
from local.ground_truth import SimulationParams
from tests.emulator import (
    OUTPUT_BUCKET,
    World,
    all_output_keys,
    emulator_world,
    labeling_request,
    put_labels,
    summarize_job,
)

PREFIX = "birds/birds-1/"
CONSOLIDATION = re.compile(
    r"annotations/consolidated-annotation/consolidation-response/iteration-(\d+)/\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.json"
)
WORKER_RESPONSE = re.compile(
    r"annotations/worker-response/iteration-(\d+)/(\d+)/\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.json"
)


@pytest.fixture(scope="module")
def finished() -> Iterator[tuple[World, dict[str, Any]]]:
    """One bounding-box job of 1,250 objects, run to completion."""
    with emulator_world() as world:
        manifest = world.put_dataset("birds/half-a.manifest", 1250)
        world.sagemaker.create_labeling_job(**labeling_request("birds-1", manifest))
        yield world, world.run_to_end("birds-1")


def read_lines(world: World, key: str) -> list[str]:
    body = world.s3.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read().decode()
    return [line for line in body.splitlines() if line.strip()]


def relative_keys(world: World) -> list[str]:
    return [key[len(PREFIX) :] for key in all_output_keys(world.s3, OUTPUT_BUCKET, PREFIX)]


def test_labelchains_parser_reads_the_output_with_no_cross_check_mismatch(
    finished: tuple[World, dict[str, Any]],
) -> None:
    world, described = finished

    summary = summarize_job(world.s3, described)

    timeline = world.emulator.service.timeline("birds-1")
    assert summary.cross_check == ()
    assert summary.totals.machine_source == "auto_annotator_output"
    assert [(row.iteration, row.human_objects, row.machine_objects) for row in summary.iterations] == [
        (i.number, len(i.human_objects), len(i.machine_objects)) for i in timeline.iterations
    ]


def test_each_human_batch_has_one_consolidation_file_and_each_iteration_a_manifest(
    finished: tuple[World, dict[str, Any]],
) -> None:
    world, _ = finished
    iterations = len(world.emulator.service.timeline("birds-1").iterations)

    keys = relative_keys(world)

    consolidated = sorted(int(m[1]) for k in keys if (m := CONSOLIDATION.fullmatch(k)))
    with_humans = [i.number for i in world.emulator.service.timeline("birds-1").iterations if i.human_objects]
    assert consolidated == with_humans
    for number in range(1, iterations + 1):
        assert f"manifests/intermediate/{number}/output.manifest" in keys
    assert "manifests/output/output.manifest" in keys


def worker_responses(world: World) -> dict[tuple[int, int], dict[str, Any]]:
    """(iteration, datasetObjectId) → (key, document) of every worker-response file."""
    found = {}
    for key in relative_keys(world):
        if match := WORKER_RESPONSE.fullmatch(key):
            body = world.s3.get_object(Bucket=OUTPUT_BUCKET, Key=PREFIX + key)["Body"].read()
            found[int(match[1]), int(match[2])] = {"key": key, **json.loads(body)}
    return found


def test_every_human_labeled_object_has_one_worker_response_file_per_iteration_it_was_labeled_in(
    finished: tuple[World, dict[str, Any]],
) -> None:
    world, described = finished
    timeline = world.emulator.service.timeline("birds-1")

    files = worker_responses(world)

    assert sorted(files) == sorted(
        (i.number, index) for i in timeline.iterations for index in i.human_objects
    )
    assert len(files) == described["LabelCounters"]["HumanLabeled"]


def test_a_worker_response_holds_one_answer_per_worker_with_the_real_fields_marked_simulated(
    finished: tuple[World, dict[str, Any]],
) -> None:
    world, _ = finished

    document = next(iter(worker_responses(world).values()))

    answers = document["answers"]
    assert len(answers) == 3  # NumberOfHumanWorkersPerDataObject
    assert len({answer["workerId"] for answer in answers}) == 3  # three different people
    for answer in answers:
        assert re.fullmatch(r"private\.us-east-1\.[0-9a-f]{16}", answer["workerId"])
        assert {"acceptanceTime", "submissionTime", "timeSpentInSeconds", "answerContent"} <= set(answer)
        assert answer["workerMetadata"]["identityData"]["identityProviderType"] == "Simulated"
        assert answer["simulated"] is True
    assert set(document) == {"key", "answers"}  # the real top level; each answer says it is simulated


def answer_moment(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_answer_times_are_positive_consistent_and_within_their_iteration_on_the_simulated_clock(
    finished: tuple[World, dict[str, Any]],
) -> None:
    world, described = finished
    created = described["CreationTime"]
    iterations = {i.number: i for i in world.emulator.service.timeline("birds-1").iterations}

    for (number, _), document in worker_responses(world).items():
        iteration = iterations[number]
        submissions = []
        for answer in document["answers"]:
            accepted = answer_moment(answer["acceptanceTime"])
            submitted = answer_moment(answer["submissionTime"])
            spent = answer["timeSpentInSeconds"]
            assert 0 < spent <= 300  # TaskTimeLimitInSeconds
            assert (submitted - accepted).total_seconds() == pytest.approx(spent, abs=0.0011)
            assert accepted >= created + timedelta(seconds=iteration.started_at)
            assert submitted <= created + timedelta(seconds=iteration.ended_at + 0.001)
            submissions.append(submitted)
        assert document["key"].endswith(f"/{max(submissions).strftime('%Y-%m-%d_%H:%M:%S')}.json")


def test_machine_labels_are_in_auto_annotator_output_under_activelearning(
    finished: tuple[World, dict[str, Any]],
) -> None:
    world, described = finished
    keys = [k for k in relative_keys(world) if k.endswith("auto_annotator_output.txt")]

    lines = [line for key in keys for line in read_lines(world, PREFIX + key)]

    assert all(
        re.fullmatch(r"activelearning/[^/]+/iteration-\d+/auto_annotator_output\.txt", k) for k in keys
    )
    assert len(lines) == described["LabelCounters"]["MachineLabeled"]
    token, payload = lines[0].split(" ", 1)
    assert token.isdigit()
    assert json.loads(payload)["category-metadata"]["human-annotated"] == "no"


def test_the_output_manifest_holds_every_input_line_with_marked_simulated_metadata(
    finished: tuple[World, dict[str, Any]],
) -> None:
    world, described = finished

    lines = [json.loads(line) for line in read_lines(world, PREFIX + "manifests/output/output.manifest")]

    assert len(lines) == 1250
    assert lines[0]["source-ref"] == "s3://gt-data/birds/images/bird-00000.png"
    metadata = [line["category-metadata"] for line in lines]
    assert {m["human-annotated"] for m in metadata} == {"yes", "no"}
    assert sum(m["human-annotated"] == "no" for m in metadata) == described["LabelCounters"]["MachineLabeled"]
    first = metadata[0]
    assert first["type"] == "groundtruth/object-detection"
    assert first["job-name"] == "labeling-job/birds-1"
    assert first["class-map"] == {"0": "Bird"}
    assert first["simulated"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", first["creation-date"])
    box_counts = {len(line["category"]["annotations"]) for line in lines}
    assert box_counts == {1, 2}
    assert all(
        len(m["objects"]) == len(line["category"]["annotations"])
        for m, line in zip(metadata, lines, strict=True)
    )


@pytest.mark.parametrize("task_type", [TaskType.IMAGE_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION])
def test_classification_jobs_write_a_class_per_object_that_the_parser_reads(task_type: TaskType) -> None:
    name = task_type.value.replace("_", "-")
    with emulator_world() as world:
        classes = put_labels(world.s3, ["Bird", "Plane"], key="config/classes.json")
        manifest = world.put_dataset("classify/all.manifest", 1250, task_type=task_type)
        world.sagemaker.create_labeling_job(
            **labeling_request(name, manifest, task_type=task_type, labels_uri=classes)
        )
        described = world.run_to_end(name)
        summary = summarize_job(world.s3, described, task_type)
        line = json.loads(read_lines(world, f"birds/{name}/manifests/output/output.manifest")[0])

    assert summary.cross_check == ()
    assert line["category"] in (0, 1)
    assert line["category-metadata"]["class-name"] in ("Bird", "Plane")
    assert line["category-metadata"]["type"] == spec_for(task_type).metadata_type
    assert 0 < line["category-metadata"]["confidence"] <= 1


def test_semantic_segmentation_jobs_reference_a_mask_per_object() -> None:
    with emulator_world() as world:
        manifest = world.put_dataset("segment/all.manifest", 1250)
        request = labeling_request(
            "segments", manifest, task_type=TaskType.SEMANTIC_SEGMENTATION, label_attribute="category-ref"
        )
        world.sagemaker.create_labeling_job(**request)
        described = world.run_to_end("segments")
        summary = summarize_job(world.s3, described, TaskType.SEMANTIC_SEGMENTATION)
        line = json.loads(read_lines(world, "birds/segments/manifests/output/output.manifest")[0])

    assert summary.cross_check == ()
    assert line["category-ref"].startswith(
        "s3://gt-output/birds/segments/annotations/consolidated-annotation/"
    )
    assert line["category-ref-metadata"]["internal-color-map"]["1"]["class-name"] == "Bird"


def test_same_seed_writes_identical_labels_and_another_seed_different_ones() -> None:
    def output_manifest(seed: int, name: str) -> list[dict[str, Any]]:
        with emulator_world(params=SimulationParams(seed=seed)) as world:
            manifest = world.put_dataset("birds/half-a.manifest", 1250)
            world.sagemaker.create_labeling_job(**labeling_request(name, manifest))
            world.run_to_end(name)
            output = f"birds/{name}/manifests/output/output.manifest"
            lines = [json.loads(line) for line in read_lines(world, output)]
        for line in lines:
            line["category-metadata"].pop("job-name")  # the only field that names the job
        return lines

    first, again, other = (
        output_manifest(38, "first"),
        output_manifest(38, "again"),
        output_manifest(39, "other"),
    )

    assert first == again
    assert first != other
