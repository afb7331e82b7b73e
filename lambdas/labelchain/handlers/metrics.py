"""The CloudWatch metrics LabelChain's handlers emit (EMF, namespace ``LabelChain``).

An ``EphemeralMetrics`` per call: nothing (dimensions included) carries over to the next invocation,
even when several run in one process (the offline stack runs handlers in threads).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from labelchain.handlers.runtime import METRICS_NAMESPACE, SERVICE_NAME

if TYPE_CHECKING:  # types only: a handler imports the services it runs, nothing more
    from labelchain.services.events import MetricsResult
    from labelchain.services.finalize import Finalized


def emit_job_metrics(result: MetricsResult) -> None:
    """One EMF document per finalized job, dimensioned by project and status."""
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


def emit_sealed(finalized: Iterable[Finalized | None]) -> None:
    """Job metrics for every job this invocation sealed — once per job, whoever finalizes it."""
    for item in finalized:
        if item is not None and item.sealed_now:
            emit_job_metrics(item.result)


UNITS = {"RunningCostUSD": MetricUnit.NoUnit}
"""Metrics that are not counts (money has no CloudWatch unit)."""


def emit_counts(counts: Mapping[str, float], *, dimension: tuple[str, str] | None = None) -> None:
    """Counters and gauges such as the reconciler's repairs (``metric name → value``), one EMF document."""
    metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
    if dimension is not None:
        metrics.add_dimension(name=dimension[0], value=dimension[1])
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=UNITS.get(name, MetricUnit.Count), value=value)
    metrics.flush_metrics()
