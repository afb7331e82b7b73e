"""The metrics part of finalizing a job: final counters, duration, cost and per-iteration rows.

Counters come from DescribeLabelingJob (the authority); per-iteration rows come from the job's S3
output, streamed file by file and cross-checked against the counters. A disagreement or an
unreadable output file is recorded on the job, never a reason to lose the metrics already known.
Pure with respect to the table: it returns the updated record and ``services.finalize`` seals it.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from aws_lambda_powertools import Logger

from labelchain.adapters.s3 import ObjectChanged, ObjectMissing
from labelchain.adapters.sagemaker import LabelingJobDescription
from labelchain.core.cost import CostBreakdown, compute_cost
from labelchain.core.naming import SIMULATED_TAG
from labelchain.core.output_layout import SUMMARIZED_KINDS, OutputFile, classify_output_key
from labelchain.core.output_summary import OutputSummary, summarize_output
from labelchain.core.records import ENDED_STATUSES, Counters, IterationRow, JobRecord
from labelchain.errors import OutputLayoutError
from labelchain.services.runtime import Runtime

logger = Logger(child=True)

STOPPED_REASON = "the labeling job was stopped before it finished (StopLabelingJob was called)"
FAILED_WITHOUT_REASON = "SageMaker reported the job Failed without a FailureReason"


def failure_reason_for(status: str, reason: str | None, stop_reason: str | None = None) -> str | None:
    """The cause a failed or stopped execution shows; always text for those two statuses. A stop
    LabelChain made itself names why (``stop_reason``)."""
    if status == "Failed":
        return reason or FAILED_WITHOUT_REASON
    if status == "Stopped":
        return stop_reason or reason or STOPPED_REASON
    return reason


def job_output_prefix(record: JobRecord) -> str:
    """Key prefix of a job's output in the output bucket: ``<project>/<job-name>/``."""
    return f"{record.project}/{record.job_name}/"


def job_cost(record: JobRecord, human: int, machine: int, iterations: int) -> CostBreakdown:
    """What ``human`` and ``machine`` labeled objects of this job cost, with the job's own prices."""
    return compute_cost(
        human_objects=human,
        machine_objects=machine,
        workers_per_object=record.workforce.workers_per_object,
        task_price_usd=Decimal(record.workforce.task_price_usd),
        prices=record.prices,
        iterations=iterations if record.auto_labeling else 0,
    )


def running_cost_usd(record: JobRecord, counters: Counters) -> str:
    """The reconciler's running estimate: what the objects labeled so far cost (compute excluded)."""
    return str(job_cost(record, counters.human_labeled, counters.machine_labeled, 0).total_cost_usd)


def _output_files(runtime: Runtime, prefix: str) -> Iterator[tuple[OutputFile, Iterator[bytes]]]:
    bucket = runtime.settings.output_bucket
    for key in runtime.objects.list_keys(bucket, prefix):
        output_file = classify_output_key(key, prefix)
        if output_file is not None and output_file.kind in SUMMARIZED_KINDS:
            yield output_file, runtime.objects.iter_chunks(bucket, key)


def _iteration_rows(summary: OutputSummary, record: JobRecord) -> list[IterationRow]:
    rows = []
    for stats in summary.iterations:
        breakdown = job_cost(record, stats.human_objects, stats.machine_objects or 0, 1)
        rows.append(
            IterationRow(
                iteration=stats.iteration,
                human_objects=stats.human_objects,
                machine_objects=stats.machine_objects,
                boxes=stats.boxes,
                cost_usd=str(breakdown.total_cost_usd),
            )
        )
    return rows


def with_final_metrics(record: JobRecord, described: LabelingJobDescription, runtime: Runtime) -> JobRecord:
    """The record with the ended job's counters, duration, cost, iterations and cross-check notes."""
    counters = described.counters
    notes: list[str] = []
    rows: list[IterationRow] = []
    try:
        summary = summarize_output(
            _output_files(runtime, job_output_prefix(record)),
            record.label_attribute,
            record.task_type,
            counters,
        )
        rows = _iteration_rows(summary, record)
        notes = [m.message for m in summary.cross_check] + list(summary.notes)
    except (OutputLayoutError, ObjectMissing, ObjectChanged) as exc:
        notes = [f"output not parsed, per-iteration rows omitted: {type(exc).__name__}: {exc}"]
    if notes:
        logger.warning("job output disagrees with or lacks what the counters say", extra={"notes": notes})

    cost = job_cost(record, counters.human_labeled, counters.machine_labeled, len(rows))
    ended = described.last_modified_at if described.status in ENDED_STATUSES else None
    duration = int((ended - described.created_at).total_seconds()) if ended else None
    return record.model_copy(
        update={
            "status": described.status,
            "failure_reason": failure_reason_for(
                described.status, described.failure_reason, record.stop_reason
            ),
            "ended_at": ended,
            "duration_seconds": duration,
            "counters": counters,
            "cost": cost,
            "running_cost_usd": str(cost.total_cost_usd),
            "iterations": rows,
            "cross_check": notes,
            "output_manifest_uri": described.output_manifest_uri,
            "final_model_arn": record.final_model_arn or described.final_model_arn,
            "simulated": described.tags.get(SIMULATED_TAG) == "true",
        }
    )
