"""Which earlier model may seed a new job.

AWS says to use a pre-trained model only for a "similar" job. LabelChain makes that precise: same
task type (same algorithm), the same labels in the same order (the order fixes class ids), the same
label attribute, and the same region (a SageMaker model is regional).
"""

from __future__ import annotations

from labelchain.core.arns import arn_region
from labelchain.core.job_input import JobInput
from labelchain.core.records import ModelPointer
from labelchain.errors import IncompatibleModel


def model_region(model_arn: str) -> str:
    """The region part of a SageMaker model ARN."""
    return arn_region(model_arn)


def check_model_compatible(model: ModelPointer, job_input: JobInput, region: str) -> None:
    """Raise ``IncompatibleModel`` naming every difference between the model's job and this one."""
    differences = []
    task = job_input.task
    if model.task_type != task.type.value:
        differences.append(f"task type {model.task_type!r} ≠ {task.type.value!r}")
    if list(model.labels) != list(task.labels):
        differences.append(f"labels {model.labels} ≠ {list(task.labels)} (same labels in the same order)")
    if model.label_attribute != task.label_attribute:
        differences.append(f"label attribute {model.label_attribute!r} ≠ {task.label_attribute!r}")
    if model_region(model.model_arn) != region:
        differences.append(f"model region {model_region(model.model_arn)!r} ≠ job region {region!r}")
    if differences:
        raise IncompatibleModel(
            f"initial_model: {model.model_arn} was trained by job {model.job_name!r} for a different job: "
            + "; ".join(differences)
        )
