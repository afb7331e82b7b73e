"""SageMaker labeling jobs: the only module that calls the SageMaker API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from labelchain.adapters.aws_errors import ErrorFor, aws_call, error_code, has_code
from labelchain.core.models import FrozenModel
from labelchain.core.records import Counters
from labelchain.errors import LabelingJobNotFound, LabelingJobQuotaExceeded, LabelingJobRejected


class JobNameInUse(Exception):
    """CreateLabelingJob said ResourceInUse: a job with this name exists (maybe our own)."""


class LabelingJobDescription(FrozenModel):
    """The parts of DescribeLabelingJob LabelChain uses."""

    name: str
    arn: str
    status: str
    counters: Counters
    failure_reason: str | None
    created_at: datetime
    last_modified_at: datetime
    label_attribute: str
    output_manifest_uri: str | None
    final_model_arn: str | None
    initial_model_arn: str | None
    algorithm_arn: str | None
    tags: dict[str, str]


def _describe_to_model(response: dict[str, Any]) -> LabelingJobDescription:
    counters = response.get("LabelCounters", {})
    output = response.get("LabelingJobOutput") or {}
    algorithms = response.get("LabelingJobAlgorithmsConfig") or {}
    return LabelingJobDescription(
        name=response["LabelingJobName"],
        arn=response["LabelingJobArn"],
        status=response["LabelingJobStatus"],
        counters=Counters(
            total_labeled=counters.get("TotalLabeled", 0),
            human_labeled=counters.get("HumanLabeled", 0),
            machine_labeled=counters.get("MachineLabeled", 0),
            failed_non_retryable_error=counters.get("FailedNonRetryableError", 0),
            unlabeled=counters.get("Unlabeled", 0),
        ),
        failure_reason=response.get("FailureReason"),
        created_at=response["CreationTime"],
        last_modified_at=response["LastModifiedTime"],
        label_attribute=response.get("LabelAttributeName", ""),
        output_manifest_uri=output.get("OutputDatasetS3Uri"),
        final_model_arn=output.get("FinalActiveLearningModelArn"),
        initial_model_arn=algorithms.get("InitialActiveLearningModelArn"),
        algorithm_arn=algorithms.get("LabelingJobAlgorithmSpecificationArn"),
        tags={tag["Key"]: tag["Value"] for tag in response.get("Tags", [])},
    )


ALREADY_ENDED = "ValidationException"
"""What StopLabelingJob answers for a job that has already ended."""


def _job_errors(job_name: str) -> dict[str, ErrorFor]:
    """DescribeLabelingJob's and StopLabelingJob's meaningful codes."""
    return {"ResourceNotFound": lambda _: LabelingJobNotFound(f"no labeling job named {job_name!r}")}


def _create_errors(job_name: str) -> dict[str, ErrorFor]:
    """CreateLabelingJob's meaningful codes: the name is taken, the quota is used up, the request is
    refused as invalid."""

    def quota(exc: ClientError) -> Exception:
        return LabelingJobQuotaExceeded(
            "SageMaker refused CreateLabelingJob for the account's concurrent-job quota "
            f"(ResourceLimitExceeded): {exc}"
        )

    def rejected(exc: ClientError) -> Exception:
        return LabelingJobRejected(f"SageMaker refused CreateLabelingJob ({error_code(exc)}): {exc}")

    return {
        "ResourceInUse": lambda _: JobNameInUse(job_name),
        "ResourceLimitExceeded": quota,
        "ValidationException": rejected,
        "AccessDeniedException": rejected,
    }


class LabelingJobs:
    """Create, describe and stop labeling jobs through an injected boto3 SageMaker client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def create(self, request: dict[str, Any]) -> str:
        """Start a job; returns its ARN. Raises ``JobNameInUse`` if the name is taken."""
        name = request["LabelingJobName"]
        with aws_call("SageMaker", "CreateLabelingJob", _create_errors(name)):
            response = self._client.create_labeling_job(**request)
        return str(response["LabelingJobArn"])

    @property
    def client(self) -> Any:
        """The injected boto3 client (the offline stack attaches fault injection to it)."""
        return self._client

    def describe(self, job_name: str) -> LabelingJobDescription:
        """Read a job. Raises ``LabelingJobNotFound`` if SageMaker does not know it."""
        with aws_call("SageMaker", "DescribeLabelingJob", _job_errors(job_name)):
            response = self._client.describe_labeling_job(LabelingJobName=job_name)
        return _describe_to_model(response)

    def stop(self, job_name: str) -> bool:
        """Ask SageMaker to stop a job (it moves to Stopping, then Stopped); False when SageMaker refuses
        because the job has already ended (ValidationException)."""
        try:
            with aws_call("SageMaker", "StopLabelingJob", _job_errors(job_name)):
                self._client.stop_labeling_job(LabelingJobName=job_name)
        except ClientError as exc:
            if has_code(exc, {ALREADY_ENDED}):
                return False
            raise
        return True
