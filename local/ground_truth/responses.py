"""DescribeLabelingJob and ListLabelingJobs answers, rendered from a job and its snapshot (pure)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from labelchain.core.catalog import TaskTypeSpec
from labelchain.core.naming import SIMULATED_TAG
from labelchain.core.s3_layout import s3_uri
from local.ground_truth import inputs
from local.ground_truth.lifecycle import ENDED, Interruption, JobSnapshot, StatusChange
from local.ground_truth.model import Timeline
from local.ground_truth.params import SimulationParams


def model_arn_for(region: str, account: str, job_name: str) -> str:
    """The FinalActiveLearningModelArn the emulator gives a job's model."""
    return f"arn:aws:sagemaker:{region}:{account}:model/{job_name}-simulated-model"


@dataclass
class SimulatedJob:
    """One labeling job: its request, inputs, precomputed timeline and what happened to it."""

    name: str
    arn: str
    region: str
    account: str
    request: dict[str, Any]
    created_at: datetime
    spec: TaskTypeSpec
    params: SimulationParams
    timeline: Timeline
    records: tuple[dict[str, Any], ...] = ()
    identities: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    interruption: Interruption | None = None
    output_written: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Held while the output is written."""
    status_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Held while ``interruption`` is read together with the clock, or changed (StopLabelingJob)."""
    reported_changes: list[StatusChange] = field(default_factory=list, repr=False)
    """The status changes already handed to the state-change event watcher, in order."""

    @property
    def all_changes_reported(self) -> bool:
        """The job's final status was reported: nothing about it can change any more."""
        return bool(self.reported_changes) and self.reported_changes[-1].status in ENDED

    @property
    def output_prefix(self) -> tuple[str, str]:
        """(bucket, ``<path><job-name>/``) of the job's output."""
        bucket, path = inputs.split_s3_uri(self.request["OutputConfig"]["S3OutputPath"])
        return bucket, f"{path.rstrip('/')}/{self.name}/" if path.strip("/") else f"{self.name}/"

    @property
    def output_manifest_uri(self) -> str:
        bucket, prefix = self.output_prefix
        return s3_uri(bucket, f"{prefix}manifests/output/output.manifest")


def last_modified(job: SimulatedJob, snap: JobSnapshot) -> datetime:
    return job.created_at + timedelta(seconds=snap.last_modified)


def describe_response(job: SimulatedJob, snap: JobSnapshot) -> dict[str, Any]:
    request = job.request
    response: dict[str, Any] = {
        "LabelingJobStatus": snap.status,
        "LabelCounters": _counters(snap),
        "CreationTime": job.created_at,
        "LastModifiedTime": last_modified(job, snap),
        "JobReferenceCode": hashlib.sha256(job.arn.encode()).hexdigest()[:16],
        "LabelingJobName": job.name,
        "LabelingJobArn": job.arn,
        "Tags": _tags(request.get("Tags", [])),
    }
    for member in (
        "LabelAttributeName",
        "InputConfig",
        "OutputConfig",
        "RoleArn",
        "LabelCategoryConfigS3Uri",
        "StoppingConditions",
        "LabelingJobAlgorithmsConfig",
        "HumanTaskConfig",
    ):
        if member in request:
            response[member] = request[member]
    if snap.failure_reason is not None:
        response["FailureReason"] = snap.failure_reason
    if (output := job_output(job, snap)) is not None:
        response["LabelingJobOutput"] = output
    return response


def job_output(job: SimulatedJob, snap: JobSnapshot) -> dict[str, str] | None:
    if not snap.ended or snap.status == "Failed":
        return None
    output = {"OutputDatasetS3Uri": job.output_manifest_uri}
    if snap.model_labels is not None:
        output["FinalActiveLearningModelArn"] = model_arn_for(job.region, job.account, job.name)
    return output


def summary_response(job: SimulatedJob, snap: JobSnapshot) -> dict[str, Any]:
    human = job.request["HumanTaskConfig"]
    summary: dict[str, Any] = {
        "LabelingJobName": job.name,
        "LabelingJobArn": job.arn,
        "CreationTime": job.created_at,
        "LastModifiedTime": last_modified(job, snap),
        "LabelingJobStatus": snap.status,
        "LabelCounters": _counters(snap),
        "WorkteamArn": human["WorkteamArn"],
        "InputConfig": job.request["InputConfig"],
    }
    if "PreHumanTaskLambdaArn" in human:
        summary["PreHumanTaskLambdaArn"] = human["PreHumanTaskLambdaArn"]
    consolidation = human.get("AnnotationConsolidationConfig") or {}
    if "AnnotationConsolidationLambdaArn" in consolidation:
        summary["AnnotationConsolidationLambdaArn"] = consolidation["AnnotationConsolidationLambdaArn"]
    if snap.failure_reason is not None:
        summary["FailureReason"] = snap.failure_reason
    if (output := job_output(job, snap)) is not None:
        summary["LabelingJobOutput"] = output
    return summary


def _counters(snap: JobSnapshot) -> dict[str, int]:
    return {
        "TotalLabeled": snap.human_labeled + snap.machine_labeled,
        "HumanLabeled": snap.human_labeled,
        "MachineLabeled": snap.machine_labeled,
        "FailedNonRetryableError": 0,
        "Unlabeled": snap.unlabeled,
    }


def _tags(requested: list[dict[str, str]]) -> list[dict[str, str]]:
    kept = [tag for tag in requested if tag["Key"] != SIMULATED_TAG]
    return [*kept, {"Key": SIMULATED_TAG, "Value": "true"}]


def listed(request: dict[str, Any], job: SimulatedJob, snap: JobSnapshot, modified: datetime) -> bool:
    checks = (
        ("CreationTimeAfter", lambda bound: job.created_at > bound),
        ("CreationTimeBefore", lambda bound: job.created_at < bound),
        ("LastModifiedTimeAfter", lambda bound: modified > bound),
        ("LastModifiedTimeBefore", lambda bound: modified < bound),
        ("NameContains", lambda text: text.lower() in job.name.lower()),
        ("StatusEquals", lambda status: snap.status == status),
    )
    return all(check(request[name]) for name, check in checks if name in request)
