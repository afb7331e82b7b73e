"""ExtractModel: keep the model a completed job trained, and move the project's pointer forward."""

from __future__ import annotations

from labelchain.core.records import ModelPointer
from labelchain.errors import LabelingJobNotFound
from labelchain.services.events import JobEvent, ModelResult
from labelchain.services.runtime import Runtime


def extract_model(event: JobEvent, runtime: Runtime) -> ModelResult:
    """Read FinalActiveLearningModelArn; absent is a normal outcome, recorded as "no-model"."""
    described = runtime.jobs.describe(event.job_name)
    record = runtime.store.get_job(event.job_name)
    if record is None:
        raise LabelingJobNotFound(f"job {event.job_name!r} has no LabelChain record to attach a model to")
    model_arn = described.final_model_arn
    runtime.store.save_job(
        record.model_copy(
            update={
                "final_model_arn": model_arn,
                "model_outcome": "trained" if model_arn else "no-model",
                "output_manifest_uri": described.output_manifest_uri,
            }
        )
    )
    if model_arn is None:
        return ModelResult(model_arn=None, outcome="no-model", pointer_moved=False)
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
    return ModelResult(model_arn=model_arn, outcome="trained", pointer_moved=moved)
