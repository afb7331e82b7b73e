"""The emulated service: labeling jobs created, described, stopped and listed, on a shared clock.

Each job's course is precomputed at create time (``model.simulate``); a request reads it at the
clock's current time (``lifecycle.snapshot``). The first request that sees a job ended writes its
output (``output_writer``) before answering, so a client that saw ``Completed`` finds the files.
``status_changes_due`` hands the status changes that have happened to the state-change event watcher
(``events``), each once. ``SimulationParams.max_concurrent_jobs`` is the account's quota of jobs not
yet ended (``ResourceLimitExceeded``). Requests arrive already validated
(``protocol.validate_request``); operations return the response dict and raise ``ApiError`` with the
service's error codes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from labelchain.core.catalog import TaskTypeSpec
from labelchain.core.naming import labeling_job_arn
from labelchain.core.s3_layout import s3_uri
from local.ground_truth import inputs
from local.ground_truth.faults import FaultInjection
from local.ground_truth.labels import LabelContext
from local.ground_truth.lifecycle import (
    ENDED,
    Interruption,
    JobSnapshot,
    StatusChange,
    landed_iterations,
    snapshot,
    status_at,
    status_changes,
)
from local.ground_truth.model import JobPlan, Timeline, simulate
from local.ground_truth.output_writer import JobOutput, OutputWriter
from local.ground_truth.params import SimulationParams
from local.ground_truth.protocol import ApiError, validation_error
from local.ground_truth.responses import (
    SimulatedJob,
    describe_response,
    last_modified,
    listed,
    summary_response,
)

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
_MODEL_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:model/(?P<job>.+)-simulated-model")


class LabelingJobService:
    """The four operations over an in-memory job table (thread-safe)."""

    def __init__(
        self,
        s3_client: Any,
        clock: Clock,
        params: SimulationParams,
        faults: FaultInjection,
        writer: OutputWriter,
    ) -> None:
        self._s3 = s3_client
        self._clock = clock
        self.params = params
        self.faults = faults
        self._writer = writer
        self._jobs: dict[str, SimulatedJob] = {}
        self._lock = threading.Lock()

    # --- operations ---------------------------------------------------------------------------

    def create_labeling_job(self, request: dict[str, Any], region: str) -> dict[str, Any]:
        name = request["LabelingJobName"]
        spec = inputs.task_type_of(request)
        self._ensure_name_free(name)
        account = request["RoleArn"].split(":")[4]
        with self._lock:
            self._ensure_within_quota(account, region)
        job = self._plan_job(request, spec, region, account)
        with self._lock:
            self._ensure_name_free(name)
            self._ensure_within_quota(account, region)
            self._jobs[name.lower()] = job
        return {"LabelingJobArn": job.arn}

    def describe_labeling_job(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self._job(request["LabelingJobName"])
        return describe_response(job, self._observe(job))

    def stop_labeling_job(self, request: dict[str, Any]) -> dict[str, Any]:
        job = self._job(request["LabelingJobName"])
        with job.status_lock:
            elapsed = self._elapsed(job)
            current = snapshot(job.timeline, job.interruption, elapsed)
            if current.ended:
                raise validation_error(
                    f"Labeling job {job.name} has already ended ({current.status}) and cannot be stopped"
                )
            if current.status != "Stopping":
                job.interruption = Interruption("stop", elapsed, stopping_seconds=job.params.stopping_seconds)
        return {}

    def list_labeling_jobs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            jobs = list(self._jobs.values())
        rows = [(job, self._observe(job)) for job in jobs]
        rows = [(job, snap) for job, snap in rows if listed(request, job, snap, last_modified(job, snap))]
        descending = request.get("SortOrder", "Ascending") == "Descending"
        sort_by = request.get("SortBy", "CreationTime")
        key: Callable[[tuple[SimulatedJob, JobSnapshot]], Any] = {
            "Name": lambda row: row[0].name.lower(),
            "Status": lambda row: row[1].status,
        }.get(sort_by, lambda row: (row[0].created_at, row[0].name.lower()))
        rows.sort(key=key, reverse=descending)
        token = request.get("NextToken", "0")
        if not token.isdigit():
            raise validation_error(f"Invalid pagination token {token!r}")
        start, size = int(token), request.get("MaxResults", 10)
        page = rows[start : start + size]
        response: dict[str, Any] = {
            "LabelingJobSummaryList": [summary_response(job, snap) for job, snap in page]
        }
        if start + size < len(rows):
            response["NextToken"] = str(start + size)
        return response

    # --- state-change events ---------------------------------------------------------------------

    def status_changes_due(self) -> list[tuple[SimulatedJob, StatusChange, datetime]]:
        """Status changes that have happened by now and were not returned before, with their moments.

        Ordered by simulated moment (a job's own changes in their order). Each change is returned
        once: call it from one thread (the event watcher).
        """
        with self._lock:
            jobs = [job for job in self._jobs.values() if not job.all_changes_reported]
        due: list[tuple[SimulatedJob, StatusChange, datetime]] = []
        for job in jobs:
            # With StopLabelingJob's lock: a stop cuts the course at or after this moment, so the
            # changes up to it are final.
            with job.status_lock:
                elapsed = self._elapsed(job)
                changes = status_changes(job.timeline, job.interruption)
                new = [c for c in changes if c.at <= elapsed and c not in job.reported_changes]
                job.reported_changes.extend(new)
            due.extend((job, change, job.created_at + timedelta(seconds=change.at)) for change in new)
        due.sort(key=lambda item: item[2])
        return due

    # --- introspection (tests, demo) ------------------------------------------------------------

    def timeline(self, job_name: str) -> Timeline:
        return self._job(job_name).timeline

    def write_ended_outputs(self) -> list[str]:
        """Write the output of every job that has ended by now; returns their names."""
        with self._lock:
            jobs = list(self._jobs.values())
        return [job.name for job in jobs if self._observe(job).ended]

    # --- internals ------------------------------------------------------------------------------

    def _ensure_name_free(self, name: str) -> None:
        existing = self._jobs.get(name.lower())
        if existing is not None:
            raise ApiError(
                "ResourceInUse",
                f"Job name must be unique within an AWS account and region, and a job with this name"
                f" already exists ({existing.arn})",
            )

    def _ensure_within_quota(self, account: str, region: str) -> None:
        """ResourceLimitExceeded when the account's jobs not yet ended in the region fill the quota."""
        limit = self.params.max_concurrent_jobs
        if limit is None:
            return
        active = sum(
            1
            for job in self._jobs.values()
            if job.account == account
            and job.region == region
            and status_at(job.timeline, job.interruption, self._elapsed(job)) not in ENDED
        )
        if active >= limit:
            raise ApiError(
                "ResourceLimitExceeded",
                f"The account-level service limit 'Number of concurrent labeling jobs' is {limit}"
                f" LabelingJobs, with current utilization of {active} LabelingJobs and a request delta"
                " of 1 LabelingJobs. Please use AWS Service Quotas to request an increase for this"
                " quota. If AWS Service Quotas is not available, contact AWS support to request an"
                " increase for this quota.",
            )

    def _job(self, name: str) -> SimulatedJob:
        with self._lock:
            job = self._jobs.get(name.lower())
        if job is None:
            raise ApiError("ResourceNotFound", f"Could not find labeling job {name!r}")
        return job

    def _elapsed(self, job: SimulatedJob) -> float:
        return max(0.0, (self._clock() - job.created_at).total_seconds())

    def _plan_job(
        self, request: dict[str, Any], spec: TaskTypeSpec, region: str, account: str
    ) -> SimulatedJob:
        name = request["LabelingJobName"]
        params = self._job_params(name)
        human = request["HumanTaskConfig"]
        algorithms = request.get("LabelingJobAlgorithmsConfig")
        stopping = request.get("StoppingConditions") or {}
        records: tuple[dict[str, Any], ...] = ()
        identities: tuple[str, ...] = ()
        categories: tuple[str, ...] = ()
        head_start = 0.0
        failure = None
        try:
            inputs.check_workforce(request)
            manifest = inputs.read_manifest(
                self._s3, request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"], spec
            )
            records, identities = manifest.records, manifest.identities
            categories = inputs.read_label_categories(self._s3, request.get("LabelCategoryConfigS3Uri"))
            inputs.check_object_limits(spec, algorithms is not None, len(records))
            if algorithms and algorithms.get("InitialActiveLearningModelArn"):
                head_start = self._head_start(algorithms["InitialActiveLearningModelArn"], spec, categories)
        except inputs.JobInputFailure as exc:
            failure = str(exc)
        plan = JobPlan(
            object_ids=identities,
            auto_labeling=algorithms is not None,
            batch_size=human.get("MaxConcurrentTaskCount", 1000),
            workers_per_object=human["NumberOfHumanWorkersPerDataObject"],
            task_time_limit_seconds=human["TaskTimeLimitInSeconds"],
            head_start_labels=head_start,
            max_human_labeled=stopping.get("MaxHumanLabeledObjectCount"),
            max_percentage_labeled=stopping.get("MaxPercentageOfInputDatasetLabeled"),
            failure_reason=failure,
            task_type=spec.task_type,
            team_size=params.team_size_for(human["WorkteamArn"]),
        )
        timeline = simulate(plan, params)
        return SimulatedJob(
            name=name,
            arn=labeling_job_arn(region, account, name),
            region=region,
            account=account,
            request=request,
            created_at=self._clock(),
            spec=spec,
            params=params,
            timeline=timeline,
            records=records,
            identities=identities,
            categories=categories,
            interruption=self._injected_interruption(name, timeline, params),
        )

    def _job_params(self, name: str) -> SimulationParams:
        params = self.params
        for delay in self.faults.delays_for(name):
            params = params.model_copy(
                update={
                    "initializing_seconds": params.initializing_seconds + delay.extra_initializing_seconds,
                    "finishing_seconds": params.finishing_seconds + delay.extra_finishing_seconds,
                    "stopping_seconds": params.stopping_seconds + delay.extra_stopping_seconds,
                }
            )
        return params

    def _injected_interruption(
        self, name: str, timeline: Timeline, params: SimulationParams
    ) -> Interruption | None:
        if timeline.end_status == "Failed":
            return None
        if (failure := self.faults.failure_for(name)) is not None:
            return Interruption("fail", failure.at_fraction * timeline.ended_at, reason=failure.reason)
        if (stop := self.faults.stop_for(name)) is not None:
            return Interruption(
                "stop", stop.at_fraction * timeline.ended_at, stopping_seconds=params.stopping_seconds
            )
        return None

    def _head_start(self, model_arn: str, spec: TaskTypeSpec, categories: tuple[str, ...]) -> float:
        """Label-equivalents a seed model brings: its job's final model × the transfer factor."""
        match = _MODEL_ARN.fullmatch(model_arn)
        with self._lock:
            source = self._jobs.get(match["job"].lower()) if match else None
        if source is None:
            return self.params.unknown_model_labels
        if source.spec.task_type is not spec.task_type or source.categories != categories:
            raise inputs.JobInputFailure(
                f"ClientError: InitialActiveLearningModelArn {model_arn} was trained for"
                f" {source.spec.task_type} with labels {list(source.categories)}; this job is"
                f" {spec.task_type} with labels {list(categories)}"
            )
        final = snapshot(source.timeline, source.interruption, float("inf"))
        return (final.model_labels or 0.0) * self.params.transfer_factor

    def _observe(self, job: SimulatedJob) -> JobSnapshot:
        """The job now; writes its output first if it has ended and the output is not written yet."""
        current = snapshot(job.timeline, job.interruption, self._elapsed(job))
        if current.ended and not job.output_written:
            with job.lock:
                if not job.output_written:
                    self._write_output(job, current)
                    job.output_written = True
        return current

    def _write_output(self, job: SimulatedJob, ended: JobSnapshot) -> None:
        landed = landed_iterations(job.timeline, min(ended.labels_cut_at, job.timeline.labeling_ended_at))
        if not landed and ended.status == "Failed":
            return
        bucket, prefix = job.output_prefix
        human = job.request["HumanTaskConfig"]
        output = JobOutput(
            bucket=bucket,
            job_prefix=prefix,
            records=job.records,
            identities=job.identities,
            context=LabelContext(
                task_type=job.spec.task_type,
                label_attribute=job.request["LabelAttributeName"],
                categories=job.categories,
                job_name=job.name,
                seed=job.params.seed,
                two_box_probability=job.params.two_box_probability,
                job_output_uri=s3_uri(bucket, prefix),
            ),
            created_at=job.created_at,
            iterations=landed,
            write_output_manifest=ended.status != "Failed",
            workteam_arn=human["WorkteamArn"],
        )
        try:
            self._writer.write(output)
        except (ClientError, BotoCoreError):
            logger.exception("could not write the output of labeling job %s", job.name)
