"""Reconciler Lambda (scheduled): progress of every running job, and repairs of whatever drifted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labelchain.handlers.metrics import emit_counts, emit_sealed
from labelchain.handlers.runtime import get_runtime, lambda_handler, logger
from labelchain.services.reconcile import reconcile

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = reconcile(get_runtime())
    report = run.report
    logger.info("reconciler run", extra=report.model_dump())
    per_project = run.project_gauges()
    emit_counts(
        {
            "RunningJobs": sum(int(g["RunningJobs"]) for g in per_project.values()),
            "StalledJobs": sum(int(g["StalledJobs"]) for g in per_project.values()),
            "ReconcilerJobsChecked": report.jobs,
            "ReconcilerRepairs": report.repairs,
            "ReconcilerErrors": report.errors,
            "BudgetWarnings": report.outcomes.get("budget-warning", 0),
            "BudgetStops": report.outcomes.get("budget-stopped", 0),
        }
    )
    for project, gauges in per_project.items():
        emit_counts(gauges, dimension=("project", project))
    emit_sealed(run.sealed)
    return report.model_dump(mode="json")
