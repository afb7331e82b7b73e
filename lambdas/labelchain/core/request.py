"""Build the CreateLabelingJob request from a validated input.

Pure: every built-in ARN comes from the region table and the task-type catalog, the work team from the
input, every limit was checked by ``JobInput``; tests run every request this builder can produce
through botocore's validator.
"""

from __future__ import annotations

from typing import Any

from labelchain.core.catalog import spec_for
from labelchain.core.job_input import JobInput
from labelchain.core.models import FrozenModel
from labelchain.core.naming import EXECUTION_TAG, PROJECT_TAG, execution_fingerprint
from labelchain.core.regions import (
    algorithm_specification_arn,
    annotation_consolidation_lambda_arn,
    pre_human_task_lambda_arn,
)
from labelchain.core.s3_layout import job_output_prefix, s3_uri


class JobPlacement(FrozenModel):
    """Where a job runs and writes: deployment facts plus the files CreateJob wrote for it."""

    job_name: str
    region: str
    role_arn: str
    output_bucket: str
    kms_key_arn: str
    label_category_uri: str
    ui_template_uri: str
    execution_arn: str


def build_create_labeling_job_request(
    job_input: JobInput, placement: JobPlacement, initial_model_arn: str | None
) -> dict[str, Any]:
    """The CreateLabelingJob parameters (boto3 casing) for one job."""
    task = job_input.task
    spec = spec_for(task.type)
    region = placement.region
    workforce = job_input.workforce
    human_task: dict[str, Any] = {
        "WorkteamArn": workforce.workteam_arn,
        "UiConfig": {"UiTemplateS3Uri": placement.ui_template_uri},
        "PreHumanTaskLambdaArn": pre_human_task_lambda_arn(region, task.type),
        "TaskKeywords": list(task.keywords),
        "TaskTitle": task.title,
        "TaskDescription": task.description,
        "NumberOfHumanWorkersPerDataObject": workforce.workers_per_object,
        "TaskTimeLimitInSeconds": job_input.task_time_limit_seconds,
        "TaskAvailabilityLifetimeInSeconds": job_input.task_availability_lifetime_seconds,
        "MaxConcurrentTaskCount": job_input.max_concurrent_tasks,
        "AnnotationConsolidationConfig": {
            "AnnotationConsolidationLambdaArn": annotation_consolidation_lambda_arn(region, task.type)
        },
    }
    # No PublicWorkforceTaskPrice and no ContentClassifiers: both concern only the public workforce
    # (Mechanical Turk, closed 2026-09-30); a vendor's price is settled through AWS Marketplace.
    request: dict[str, Any] = {
        "LabelingJobName": placement.job_name,
        "LabelAttributeName": task.label_attribute,
        "InputConfig": {
            "DataSource": {"S3DataSource": {"ManifestS3Uri": job_input.manifest}},
        },
        "OutputConfig": {
            "S3OutputPath": s3_uri(placement.output_bucket, job_output_prefix(job_input.project)),
            "KmsKeyId": placement.kms_key_arn,
        },
        "RoleArn": placement.role_arn,
        "LabelCategoryConfigS3Uri": placement.label_category_uri,
        "HumanTaskConfig": human_task,
        "Tags": [
            {"Key": EXECUTION_TAG, "Value": execution_fingerprint(placement.execution_arn)},
            {"Key": PROJECT_TAG, "Value": job_input.project},
            *({"Key": key, "Value": value} for key, value in sorted(job_input.tags.items())),
        ],
    }
    stopping = job_input.stopping_conditions
    conditions = {
        "MaxHumanLabeledObjectCount": stopping.max_human_labeled_objects,
        "MaxPercentageOfInputDatasetLabeled": stopping.max_percentage_labeled,
    }
    if any(value is not None for value in conditions.values()):
        request["StoppingConditions"] = {k: v for k, v in conditions.items() if v is not None}
    if job_input.auto_labeling:
        algorithms: dict[str, Any] = {
            "LabelingJobAlgorithmSpecificationArn": algorithm_specification_arn(region, spec.task_type)
        }
        if initial_model_arn is not None:
            algorithms["InitialActiveLearningModelArn"] = initial_model_arn
        request["LabelingJobAlgorithmsConfig"] = algorithms
    return request
