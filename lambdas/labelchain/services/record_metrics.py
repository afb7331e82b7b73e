"""RecordMetrics: final counters, duration, cost and per-iteration rows of an ended job.

Counters come from DescribeLabelingJob (the authority); per-iteration rows come from the job's S3
output, streamed file by file and cross-checked against the counters. A disagreement or an
unreadable output file is recorded on the job, never a reason to lose the metrics already known.
Writing the record is idempotent: running this twice leaves the same item.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from labelchain.core.cost import CostBreakdown, compute_cost, percent_of
from labelchain.core.naming import SIMULATED_TAG
from labelchain.core.output_layout import SUMMARIZED_KINDS, OutputFile, classify_output_key
from labelchain.core.output_summary import OutputSummary, summarize_output
from labelchain.core.records import ENDED_STATUSES, IterationRow, JobRecord
from labelchain.errors import LabelingJobNotFound, OutputLayoutError
from labelchain.services.events import CostSummary, JobEvent, MetricsResult
from labelchain.services.poll_job import failure_reason_for
from labelchain.services.runtime import Runtime

logger = Logger(child=True)


def job_output_prefix(record: JobRecord) -> str:
    """Key prefix of a job's output in the output bucket: ``<project>/<job-name>/``."""
    return f"{record.project}/{record.job_name}/"


def _output_files(runtime: Runtime, prefix: str) -> Iterator[tuple[OutputFile, Iterator[bytes]]]:
    bucket = runtime.settings.output_bucket
    for key in runtime.objects.list_keys(bucket, prefix):
        output_file = classify_output_key(key, prefix)
        if output_file is not None and output_file.kind in SUMMARIZED_KINDS:
            yield output_file, runtime.objects.iter_chunks(bucket, key)


def _iteration_rows(summary: OutputSummary, cost_of: Any) -> list[IterationRow]:
    rows = []
    for stats in summary.iterations:
        breakdown: CostBreakdown = cost_of(stats.human_objects, stats.machine_objects or 0, 1)
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


def record_metrics(event: JobEvent, runtime: Runtime) -> MetricsResult:
    """Compute and store the job's final metrics; return them as the execution's result."""
    described = runtime.jobs.describe(event.job_name)
    record = runtime.store.get_job(event.job_name)
    if record is None:
        raise LabelingJobNotFound(f"job {event.job_name!r} has no LabelChain record to add metrics to")
    counters = described.counters
    task_price = Decimal(record.workforce.task_price_usd)

    def cost_of(human: int, machine: int, iterations: int) -> CostBreakdown:
        return compute_cost(
            human_objects=human,
            machine_objects=machine,
            workers_per_object=record.workforce.workers_per_object,
            task_price_usd=task_price,
            prices=record.prices,
            iterations=iterations if record.auto_labeling else 0,
        )

    notes: list[str] = []
    rows: list[IterationRow] = []
    try:
        summary = summarize_output(
            _output_files(runtime, job_output_prefix(record)),
            record.label_attribute,
            record.task_type,
            counters,
        )
        rows = _iteration_rows(summary, cost_of)
        notes = [m.message for m in summary.cross_check] + list(summary.notes)
    except OutputLayoutError as exc:
        notes = [f"output not parsed, per-iteration rows omitted: {exc}"]
    if notes:
        logger.warning("job output disagrees with or lacks what the counters say", extra={"notes": notes})

    cost = cost_of(counters.human_labeled, counters.machine_labeled, len(rows))
    ended = described.last_modified_at if described.status in ENDED_STATUSES else None
    duration = int((ended - described.created_at).total_seconds()) if ended else None
    failure_reason = failure_reason_for(described.status, described.failure_reason)
    simulated = described.tags.get(SIMULATED_TAG) == "true"
    updated = record.model_copy(
        update={
            "status": described.status,
            "failure_reason": failure_reason,
            "ended_at": ended,
            "duration_seconds": duration,
            "counters": counters,
            "cost": cost,
            "iterations": rows,
            "cross_check": notes,
            "output_manifest_uri": described.output_manifest_uri,
            "final_model_arn": record.final_model_arn or described.final_model_arn,
            "simulated": simulated,
        }
    )
    runtime.store.save_job(updated)
    return MetricsResult(
        job_name=record.job_name,
        project=record.project,
        status=described.status,
        failure_reason=failure_reason,
        counters=counters,
        machine_labeled_percent=str(percent_of(counters.machine_labeled, record.object_count)),
        duration_seconds=duration,
        iterations=len(rows),
        cost=CostSummary(
            human_usd=str(cost.human_cost_usd),
            machine_usd=str(cost.machine_cost_usd),
            total_usd=str(cost.total_cost_usd),
            without_auto_labeling_usd=str(cost.cost_without_auto_labeling_usd),
            saving_usd=str(cost.saving_usd),
            saving_percent=str(cost.saving_percent),
            prices_version=cost.prices_version,
        ),
        final_model_arn=updated.final_model_arn,
        initial_model_arn=record.initial_model_arn,
        cross_check=notes,
        simulated=simulated,
    )
