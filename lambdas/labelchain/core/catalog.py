"""The task-type catalog: one place for every per-task-type fact LabelChain relies on.

Only the four built-in task types that support automated data labeling are offered. Everything the
request builder, the validator, the UI templates and the output parser need to know about a type
lives in its ``TaskTypeSpec`` (docs/GROUND_TRUTH.md, "Quotas and limits", gives the sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class TaskType(StrEnum):
    """Task types a LabelChain job can run (the execution input's ``task.type``)."""

    BOUNDING_BOX = "bounding_box"
    IMAGE_CLASSIFICATION = "image_classification"
    TEXT_CLASSIFICATION = "text_classification"
    SEMANTIC_SEGMENTATION = "semantic_segmentation"


_BOX_PRICES = tuple(
    Decimal(p)
    for p in (
        "0.036", "0.048", "0.060", "0.072", "0.120", "0.240", "0.360",
        "0.480", "0.600", "0.720", "0.840", "0.960", "1.080", "1.200",
    )
)  # fmt: skip
_CLASSIFICATION_PRICES = (Decimal("0.012"), Decimal("0.024"), *_BOX_PRICES)
_SEGMENTATION_PRICES = tuple(p for p in _BOX_PRICES if p >= Decimal("0.840"))


@dataclass(frozen=True)
class TaskTypeSpec:
    """Facts about one task type."""

    task_type: TaskType
    algorithm: str
    """``<algo>`` of the labeling-job-algorithm-specification ARN."""
    lambda_suffix: str
    """``<Type>`` of the built-in ``PRE-<Type>`` / ``ACS-<Type>`` Lambdas."""
    metadata_type: str
    """``type`` written in ``<attr>-metadata`` of the output manifest."""
    ui_element: str
    """The crowd HTML element the worker UI template uses."""
    source_field: str
    """The manifest field holding each object: ``source-ref`` (S3 URI) or ``source`` (inline text)."""
    public_prices_usd: tuple[Decimal, ...]
    """Prices per task Mechanical Turk accepted for this type. History only: Mechanical Turk closed on
    2026-09-30 and LabelChain refuses a public workforce; the cost calculator keeps these to reproduce
    AWS's published (Mechanical Turk era) totals."""
    min_labels: int
    max_labels: int
    """Label categories allowed without automated labeling."""
    max_labels_with_auto_labeling: int
    """Label categories allowed with automated labeling (AWS's label-category quotas)."""
    max_objects_with_auto_labeling: int
    max_task_time_limit_seconds: int
    has_boxes: bool
    supports_auto_labeling: bool = True

    @property
    def label_attribute_must_end_with_ref(self) -> bool:
        """Semantic segmentation writes an S3 reference, so its attribute must end in ``-ref``."""
        return self.task_type is TaskType.SEMANTIC_SEGMENTATION


# Sources of the per-type limits below (checked 2026-12):
# - label categories: AWS's label-category quotas, "Input Data Quotas" in the Ground Truth developer
#   guide (https://docs.aws.amazon.com/sagemaker/latest/dg/input-data-limits.html): 50 for image and
#   text classification and for bounding boxes; semantic segmentation with automated data labeling 20.
#   At least two for classification, one otherwise (CreateLabelingJob's LabelCategoryConfigS3Uri:
#   https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateLabelingJob.html).
# - objects: the same page (20,000 for semantic segmentation, 100,000 otherwise).
# - task time: TaskTimeLimitInSeconds, "up to 8 hours (28,800 seconds) for ... image and text labeling
#   jobs" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_HumanTaskConfig.html); the API
#   model (botocore sagemaker service-2.json) gives only the minimum, 30.
MIN_OBJECTS_WITH_AUTO_LABELING = 1250
"""Ground Truth refuses automated data labeling on fewer objects (5,000 recommended)."""

CATALOG: dict[TaskType, TaskTypeSpec] = {
    TaskType.BOUNDING_BOX: TaskTypeSpec(
        task_type=TaskType.BOUNDING_BOX,
        algorithm="object-detection",
        lambda_suffix="BoundingBox",
        metadata_type="groundtruth/object-detection",
        ui_element="crowd-bounding-box",
        source_field="source-ref",
        public_prices_usd=_BOX_PRICES,
        min_labels=1,
        max_labels=50,
        max_labels_with_auto_labeling=50,
        max_objects_with_auto_labeling=100_000,
        max_task_time_limit_seconds=28_800,
        has_boxes=True,
    ),
    TaskType.IMAGE_CLASSIFICATION: TaskTypeSpec(
        task_type=TaskType.IMAGE_CLASSIFICATION,
        algorithm="image-classification",
        lambda_suffix="ImageMultiClass",
        metadata_type="groundtruth/image-classification",
        ui_element="crowd-image-classifier",
        source_field="source-ref",
        public_prices_usd=_CLASSIFICATION_PRICES,
        min_labels=2,
        max_labels=50,
        max_labels_with_auto_labeling=50,
        max_objects_with_auto_labeling=100_000,
        max_task_time_limit_seconds=28_800,
        has_boxes=False,
    ),
    TaskType.TEXT_CLASSIFICATION: TaskTypeSpec(
        task_type=TaskType.TEXT_CLASSIFICATION,
        algorithm="text-classification",
        lambda_suffix="TextMultiClass",
        metadata_type="groundtruth/text-classification",
        ui_element="crowd-classifier",
        source_field="source",
        public_prices_usd=_CLASSIFICATION_PRICES,
        min_labels=2,
        max_labels=50,
        max_labels_with_auto_labeling=50,
        max_objects_with_auto_labeling=100_000,
        max_task_time_limit_seconds=28_800,
        has_boxes=False,
    ),
    TaskType.SEMANTIC_SEGMENTATION: TaskTypeSpec(
        task_type=TaskType.SEMANTIC_SEGMENTATION,
        algorithm="semantic-segmentation",
        lambda_suffix="SemanticSegmentation",
        metadata_type="groundtruth/semantic-segmentation",
        ui_element="crowd-semantic-segmentation",
        source_field="source-ref",
        public_prices_usd=_SEGMENTATION_PRICES,
        min_labels=1,
        max_labels=50,
        max_labels_with_auto_labeling=20,
        max_objects_with_auto_labeling=20_000,
        max_task_time_limit_seconds=28_800,
        has_boxes=False,
    ),
}


def spec_for(task_type: TaskType | str) -> TaskTypeSpec:
    """The catalog entry for a task type (accepts the input's string form)."""
    return CATALOG[TaskType(task_type)]
