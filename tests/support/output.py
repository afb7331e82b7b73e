"""Write a labeling job's S3 output in Ground Truth's documented layout (for RecordMetrics tests).

Test data, not the emulator: worker answers carry only the fields LabelChain reads (``workerId``,
``acceptanceTime``, ``submissionTime``, ``timeSpentInSeconds``) and a fixed time per answer."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from labelchain.core.s3_layout import job_output_key_prefix
from tests.conftest import TEST_SETTINGS


def _box_label(boxes: int) -> dict[str, Any]:
    return {
        "image_size": [{"width": 640, "height": 480, "depth": 3}],
        "annotations": [
            {"class_id": 0, "left": 10 * i, "top": 10, "width": 50, "height": 40} for i in range(boxes)
        ],
    }


def _worker_response(workers: int, seconds: float) -> str:
    """One human-labeled object's ``{"answers": [...]}``: ``workers`` answers of ``seconds`` each."""
    answers = [
        {
            "workerId": f"private.us-east-1.test-worker-{worker}",
            "acceptanceTime": "2026-11-28T12:00:00.000Z",
            "submissionTime": f"2026-11-28T12:{int(seconds) // 60:02d}:{int(seconds) % 60:02d}.000Z",
            "timeSpentInSeconds": seconds,
            "answerContent": {"boundingBox": {"boundingBoxes": []}},
        }
        for worker in range(1, workers + 1)
    ]
    return json.dumps({"answers": answers})


def _metadata(job_name: str, boxes: int, human: bool) -> dict[str, Any]:
    return {
        "objects": [{"confidence": 0.9} for _ in range(boxes)],
        "class-map": {"0": "Bird"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes" if human else "no",
        "creation-date": "2026-11-28T12:00:00.000000",
        "job-name": f"labeling-job/{job_name}",
    }


def write_bounding_box_output(
    s3: Any,
    project: str,
    job_name: str,
    iterations: Sequence[tuple[int, int]],
    label_attribute: str = "category",
    boxes_per_object: int = 2,
    seconds_per_answer: float | None = None,
    workers_per_object: int = 1,
) -> str:
    """Write consolidation responses, auto-annotator output and the output manifest.

    ``iterations`` holds ``(human objects, machine objects)`` per iteration (1-based). With
    ``seconds_per_answer`` (below an hour), every human-labeled object also gets a worker-response file
    of ``workers_per_object`` answers taking that long each. Returns the output manifest URI.
    """
    bucket = TEST_SETTINGS.output_bucket
    base = job_output_key_prefix(project, job_name).rstrip("/")
    manifest_lines = []
    next_id = 0
    for number, (human, machine) in enumerate(iterations, start=1):
        consolidated = []
        for _ in range(human):
            label = {label_attribute: _box_label(boxes_per_object)}
            label[f"{label_attribute}-metadata"] = _metadata(job_name, boxes_per_object, human=True)
            consolidated.append(
                {"datasetObjectId": str(next_id), "consolidatedAnnotation": {"content": label}}
            )
            manifest_lines.append({"source-ref": f"s3://data/{next_id}.jpg", **label})
            if seconds_per_answer is not None:
                key = f"{base}/annotations/worker-response/iteration-{number}/{next_id}/"
                body = _worker_response(workers_per_object, seconds_per_answer)
                s3.put_object(Bucket=bucket, Key=key + "2026-11-28_12:00:00.json", Body=body)
            next_id += 1
        if consolidated:
            key = f"{base}/annotations/consolidated-annotation/consolidation-response/iteration-{number}/"
            s3.put_object(Bucket=bucket, Key=key + "2026-11-28_12:00:00.json", Body=json.dumps(consolidated))
        machine_lines = []
        for _ in range(machine):
            line = {
                "source-ref": f"s3://data/{next_id}.jpg",
                label_attribute: _box_label(boxes_per_object),
                f"{label_attribute}-metadata": _metadata(job_name, boxes_per_object, human=False),
            }
            machine_lines.append(f"{next_id} {json.dumps(line)}")
            manifest_lines.append(line)
            next_id += 1
        if machine_lines:
            key = f"{base}/activelearning/{job_name}/iteration-{number}/auto_annotator_output.txt"
            s3.put_object(Bucket=bucket, Key=key, Body="\n".join(machine_lines) + "\n")
    manifest_key = f"{base}/manifests/output/output.manifest"
    s3.put_object(
        Bucket=bucket, Key=manifest_key, Body="\n".join(json.dumps(m) for m in manifest_lines) + "\n"
    )
    return f"s3://{bucket}/{manifest_key}"
