"""The metrics part of finalizing a job: final counters, duration, cost and per-iteration rows.

Counters come from DescribeLabelingJob (the authority); per-iteration rows come from the job's S3
output, streamed file by file and cross-checked against the counters; worker time comes from the
worker-response files of the same listing (``core.labor``), and prices a private team's labor (cost
model ``labelchain-cost-v2``, docs/COST.md). A disagreement or an unreadable output file is recorded
on the job, never a reason to lose the metrics already known. Pure with respect to the table: it
returns the updated record and ``services.finalize`` seals it.
"""

from __future__ import annotations

from collections.abc import Iterator

from aws_lambda_powertools import Logger

from labelchain.adapters.s3 import ObjectChanged, ObjectMissing
from labelchain.adapters.sagemaker import LabelingJobDescription
from labelchain.core.labor import WorkerTime, WorkerTimeSummary, WorkerTimeTally
from labelchain.core.naming import SIMULATED_TAG
from labelchain.core.output_layout import SUMMARIZED_KINDS, OutputFile, OutputKind, classify_output_key
from labelchain.core.output_summary import OutputSummary, summarize_output
from labelchain.core.records import ENDED_STATUSES, Counters, IterationRow, JobRecord, record_cost
from labelchain.core.s3_layout import job_output_key_prefix, split_s3_uri
from labelchain.errors import OutputLayoutError
from labelchain.services.runtime import Runtime
from labelchain.services.worker_responses import DEFAULT_BUDGET_SECONDS, ReadBudget, WorkerResponseReader

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


def output_key_prefix_of(record: JobRecord, described: LabelingJobDescription, output_bucket: str) -> str:
    """Key prefix of the job's output in ``output_bucket``: where DescribeLabelingJob's output manifest is
    (``<S3OutputPath><job name>/manifests/output/output.manifest``), so a job started under an earlier
    layout is read where it wrote; else, with no output manifest (a failed job), the layout's
    ``jobs/<project>/<job name>/``."""
    layout = job_output_key_prefix(record.project, record.job_name)
    if described.output_manifest_uri is None:
        return layout
    try:
        bucket, key = split_s3_uri(described.output_manifest_uri)
    except ValueError:
        return layout
    before, job_folder, _ = key.rpartition(f"{record.job_name}/")
    prefix = before + job_folder
    named = classify_output_key(key, prefix) if job_folder and (not before or before.endswith("/")) else None
    if bucket != output_bucket or named is None or named.kind is not OutputKind.OUTPUT_MANIFEST:
        return layout
    return prefix


job_cost = record_cost
"""What labeled objects of a job cost with its own prices and workforce (``core.records.record_cost``)."""


def running_cost_usd(record: JobRecord, counters: Counters) -> str:
    """The reconciler's running estimate: what the objects labeled so far cost (compute and worker
    time excluded: the output is read once, when the job ends)."""
    return str(job_cost(record, counters.human_labeled, counters.machine_labeled, 0).total_cost_usd)


def _output_files(
    runtime: Runtime, prefix: str, labor: WorkerResponseReader
) -> Iterator[tuple[OutputFile, Iterator[bytes]]]:
    """The files ``summarize_output`` reads; worker responses are handed to ``labor`` on the way past
    (one listing for both), which reads them on its own threads while the summary goes on."""
    bucket = runtime.settings.output_bucket
    for key in runtime.objects.list_keys(bucket, prefix):
        output_file = classify_output_key(key, prefix)
        if output_file is None:
            continue
        if output_file.kind is OutputKind.WORKER_RESPONSE and output_file.iteration is not None:
            labor.read(key, output_file.iteration)
        elif output_file.kind in SUMMARIZED_KINDS:
            yield output_file, runtime.objects.iter_chunks(bucket, key)


def _iteration_rows(
    summary: OutputSummary, labor: WorkerTimeSummary, record: JobRecord
) -> list[IterationRow]:
    stats = {row.iteration: row for row in summary.iterations}
    read_labor = labor.files > 0
    rows = []
    for iteration in sorted(set(stats) | set(labor.iterations)):
        row = stats.get(iteration)
        human = row.human_objects if row is not None else 0
        machine = row.machine_objects if row is not None else None
        time = labor.iterations.get(iteration, WorkerTime()) if read_labor else None
        breakdown = job_cost(
            record, human, machine or 0, 1, worker_time=time, counterfactual_time=labor.total
        )
        rows.append(
            IterationRow(
                iteration=iteration,
                human_objects=human,
                machine_objects=machine,
                boxes=row.boxes if row is not None else None,
                cost_usd=str(breakdown.total_cost_usd),
                worker_seconds=time.worker_seconds if time is not None else None,
                worker_answers=time.answers if time is not None else None,
                answers_time_unknown=time.answers_time_unknown if time is not None else 0,
            )
        )
    return rows


def with_final_metrics(
    record: JobRecord,
    described: LabelingJobDescription,
    runtime: Runtime,
    budget: ReadBudget | None = None,
) -> JobRecord:
    """The record with the ended job's counters, duration, cost, iterations and cross-check notes.

    Worker-response files are read until ``budget`` is spent (default: ``DEFAULT_BUDGET_SECONDS`` of
    real time from now); the worker time is then partial, and the record's cost notes say so.
    """
    budget = budget or ReadBudget.seconds_from_now(DEFAULT_BUDGET_SECONDS)
    counters = described.counters
    notes: list[str] = []
    rows: list[IterationRow] = []
    tally = WorkerTimeTally()
    worker_time: WorkerTime | None = None
    labor_notes: tuple[str, ...] = ()
    try:
        with WorkerResponseReader(runtime.objects, runtime.settings.output_bucket, tally, budget) as reader:
            summary = summarize_output(
                _output_files(
                    runtime, output_key_prefix_of(record, described, runtime.settings.output_bucket), reader
                ),
                record.label_attribute,
                record.task_type,
                counters,
            )
        labor = tally.summary()
        rows = _iteration_rows(summary, labor, record)
        notes = [m.message for m in summary.cross_check] + list(summary.notes)
        worker_time = labor.total if labor.files else None
        labor_notes = labor.notes()
    except (OutputLayoutError, ObjectMissing, ObjectChanged) as exc:
        notes = [f"output not parsed, per-iteration rows omitted: {type(exc).__name__}: {exc}"]
        labor_notes = ("output not parsed: worker time is unknown",)
    if notes or labor_notes:
        logger.warning(
            "job output disagrees with or lacks what the counters say",
            extra={"notes": notes, "labor_notes": labor_notes},
        )

    cost = job_cost(
        record,
        counters.human_labeled,
        counters.machine_labeled,
        len(rows),
        worker_time=worker_time,
        notes=labor_notes,
    )
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
