"""Specification of reading a finished labeling job's S3 output: which file is what, and what it counts.

Fixtures are written in-test in the shapes docs/GROUND_TRUTH.md documents ("What a finished job leaves
in S3"); the activelearning/ layout is the one LabelChain assumes (see ``core.output_layout``).
"""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterable, Iterator

import pytest
from pydantic import ValidationError

from labelchain.core.catalog import TaskType, spec_for
from labelchain.core.output_layout import (
    SUMMARIZED_KINDS,
    OutputFile,
    OutputKind,
    classify_output_key,
    count_auto_annotator_output,
    count_consolidation_response,
    count_output_manifest,
)
from labelchain.core.output_summary import summarize_output
from labelchain.core.records import Counters
from labelchain.errors import OutputLayoutError

BOX = TaskType.BOUNDING_BOX
ATTR = "category"
JOB = "birds-1"
PREFIX = f"gt-output/{JOB}/"
CONSOLIDATION_DIR = "annotations/consolidated-annotation/consolidation-response"

# --- fixture writers: the JSON Ground Truth leaves in S3 --------------------------------------------


def label_attribute_for(task_type: TaskType) -> str:
    return f"{ATTR}-ref" if task_type is TaskType.SEMANTIC_SEGMENTATION else ATTR


def labels(
    task_type: TaskType = BOX, *, boxes: int = 1, human: bool = True, class_name: str = "Bird"
) -> dict[str, object]:
    """The ``<attr>`` and ``<attr>-metadata`` pair Ground Truth writes for one labeled object."""
    attribute = label_attribute_for(task_type)
    metadata: dict[str, object] = {
        "type": spec_for(task_type).metadata_type,
        "human-annotated": "yes" if human else "no",
        "creation-date": "2019-05-14T20:04:54.123456",
        "job-name": f"labeling-job/{JOB}",
    }
    label: object
    if task_type is BOX:
        label = {
            "image_size": [{"width": 1024, "height": 768, "depth": 3}],
            "annotations": [
                {"class_id": 0, "left": 10 * i, "top": 20, "width": 50, "height": 40} for i in range(boxes)
            ],
        }
        metadata |= {"objects": [{"confidence": 0.91}] * boxes, "class-map": {"0": class_name}}
    elif task_type is TaskType.SEMANTIC_SEGMENTATION:
        label = f"s3://bucket/{JOB}/annotations/consolidated-annotation/output/0_2019-05-14T20:04:54.png"
        metadata |= {"internal-color-map": {"0": {"class-name": class_name, "hex-color": "#2ca02c"}}}
    else:
        label = 0
        metadata |= {"class-name": class_name, "confidence": 0.95}
    return {attribute: label, f"{attribute}-metadata": metadata}


def consolidation_item(
    object_id: int | str, task_type: TaskType = BOX, *, boxes: int = 1, class_name: str = "Bird"
) -> dict[str, object]:
    return {
        "datasetObjectId": str(object_id),
        "consolidatedAnnotation": {"content": labels(task_type, boxes=boxes, class_name=class_name)},
    }


def json_array(items: Iterable[object]) -> bytes:
    return json.dumps(list(items), ensure_ascii=False, indent=1).encode()


def manifest_line(index: int, task_type: TaskType = BOX, *, human: bool | None = True, boxes: int = 1) -> str:
    """One output-manifest line; ``human=None`` is an object that ended unlabeled (or failed)."""
    line: dict[str, object] = {"source-ref": f"s3://bucket/images/{index:05}.jpg"}
    if human is not None:
        line |= labels(task_type, boxes=boxes, human=human)
    return json.dumps(line, ensure_ascii=False)


def auto_annotator_line(index: int, task_type: TaskType = BOX, *, boxes: int = 1) -> str:
    return f"{index:08x} {manifest_line(index, task_type, human=False, boxes=boxes)}"


