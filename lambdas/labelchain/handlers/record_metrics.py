"""RecordMetrics Lambda: store an ended job's counters, cost and iterations; emit EMF metrics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from labelchain.handlers.runtime import METRICS_NAMESPACE, SERVICE_NAME, get_runtime, logger, tracer
from labelchain.services.events import JobEvent, MetricsResult, parse_event
from labelchain.services.record_metrics import record_metrics


def emit_job_metrics(result: MetricsResult) -> None:
    """One EMF document per job, dimensioned by project (and status) for per-project dashboards.

    An ``EphemeralMetrics`` per call: nothing (dimensions included) carries over to the next
    invocation, even when several run in one process (the offline stack runs handlers in threads).
    """
    metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
    metrics.add_dimension(name="project", value=result.project)
    metrics.add_dimension(name="status", value=result.status)
    metrics.add_metric(name="HumanLabeledObjects", unit=MetricUnit.Count, value=result.counters.human_labeled)
    metrics.add_metric(
        name="MachineLabeledObjects", unit=MetricUnit.Count, value=result.counters.machine_labeled
    )
    metrics.add_metric(
        name="MachineLabeledPercent", unit=MetricUnit.Percent, value=float(result.machine_labeled_percent)
    )
    metrics.add_metric(name="JobCostUSD", unit=MetricUnit.NoUnit, value=float(Decimal(result.cost.total_usd)))
    metrics.add_metric(
        name="AutoLabelingSavingUSD", unit=MetricUnit.NoUnit, value=float(Decimal(result.cost.saving_usd))
    )
    if result.duration_seconds is not None:
        metrics.add_metric(name="JobDuration", unit=MetricUnit.Seconds, value=result.duration_seconds)
    metrics.flush_metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = record_metrics(parse_event(JobEvent, event), get_runtime())
    emit_job_metrics(result)
    return result.model_dump(mode="json")
