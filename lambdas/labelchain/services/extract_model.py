"""The model part of finalizing a job: keep the model a completed job trained, move the project's
pointer forward. Both writes are idempotent (provenance is a plain put of the same item; the pointer
is a conditional put that only a later job can win), so running it twice changes nothing."""

from __future__ import annotations

from labelchain.adapters.sagemaker import LabelingJobDescription
from labelchain.core.records import JobRecord, ModelPointer
from labelchain.services.runtime import Runtime


def with_model(
    record: JobRecord, described: LabelingJobDescription, runtime: Runtime
) -> tuple[JobRecord, bool]:
    """The record with its model outcome, and whether the project's latest-model pointer now names it.

    Only a Completed job's ``FinalActiveLearningModelArn`` seeds later jobs; its absence is a normal
    outcome ("no-model"), never an error.
    """
    model_arn = described.final_model_arn if described.status == "Completed" else None
    updated = record.model_copy(
        update={
            "final_model_arn": model_arn or record.final_model_arn,
            "model_outcome": "trained" if model_arn else "no-model",
            "output_manifest_uri": described.output_manifest_uri,
        }
    )
    if model_arn is None:
        return updated, False
    pointer = ModelPointer(
        project=record.project,
        model_arn=model_arn,
        job_name=record.job_name,
        job_created_at=record.created_at,
        task_type=record.task_type,
        labels=record.labels,
        label_attribute=record.label_attribute,
    )
    runtime.store.remember_model(pointer)
    moved = record.advance_latest_model and runtime.store.advance_latest_model(pointer)
    return updated, moved