def text_file(lines: Iterable[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


def chunked(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def consolidation_key(iteration: int, stamp: str = "2019-05-14_20:04:54") -> str:
    return f"{PREFIX}{CONSOLIDATION_DIR}/iteration-{iteration}/{stamp}.json"


def auto_annotator_key(iteration: int) -> str:
    return f"{PREFIX}activelearning/{JOB}-auto-annotation/{iteration}/inference/auto_annotator_output.txt"


OUTPUT_MANIFEST_KEY = f"{PREFIX}manifests/output/output.manifest"


def output_file(key: str, data: bytes) -> tuple[OutputFile, list[bytes]]:
    classified = classify_output_key(key, PREFIX)
    assert classified is not None, key
    return classified, chunked(data)


def finished_job(
    plan: list[tuple[int, int]],
    task_type: TaskType = BOX,
    *,
    boxes: int = 2,
    with_auto_annotator: bool = True,
    with_manifest: bool = True,
) -> list[tuple[OutputFile, list[bytes]]]:
    """A job's output: iteration ``n`` (from 1) human-labels ``plan[n-1][0]`` new objects, machine ``[1]``."""
    files, manifest, next_id = [], [], 0
    for iteration, (human, machine) in enumerate(plan, start=1):
        human_ids = range(next_id, next_id + human)
        machine_ids = range(next_id + human, next_id + human + machine)
        next_id += human + machine
        if human_ids:
            items = [consolidation_item(i, task_type, boxes=boxes) for i in human_ids]
            files.append(output_file(consolidation_key(iteration), json_array(items)))
        if machine_ids and with_auto_annotator:
            lines = [auto_annotator_line(i, task_type, boxes=boxes) for i in machine_ids]
            files.append(output_file(auto_annotator_key(iteration), text_file(lines)))
        manifest += [manifest_line(i, task_type, boxes=boxes) for i in human_ids]
        manifest += [manifest_line(i, task_type, human=False, boxes=boxes) for i in machine_ids]
    if with_manifest:
        files.append(output_file(OUTPUT_MANIFEST_KEY, text_file(manifest)))
    return files


def counters(human: int, machine: int) -> dict[str, int]:
    """``LabelCounters`` as DescribeLabelingJob returns them."""
    return {
        "TotalLabeled": human + machine,
        "HumanLabeled": human,
        "MachineLabeled": machine,
        "FailedNonRetryableError": 0,
        "Unlabeled": 0,
    }


# --- which file is what ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative_key", "kind", "iteration"),
    [
        (f"{CONSOLIDATION_DIR}/iteration-10/2019-05-14_20:04:54.json", OutputKind.CONSOLIDATION_RESPONSE, 10),
        (
            "annotations/worker-response/iteration-11/17/2019-05-14_20:04:54.json",
            OutputKind.WORKER_RESPONSE,
            11,
        ),
        ("manifests/intermediate/12/output.manifest", OutputKind.INTERMEDIATE_MANIFEST, 12),
        (
            "activelearning/auto-annotation/3/inference/auto_annotator_output.txt",
            OutputKind.AUTO_ANNOTATOR_OUTPUT,
            3,
        ),
        ("activelearning/x/iteration-14/auto_annotator_output.txt", OutputKind.AUTO_ANNOTATOR_OUTPUT, 14),
        (
            "activelearning/2019/iteration-4/out/auto_annotator_output.txt",
            OutputKind.AUTO_ANNOTATOR_OUTPUT,
            4,
        ),
        ("manifests/output/output.manifest", OutputKind.OUTPUT_MANIFEST, None),
    ],
)
def test_each_documented_output_file_is_classified_with_its_iteration(
    relative_key: str, kind: OutputKind, iteration: int | None
) -> None:
    classified = classify_output_key(PREFIX + relative_key, PREFIX)

    assert classified == OutputFile(key=PREFIX + relative_key, kind=kind, iteration=iteration)


@pytest.mark.parametrize(
    "key",
    [
        f"{PREFIX}training/model.tar.gz",
        f"{PREFIX}inference/output/batch-1.out",
        f"{PREFIX}{CONSOLIDATION_DIR}/iteration-1/readme.txt",
        f"{PREFIX}manifests/intermediate/latest/output.manifest",
        f"{PREFIX}activelearning/3/model.tar.gz",
        f"gt-output/{JOB}-2/manifests/output/output.manifest",
        "manifests/output/output.manifest",
    ],
)
def test_training_inference_and_foreign_keys_are_not_output_files(key: str) -> None:
    assert classify_output_key(key, PREFIX) is None


def test_the_job_prefix_may_omit_its_trailing_slash() -> None:
    classified = classify_output_key(OUTPUT_MANIFEST_KEY, PREFIX.rstrip("/"))

    assert classified is not None
    assert classified.kind is OutputKind.OUTPUT_MANIFEST


def test_auto_annotator_output_without_an_iteration_in_its_key_has_no_iteration() -> None:
    classified = classify_output_key(f"{PREFIX}activelearning/latest/auto_annotator_output.txt", PREFIX)

    assert classified is not None
    assert classified.kind is OutputKind.AUTO_ANNOTATOR_OUTPUT
    assert classified.iteration is None


def test_iterations_10_and_11_sort_after_9_not_after_1() -> None:
    keys = sorted(consolidation_key(i) for i in range(1, 12))  # S3 lists keys in this (lexical) order

    files = sorted((f for f in (classify_output_key(k, PREFIX) for k in keys) if f), key=lambda f: f.sort_key)

    assert [f.iteration for f in files] == list(range(1, 12))


def test_a_consolidation_response_must_belong_to_an_iteration() -> None:
    with pytest.raises(ValidationError, match="belongs to an iteration"):
        OutputFile(key="k", kind=OutputKind.CONSOLIDATION_RESPONSE)


def test_only_label_bearing_files_are_summarized() -> None:
    assert {OutputKind.WORKER_RESPONSE, OutputKind.INTERMEDIATE_MANIFEST}.isdisjoint(SUMMARIZED_KINDS)


# --- one consolidation-response file ----------------------------------------------------------------


def test_consolidation_counts_are_identical_for_a_split_at_every_byte_position() -> None:
    data = json_array(
        consolidation_item(i, boxes=i, class_name=name) for i, name in enumerate(["Vögel", "鳥", "🐦"])
    )

    for position in range(len(data) + 1):
        batch = count_consolidation_response([data[:position], data[position:]], ATTR, BOX)

        assert (batch.labeled_objects, batch.boxes) == ({"0": 0, "1": 1, "2": 2}, 3), position


def test_multibyte_label_names_survive_one_byte_chunks() -> None:
    data = json_array([consolidation_item(7, class_name="Rotkehlchen-Vögel 鳥 🐦")])

    batch = count_consolidation_response([data[i : i + 1] for i in range(len(data))], ATTR, BOX)

    assert batch.labeled_objects == {"7": 1}


def test_an_object_repeated_in_one_file_counts_once() -> None:
    data = json_array([consolidation_item(1, boxes=3), consolidation_item(2), consolidation_item(1, boxes=3)])

    batch = count_consolidation_response(chunked(data), ATTR, BOX)

    assert batch.object_ids == {"1", "2"}
    assert batch.boxes == 4


@pytest.mark.parametrize(
    "task_type", [TaskType.IMAGE_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION, TaskType.SEMANTIC_SEGMENTATION]
)
def test_task_types_without_boxes_count_objects_and_no_boxes(task_type: TaskType) -> None:
    data = json_array(consolidation_item(i, task_type) for i in range(3))

    batch = count_consolidation_response(chunked(data), label_attribute_for(task_type), task_type)

    assert len(batch.object_ids) == 3
    assert batch.boxes is None


def test_odd_consolidation_items_are_counted_not_fatal() -> None:
    items = [
        consolidation_item(1),
        {"datasetObjectId": "2", "consolidatedAnnotation": {"content": {}}},
        {"consolidatedAnnotation": {"content": labels()}},
        {"datasetObjectId": "4", "consolidatedAnnotation": {"content": {ATTR: {"image_size": []}}}},
        "not an object",
    ]

    batch = count_consolidation_response(chunked(json_array(items)), ATTR, BOX)

    assert (sorted(batch.object_ids), batch.unlabeled_items, batch.malformed_items) == (["1"], 1, 3)


def test_a_truncated_consolidation_file_raises_output_layout_error() -> None:
    data = json_array([consolidation_item(1), consolidation_item(2)])[:-40]

    with pytest.raises(OutputLayoutError, match="not a readable JSON array"):
        count_consolidation_response(chunked(data, 64), ATTR, BOX)


@pytest.mark.scale
def test_streaming_a_50_mb_consolidation_file_keeps_memory_bounded() -> None:
    # Dense images (100 boxes, ~9 KB per item): the distinct ids are kept for de-duplication, the
    # 50 MB of label text must not be.
    template = json.dumps(consolidation_item("OBJECT_ID", boxes=100)).encode()
    item_count = 50 * 1024 * 1024 // (len(template) + 1)

    def fifty_megabytes_in_64_kib_chunks() -> Iterator[bytes]:
        buffer = bytearray(b"[")
        for i in range(item_count):
            buffer += template.replace(b"OBJECT_ID", str(i).encode())
            buffer += b"," if i < item_count - 1 else b"]"
            while len(buffer) >= 64 * 1024:
                yield bytes(buffer[: 64 * 1024])
                del buffer[: 64 * 1024]
        yield bytes(buffer)

    tracemalloc.start()
    try:
        batch = count_consolidation_response(fifty_megabytes_in_64_kib_chunks(), ATTR, BOX)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(batch.object_ids) == item_count
    assert batch.boxes == 100 * item_count
    assert peak < 5 * 1024 * 1024


# --- auto_annotator_output.txt and the output manifest ----------------------------------------------


def test_auto_annotator_output_counts_machine_objects_and_boxes() -> None:
    data = text_file(auto_annotator_line(i, boxes=i) for i in range(1, 5))

    batch = count_auto_annotator_output(chunked(data, 100), ATTR, BOX)

    assert (batch.objects, batch.boxes, batch.malformed_lines) == (4, 1 + 2 + 3 + 4, 0)


def test_malformed_auto_annotator_lines_are_counted_and_blank_lines_skipped() -> None:
    lines = [
        auto_annotator_line(1, boxes=2),
        "",
        "   ",
        "0000002a {not json",
        "0000002b",
        f"0000002c {json.dumps({'source-ref': 's3://bucket/x.jpg'})}",
        f"0000002d {json.dumps({ATTR: {'image_size': []}})}",
        manifest_line(3, human=False, boxes=1),  # a bare JSON line, no token
        auto_annotator_line(4, boxes=1) + "\r",
    ]

    batch = count_auto_annotator_output(chunked(text_file(lines), 50), ATTR, BOX)

    assert (batch.objects, batch.boxes, batch.malformed_lines) == (3, 4, 4)


def test_output_manifest_splits_objects_by_who_labeled_them() -> None:
    lines = [
        *(manifest_line(i, human=True, boxes=2) for i in range(5)),
        *(manifest_line(i, human=False, boxes=3) for i in range(5, 8)),
        manifest_line(8, human=None),
        "{broken",
        json.dumps({"source-ref": "s3://bucket/9.jpg", ATTR: {"annotations": []}}),  # no human-annotated
        "",
    ]

    totals = count_output_manifest(chunked(text_file(lines), 33), ATTR, BOX)

    assert totals.model_dump() == {
        "objects": 11,
        "human_annotated": 5,
        "machine_annotated": 3,
        "unlabeled": 1,
        "malformed_lines": 2,
        "boxes": 5 * 2 + 3 * 3,
    }


def test_classification_manifest_has_no_boxes() -> None:
    task_type = TaskType.TEXT_CLASSIFICATION
    data = text_file(manifest_line(i, task_type, human=i % 2 == 0) for i in range(4))

    totals = count_output_manifest(chunked(data), ATTR, task_type)

    assert (totals.human_annotated, totals.machine_annotated, totals.boxes) == (2, 2, None)


# --- the whole job ----------------------------------------------------------------------------------

TUTORIAL_LIKE_PLAN = [(200, 0), (50, 0), (100, 400), (60, 440)]
"""Iterations 1 and 2 human-only batches of 200 and 50, as in AWS's bird experiment."""


def test_summary_rows_follow_the_iterations_and_agree_with_the_counters() -> None:
    summary = summarize_output(finished_job(TUTORIAL_LIKE_PLAN), ATTR, BOX, counters(410, 840))

    assert [(r.iteration, r.human_objects, r.machine_objects, r.boxes) for r in summary.iterations] == [
        (1, 200, 0, 400),
        (2, 50, 0, 100),
        (3, 100, 400, 1000),
        (4, 60, 440, 1000),
    ]
    assert (summary.totals.human_objects, summary.totals.machine_objects, summary.totals.boxes) == (
        410,
        840,
        2500,
    )
    assert summary.totals.machine_source == "auto_annotator_output"
    assert summary.cross_check == ()
    assert summary.notes == ()


def test_a_12_iteration_job_in_s3_listing_order_gives_12_numerically_sorted_rows() -> None:
    plan = [(30, 0), (20, 0), *((10, 5 * i) for i in range(3, 13))]
    files = sorted(finished_job(plan), key=lambda f: f[0].key)  # iteration-10 lists before iteration-2

    summary = summarize_output(files, ATTR, BOX, counters(150, sum(m for _, m in plan)))

    assert [r.iteration for r in summary.iterations] == list(range(1, 13))
    assert [(r.human_objects, r.machine_objects) for r in summary.iterations] == plan
    assert summary.cross_check == ()


def test_an_object_labeled_in_two_iterations_counts_once_at_its_first() -> None:
    files = [
        output_file(
            consolidation_key(12), json_array([consolidation_item(1, boxes=5), consolidation_item(3)])
        ),
        output_file(
            consolidation_key(2), json_array([consolidation_item(1, boxes=2), consolidation_item(2)])
        ),
        output_file(auto_annotator_key(12), b""),  # the machine labeled nothing
    ]

    summary = summarize_output(files, ATTR, BOX, counters(3, 0))

    assert [(r.iteration, r.human_objects, r.boxes) for r in summary.iterations] == [
        (2, 2, 2 + 1),
        (12, 1, 1),
    ]
    assert summary.totals.human_objects == 3  # object 1 counts at iteration 2, with the boxes of that label
    assert any("1 objects are in consolidation responses of several iterations" in n for n in summary.notes)


def test_an_object_in_two_files_of_one_iteration_counts_once() -> None:
    files = [
        output_file(consolidation_key(3, "2019-05-14_20:04:54"), json_array([consolidation_item(1)])),
        output_file(consolidation_key(3, "2019-05-14_21:10:02"), json_array(map(consolidation_item, [1, 2]))),
    ]

    summary = summarize_output(files, ATTR, BOX, counters(2, 0))

    assert [(r.iteration, r.human_objects) for r in summary.iterations] == [(3, 2)]
    assert not any("several iterations" in n for n in summary.notes)


def test_disagreeing_counters_are_reported_per_source_not_raised() -> None:
    summary = summarize_output(finished_job(TUTORIAL_LIKE_PLAN), ATTR, BOX, counters(400, 845))

    assert [(m.counter, m.source, m.counted, m.counter_value) for m in summary.cross_check] == [
        ("HumanLabeled", "consolidation responses", 410, 400),
        ("MachineLabeled", "auto_annotator_output files", 840, 845),
        ("HumanLabeled", "output manifest", 410, 400),
        ("MachineLabeled", "output manifest", 840, 845),
    ]
    assert summary.cross_check[0].message == (
        "consolidation responses: 410 objects, but LabelCounters.HumanLabeled is 400"
    )


def test_missing_auto_annotator_files_fall_back_to_the_output_manifest_and_say_so() -> None:
    files = finished_job(TUTORIAL_LIKE_PLAN, with_auto_annotator=False)

    summary = summarize_output(files, ATTR, BOX, counters(410, 840))

    assert [(r.machine_objects, r.boxes) for r in summary.iterations] == [(None, None)] * 4
    assert [r.human_objects for r in summary.iterations] == [200, 50, 100, 60]
    assert (summary.totals.machine_objects, summary.totals.boxes) == (840, 2500)
    assert summary.totals.machine_source == "output_manifest"
    assert summary.cross_check == ()
    assert summary.notes == (
        "no auto_annotator_output.txt found (undocumented layout): machine objects per iteration are"
        " unknown; the machine total comes from the output manifest",
    )


def test_without_auto_annotator_files_or_manifest_the_machine_total_is_unknown() -> None:
    files = finished_job(TUTORIAL_LIKE_PLAN, with_auto_annotator=False, with_manifest=False)

    summary = summarize_output(files, ATTR, BOX, counters(410, 840))

    assert (summary.totals.machine_objects, summary.totals.machine_source) == (None, "unknown")
    assert summary.output_manifest is None
    assert summary.cross_check == ()
    assert "no output manifest: its counts were not cross-checked" in summary.notes


def test_machine_labels_without_an_iteration_count_in_the_totals_only() -> None:
    unattributed = f"{PREFIX}activelearning/latest/auto_annotator_output.txt"
    files = [
        *finished_job([(5, 0), (5, 10)]),
        output_file(unattributed, text_file([auto_annotator_line(99)])),
    ]

    summary = summarize_output(files, ATTR, BOX, counters(10, 11))

    assert [r.machine_objects for r in summary.iterations] == [0, 10]
    assert summary.totals.machine_objects == 11
    assert [(m.source, m.counted) for m in summary.cross_check] == [("output manifest", 10)]
    assert any("without an iteration in their key" in n for n in summary.notes)


def test_classification_summary_has_no_boxes() -> None:
    task_type = TaskType.IMAGE_CLASSIFICATION
    summary = summarize_output(finished_job([(20, 0), (5, 30)], task_type), ATTR, task_type, counters(25, 30))

    assert [r.boxes for r in summary.iterations] == [None, None]
    assert summary.totals.boxes is None
    assert summary.cross_check == ()


def test_worker_responses_and_intermediate_manifests_are_not_read() -> None:
    def unreadable() -> Iterator[bytes]:
        raise AssertionError("this file should not be downloaded")
        yield b""

    skipped = [
        classify_output_key(
            f"{PREFIX}annotations/worker-response/iteration-1/0/2019-05-14_20:04:54.json", PREFIX
        ),
        classify_output_key(f"{PREFIX}manifests/intermediate/1/output.manifest", PREFIX),
    ]
    files = [*finished_job([(3, 0)]), *((f, unreadable()) for f in skipped if f)]

    summary = summarize_output(files, ATTR, BOX, counters(3, 0))

    assert summary.totals.human_objects == 3


def test_label_counters_may_be_the_record_model() -> None:
    summary = summarize_output(
        finished_job([(4, 0), (1, 6)]),
        ATTR,
        BOX,
        Counters(total_labeled=11, human_labeled=5, machine_labeled=6),
    )

    assert summary.cross_check == ()


def test_a_broken_consolidation_file_is_reported_with_its_key() -> None:
    key = consolidation_key(2)
    files = [output_file(key, b'[{"datasetObjectId": "1"')]

    with pytest.raises(
        OutputLayoutError, match=f"^{key}: consolidation response is not a readable JSON array"
    ):
        summarize_output(files, ATTR, BOX, counters(1, 0))


def test_the_order_files_arrive_in_does_not_change_the_summary() -> None:
    files = finished_job([(9, 0), (4, 0), (3, 7), (3, 7), (1, 20)])
    shuffled = files.copy()
    random.Random(7).shuffle(shuffled)

    assert summarize_output(shuffled, ATTR, BOX, counters(20, 34)) == summarize_output(
        files, ATTR, BOX, counters(20, 34)
    )
