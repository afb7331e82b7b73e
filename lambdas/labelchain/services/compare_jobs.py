"""CompareJobs: the seed experiment's last step, turning its three jobs into one comparison report.

For each job it finds the LabelChain record — by the job name a succeeded child returned, or, for a
failed child, by the deterministic job name of the child execution named in the failure cause (a
failed job still has recorded metrics) — and says why when there is none. It stores the comparison
in DynamoDB and writes ``report.json`` and ``report.md`` to the output bucket under
``s3_layout.report_prefix`` (``experiments/<project>/<execution name>/``). Rewriting them is idempotent.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from labelchain.core.comparison import (
    ROLE_ORDER,
    Delta,
    ExperimentComparison,
    JobEvidence,
    Role,
    compare_experiment,
)
from labelchain.core.models import FrozenModel
from labelchain.core.naming import job_name_for_execution
from labelchain.core.report_markdown import render_markdown
from labelchain.core.s3_layout import report_prefix
from labelchain.services.experiment_events import ChildOutcome, CompareJobsEvent
from labelchain.services.record_failure import readable_cause
from labelchain.services.runtime import Runtime

logger = Logger(child=True)

REPORT_JSON = "report.json"
REPORT_MARKDOWN = "report.md"
MAX_REASON_CHARS = 1000


class HeadlineDelta(FrozenModel):
    """A delta's three numbers as text (None when a side is missing or the number is undefined)."""

    cost_reduction_percent: str | None
    duration_reduction_percent: str | None
    machine_labeled_gain_points: str | None


class CompareJobsResult(FrozenModel):
    """What CompareJobs returns: the experiment execution's output."""

    report_json_uri: str
    report_markdown_uri: str
    simulated: bool
    pretrained_vs_control: HeadlineDelta
    pretrained_vs_initial: HeadlineDelta
    missing: dict[str, str]
    """Role → why it has no numbers."""


def _child_failure(cause: str | None) -> dict[str, Any]:
    """The child's DescribeExecution from a ``startExecution.sync:2`` failure cause ({} if not JSON)."""
    try:
        payload: Any = json.loads(cause or "")
    except (TypeError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def _first_text(payload: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = payload.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _short(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def _failed_child(role: Role, outcome: ChildOutcome, runtime: Runtime) -> JobEvidence:
    described = _child_failure(outcome.cause)
    arn = _first_text(described, "ExecutionArn", "executionArn") or outcome.execution_arn
    error = _first_text(described, "Error", "error") or outcome.error or "States.TaskFailed"
    child_cause = _first_text(described, "Cause", "cause")
    if child_cause is None and not described:
        child_cause = outcome.cause  # not a DescribeExecution: the cause is the child's own
    execution_error = _short(f"{error}: {readable_cause(child_cause or 'no cause given')}")
    evidence: dict[str, Any] = {
        "role": role,
        "execution_status": "FAILED",
        "execution_arn": arn,
        "execution_error": execution_error,
    }
    if arn is None:
        reason = f"the child execution failed and its failure names no execution ({execution_error})"
        return JobEvidence(**evidence, missing_reason=reason)
    child_name = arn.rsplit(":", 1)[-1]
    job_name = job_name_for_execution(runtime.settings.resource_prefix, child_name, arn)
    record = runtime.store.get_job(job_name)
    if record is None:
        reason = f"the child execution failed before labeling job {job_name} was recorded ({execution_error})"
        return JobEvidence(**evidence, missing_reason=reason)
    return JobEvidence(**evidence, record=record)


def _succeeded_child(role: Role, outcome: ChildOutcome, runtime: Runtime) -> JobEvidence:
    job_name = (outcome.result or {}).get("job_name")
    if not isinstance(job_name, str) or not job_name:
        if outcome.execution_arn is None:
            reason = "the child execution succeeded but its output names no labeling job"
            return JobEvidence(role=role, execution_status="SUCCEEDED", missing_reason=reason)
        child_name = outcome.execution_arn.rsplit(":", 1)[-1]
        job_name = job_name_for_execution(runtime.settings.resource_prefix, child_name, outcome.execution_arn)
    record = runtime.store.get_job(job_name)
    evidence: dict[str, Any] = {
        "role": role,
        "execution_status": "SUCCEEDED",
        "execution_arn": outcome.execution_arn,
    }
    if record is None:
        reason = f"the child execution succeeded but LabelChain has no record of labeling job {job_name}"
        return JobEvidence(**evidence, missing_reason=reason)
    return JobEvidence(**evidence, record=record)


def job_evidence(
    role: Role, outcome: ChildOutcome | None, stop_reason: str | None, runtime: Runtime
) -> JobEvidence:
    """What the experiment knows about one job: its record, or why it has none."""
    if outcome is None or outcome.status == "NOT_RUN":
        why = stop_reason or (outcome.cause if outcome else None) or "the experiment gave no reason"
        return JobEvidence(
            role=role,
            execution_status="NOT_RUN",
            execution_arn=outcome.execution_arn if outcome else None,
            missing_reason=_short(f"not run: {why}"),
        )
    if outcome.status == "FAILED":
        return _failed_child(role, outcome, runtime)
    return _succeeded_child(role, outcome, runtime)


def _headline(delta: Delta) -> HeadlineDelta:
    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return HeadlineDelta(
        cost_reduction_percent=text(delta.cost_reduction_percent.value),
        duration_reduction_percent=text(delta.duration_reduction_percent.value),
        machine_labeled_gain_points=text(delta.machine_labeled_gain_points.value),
    )


def write_report(comparison: ExperimentComparison, runtime: Runtime) -> tuple[str, str]:
    """Store the comparison record and write report.json and report.md; returns their URIs."""
    runtime.store.save_comparison(comparison.execution_name, comparison)
    bucket = runtime.settings.output_bucket
    prefix = report_prefix(comparison.project, comparison.execution_name)
    json_uri = runtime.objects.put_text(
        bucket, prefix + REPORT_JSON, comparison.model_dump_json(indent=2), "application/json"
    )
    markdown_uri = runtime.objects.put_text(
        bucket, prefix + REPORT_MARKDOWN, render_markdown(comparison), "text/markdown; charset=utf-8"
    )
    return json_uri, markdown_uri


def compare_jobs(event: CompareJobsEvent, runtime: Runtime) -> CompareJobsResult:
    """Compare the experiment's three jobs, store and publish the report, return its headline."""
    outcomes: dict[Role, ChildOutcome | None] = {
        "initial": event.initial,
        "pretrained": event.pretrained,
        "control": event.control,
    }
    evidence = {role: job_evidence(role, outcomes[role], event.stop_reason, runtime) for role in ROLE_ORDER}
    comparison = compare_experiment(
        evidence,
        execution_name=event.execution.name,
        execution_arn=event.execution.id,
        project=event.prepared.project,
        compared_at=runtime.clock(),
        stop_reason=event.stop_reason,
    )
    json_uri, markdown_uri = write_report(comparison, runtime)
    if comparison.missing:
        logger.warning("experiment compared with jobs missing", extra={"missing": comparison.missing})
    return CompareJobsResult(
        report_json_uri=json_uri,
        report_markdown_uri=markdown_uri,
        simulated=comparison.simulated,
        pretrained_vs_control=_headline(comparison.pretrained_vs_control),
        pretrained_vs_initial=_headline(comparison.pretrained_vs_initial),
        missing=dict(comparison.missing),
    )
