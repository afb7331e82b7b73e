"""Simulated labels in Ground Truth's output formats, per task type (pure).

No worker and no model looks at the data: a box, a class or a mask reference is a seeded draw from the
object's identity, so it is stable across jobs and runs. Every metadata block carries
``"simulated": true`` so no file can be mistaken for real labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from labelchain.core.catalog import TaskType, spec_for
from local.ground_truth.model import unit_draw

IMAGE_SIZES = ((1024, 768), (1280, 720), (800, 600), (640, 480))


@dataclass(frozen=True)
class LabelContext:
    """What every label of one job shares."""

    task_type: TaskType
    label_attribute: str
    categories: tuple[str, ...]
    job_name: str
    seed: int
    two_box_probability: float
    job_output_uri: str
    """``<S3OutputPath><job-name>/``: semantic-segmentation masks are referenced below it."""


def _draw(context: LabelContext, purpose: str, identity: str) -> float:
    return unit_draw(context.seed, purpose, identity)


def _pick(context: LabelContext, purpose: str, identity: str, count: int) -> int:
    return min(int(_draw(context, purpose, identity) * count), count - 1)


def human_confidence(context: LabelContext, identity: str) -> float:
    """Consolidated human labels are confident, not certain (0.90 to 0.99)."""
    return round(0.90 + 0.09 * _draw(context, "human-confidence", identity), 2)


def _boxes(context: LabelContext, identity: str) -> tuple[tuple[int, int], list[dict[str, int]]]:
    width, height = IMAGE_SIZES[_pick(context, "image-size", identity, len(IMAGE_SIZES))]
    count = 2 if _draw(context, "box-count", identity) < context.two_box_probability else 1
    boxes = []
    for number in range(count):
        key = f"{identity}#{number}"
        box_width = int(width * (0.15 + 0.45 * _draw(context, "box-width", key)))
        box_height = int(height * (0.15 + 0.45 * _draw(context, "box-height", key)))
        boxes.append(
            {
                "class_id": _pick(context, "box-class", key, len(context.categories)),
                "left": int((width - box_width) * _draw(context, "box-left", key)),
                "top": int((height - box_height) * _draw(context, "box-top", key)),
                "width": box_width,
                "height": box_height,
            }
        )
    return (width, height), boxes


def object_label(
    context: LabelContext,
    identity: str,
    dataset_object_id: str,
    *,
    human: bool,
    confidence: float,
    labeled_at: datetime,
) -> dict[str, Any]:
    """``{<attr>: label, <attr>-metadata: metadata}`` for one object, as the output manifest holds it."""
    metadata: dict[str, Any] = {
        "type": spec_for(context.task_type).metadata_type,
        "human-annotated": "yes" if human else "no",
        "creation-date": labeled_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "job-name": f"labeling-job/{context.job_name}",
        "simulated": True,
    }
    label: Any
    rounded = round(confidence, 2)
    if context.task_type is TaskType.BOUNDING_BOX:
        (width, height), boxes = _boxes(context, identity)
        label = {"image_size": [{"width": width, "height": height, "depth": 3}], "annotations": boxes}
        metadata["objects"] = [{"confidence": rounded} for _ in boxes]
        metadata["class-map"] = {str(i): name for i, name in enumerate(context.categories)}
    elif context.task_type is TaskType.SEMANTIC_SEGMENTATION:
        stamp = labeled_at.strftime("%Y-%m-%dT%H:%M:%S.%f")
        masks = f"{context.job_output_uri}annotations/consolidated-annotation/output"
        label = f"{masks}/{dataset_object_id}_{stamp}.png"
        metadata["internal-color-map"] = {
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": rounded},
            **{
                str(i + 1): {"class-name": name, "hex-color": _hex_color(i), "confidence": rounded}
                for i, name in enumerate(context.categories)
            },
        }
    else:
        class_id = _pick(context, "class", identity, len(context.categories))
        label = class_id
        metadata["class-name"] = context.categories[class_id]
        metadata["confidence"] = rounded
    return {context.label_attribute: label, f"{context.label_attribute}-metadata": metadata}


def answer_time(moment: datetime) -> str:
    """``acceptanceTime`` / ``submissionTime``: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def worker_answer(
    context: LabelContext,
    identity: str,
    *,
    worker_id: str,
    accepted_at: datetime,
    submitted_at: datetime,
    seconds: float,
) -> dict[str, Any]:
    """One worker's raw answer (``answers[]`` of a worker-response file), marked simulated.

    ``seconds`` is ``submitted_at − accepted_at`` (both to the millisecond). ``workerMetadata``
    keeps the real shape (``identityData``) with an identity provider that says ``Simulated``.
    """
    content: dict[str, Any]
    if context.task_type is TaskType.BOUNDING_BOX:
        (width, height), boxes = _boxes(context, identity)
        content = {
            "boundingBox": {
                "boundingBoxes": [
                    {
                        "label": context.categories[box["class_id"]],
                        **{k: v for k, v in box.items() if k != "class_id"},
                    }
                    for box in boxes
                ],
                "inputImageProperties": {"width": width, "height": height},
            }
        }
    elif context.task_type is TaskType.SEMANTIC_SEGMENTATION:
        content = {"crowd-semantic-segmentation": {"labeledImage": {"pngImageData": ""}, "simulated": True}}
    else:
        class_id = _pick(context, "class", identity, len(context.categories))
        content = {spec_for(context.task_type).ui_element: {"label": context.categories[class_id]}}
    return {
        "workerId": worker_id,
        "acceptanceTime": answer_time(accepted_at),
        "submissionTime": answer_time(submitted_at),
        "timeSpentInSeconds": seconds,
        "answerContent": content,
        "workerMetadata": {
            "identityData": {
                "identityProviderType": "Simulated",
                "issuer": "labelchain-ground-truth-emulator",
                "sub": worker_id.rsplit(".", 1)[-1],
            }
        },
        "simulated": True,
    }


def _hex_color(index: int) -> str:
    palette = ("#2ca02c", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
    return palette[index % len(palette)]
