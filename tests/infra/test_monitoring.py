"""Notifications, dashboard and alarms (infra/monitoring.py), read back from the session's synthesized
template (the default deployment), and the metric names they use checked against what the handlers emit.
The variant deployment (tests/infra/test_context_overrides.py) covers e-mail subscriptions and the
settings that shape the alarms."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aws_cdk import Duration

from infra.application import PROJECT_ROOT
from infra.functions import FUNCTION_SPECS, FunctionSpec
from infra.lifecycle import TARGET_MAX_EVENT_AGE, TARGET_RETRY_ATTEMPTS
from infra.monitoring import (
    EXECUTION_ENDED,
    METRIC_FAMILIES,
    NAMESPACE,
    PER_JOB,
    PER_PROJECT,
    RECONCILER,
    SERVICE,
    MetricFamily,
)
from labelchain.core.notifications import NOTIFICATION_SOURCE
from labelchain.handlers.metrics import emit_counts, emit_job_metrics
from labelchain.handlers.runtime import METRICS_NAMESPACE, SERVICE_NAME
from labelchain.services.events import MetricsResult
from labelchain.services.reconcile import JobOutcome, ReconcileReport, ReconcileRun, RunningJob
from tests.infra.conftest import CloudAssembly, as_list, render

pytestmark = pytest.mark.infra

PREFIX = "labelchain"
ACCOUNT_ALARMS = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{PREFIX}-*"
RECONCILE_PERIOD = 15 * 60
"""cdk.json's reconcile_interval_minutes, in seconds."""
LABELCHAIN = PROJECT_ROOT / "lambdas" / "labelchain"
EMITTERS: dict[MetricFamily, Path] = {
    PER_JOB: LABELCHAIN / "handlers" / "metrics.py",
    PER_PROJECT: LABELCHAIN / "services" / "reconcile.py",
    RECONCILER: LABELCHAIN / "handlers" / "reconcile.py",
    EXECUTION_ENDED: LABELCHAIN / "handlers" / "execution_ended.py",
}
"""Where each family's metric names are written down in the Lambda code."""


# -- helpers ---------------------------------------------------------------------------------------------


def only(assembly: CloudAssembly, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = assembly.resources(resource_type).items()
    return item[0], item[1]["Properties"]


def topic_id(assembly: CloudAssembly) -> str:
    return only(assembly, "AWS::SNS::Topic")[0]


def alarms(assembly: CloudAssembly) -> dict[str, dict[str, Any]]:
    """Alarm properties by alarm name."""
    return {
        alarm["Properties"]["AlarmName"]: alarm["Properties"]
        for alarm in assembly.resources("AWS::CloudWatch::Alarm").values()
    }


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """``MetricStat.Metric`` of every metric an alarm reads (single metric or metric math)."""
    if "MetricName" in alarm:
        return [{key: alarm.get(key) for key in ("Namespace", "MetricName", "Dimensions")}]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def alarm_stats(alarm: dict[str, Any]) -> set[tuple[str, int]]:
    """(statistic, period) of every metric an alarm reads."""
    if "MetricName" in alarm:
        return {(alarm["Statistic"], alarm["Period"])}
    return {
        (query["MetricStat"]["Stat"], query["MetricStat"]["Period"])
        for query in alarm["Metrics"]
        if "MetricStat" in query
    }


def key_statements(assembly: CloudAssembly) -> list[dict[str, Any]]:
    _, key = only(assembly, "AWS::KMS::Key")
    statements: list[dict[str, Any]] = render(key["KeyPolicy"]["Statement"])
    return statements


def dashboard_body(assembly: CloudAssembly) -> dict[str, Any]:
    _, dashboard = only(assembly, "AWS::CloudWatch::Dashboard")
    body: dict[str, Any] = json.loads(render(dashboard["DashboardBody"]))
    return body


def dashboard_metrics(body: dict[str, Any]) -> Iterator[list[Any]]:
    """Every metric row of every graph: ``[namespace, name, dim, value, ..., {options}]`` or
    ``[{"expression": ...}]``."""
    for widget in body["widgets"]:
        yield from widget["properties"].get("metrics", [])


SEARCH = re.compile(r"SEARCH\('\{([^}]*)\} service=\"([^\"]*)\" MetricName=\"(\w+)\"'")


def searched(body: dict[str, Any]) -> list[tuple[tuple[str, ...], str, str]]:
    """(schema, service, metric name) of every SEARCH on the dashboard."""
    found = []
    for metric in dashboard_metrics(body):
        if isinstance(metric[-1], dict) and "expression" in metric[-1]:
            for schema, service, name in SEARCH.findall(metric[-1]["expression"]):
                found.append((tuple(schema.split(",")), service, name))
    return found


def plotted(body: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, dimensions) of every plain metric on the dashboard."""
    found = []
    for metric in dashboard_metrics(body):
        fields = [item for item in metric if not isinstance(item, dict)]
        if fields:
            namespace, name, *dimensions = fields
            found.append((namespace, name, dict(zip(dimensions[::2], dimensions[1::2], strict=True))))
    return found


def string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def family_of(name: str, dimensions: tuple[str, ...]) -> MetricFamily:
    (family,) = [f for f in METRIC_FAMILIES if name in f.names and f.dimensions == dimensions]
    return family


# -- notifications ---------------------------------------------------------------------------------------


def test_the_topic_is_named_encrypted_with_the_stack_key_and_tls_only(assembly: CloudAssembly) -> None:
    topic, properties = only(assembly, "AWS::SNS::Topic")
    key_id, _ = only(assembly, "AWS::KMS::Key")
    _, policy = only(assembly, "AWS::SNS::TopicPolicy")
    statements = policy["PolicyDocument"]["Statement"]

    assert properties["TopicName"] == f"{PREFIX}-notifications"
    assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert policy["Topics"] == [{"Ref": topic}]
    assert {
        "Action": "sns:Publish",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": "*",
        "Resource": {"Ref": topic},
        "Sid": "AllowPublishThroughSSLOnly",
    } in statements


def test_eventbridge_and_only_this_deployments_alarms_may_publish(assembly: CloudAssembly) -> None:
    _, policy = only(assembly, "AWS::SNS::TopicPolicy")
    allowed = {
        statement["Principal"]["Service"]: statement
        for statement in render(policy["PolicyDocument"]["Statement"])
        if statement["Effect"] == "Allow"
    }

    assert set(allowed) == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}
    assert all(statement["Action"] == "sns:Publish" for statement in allowed.values())
    assert allowed["cloudwatch.amazonaws.com"]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": ACCOUNT_ALARMS},
    }
    # ... and every alarm of the stack is one the condition lets publish.
    for name in alarms(assembly):
        assert fnmatch.fnmatchcase(f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}", ACCOUNT_ALARMS)


def test_the_key_lets_eventbridge_and_this_deployments_alarms_encrypt_messages(
    assembly: CloudAssembly,
) -> None:
    by_service: dict[str, list[dict[str, Any]]] = {}
    for statement in key_statements(assembly):
        service = statement["Principal"].get("Service") if isinstance(statement["Principal"], dict) else None
        if statement["Effect"] == "Allow" and isinstance(service, str):
            by_service.setdefault(service, []).append(statement)
    needed = {"kms:Decrypt", "kms:GenerateDataKey*"}

    # EventBridge: unconditioned (it passes no aws:Source* keys to KMS; a condition would drop events).
    assert any(
        needed <= set(as_list(s["Action"])) and "Condition" not in s
        for s in by_service["events.amazonaws.com"]
    )
    (cloudwatch,) = by_service["cloudwatch.amazonaws.com"]
    assert set(as_list(cloudwatch["Action"])) == needed
    assert cloudwatch["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": ACCOUNT_ALARMS},
    }


def test_labelchain_events_reach_the_topic_retried_then_dead_lettered(assembly: CloudAssembly) -> None:
    (queue,) = assembly.resources("AWS::SQS::Queue")
    topic = {"Ref": topic_id(assembly)}
    (rule,) = [
        rule["Properties"]
        for rule in assembly.resources("AWS::Events::Rule").values()
        if any(target["Arn"] == topic for target in rule["Properties"].get("Targets", []))
    ]
    (target,) = rule["Targets"]

    assert rule["EventPattern"] == {"source": [NOTIFICATION_SOURCE]}
    assert "EventBusName" not in rule  # the account's default bus, where the handlers put them
    assert rule["State"] == "ENABLED"
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": TARGET_RETRY_ATTEMPTS,
        "MaximumEventAgeInSeconds": int(TARGET_MAX_EVENT_AGE.to_seconds()),
    }


def test_no_email_subscription_without_notification_emails(assembly: CloudAssembly) -> None:
    assert assembly.resources("AWS::SNS::Subscription") == {}


def test_the_topic_and_the_dashboard_are_stack_outputs(assembly: CloudAssembly) -> None:
    outputs = assembly.template["Outputs"]
    dashboard, _ = only(assembly, "AWS::CloudWatch::Dashboard")

    assert outputs["NotificationTopicArn"]["Value"] == {"Ref": topic_id(assembly)}
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard}


# -- alarms ----------------------------------------------------------------------------------------------


def test_every_alarm_notifies_the_topic_at_one_occurrence_in_one_period(assembly: CloudAssembly) -> None:
    topic = {"Ref": topic_id(assembly)}
    found = alarms(assembly)

    assert len(found) == 4 + len(FUNCTION_SPECS)
    for name, alarm in found.items():
        assert alarm["AlarmActions"] == [topic], name
        assert alarm["Threshold"] == 1, name
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1), name
        # CloudWatch refuses alarms on SEARCH expressions.
        assert "SEARCH" not in json.dumps(alarm.get("Metrics", [])), name


def test_failed_or_timed_out_executions_of_either_state_machine_alarm(assembly: CloudAssembly) -> None:
    alarm = alarms(assembly)[f"{PREFIX}-executions-failed"]
    machines = set(assembly.resources("AWS::StepFunctions::StateMachine"))
    (expression,) = [query for query in alarm["Metrics"] if "Expression" in query]
    metric_ids = [query["Id"] for query in alarm["Metrics"] if "MetricStat" in query]

    assert {
        (metric["MetricName"], metric["Dimensions"][0]["Value"]["Ref"]) for metric in alarm_metrics(alarm)
    } == {(name, machine) for name in ("ExecutionsFailed", "ExecutionsTimedOut") for machine in machines}
    assert all(metric["Namespace"] == "AWS/States" for metric in alarm_metrics(alarm))
    # Each series is filled, so one machine's failure is not lost to the other's missing data point.
    assert expression["Expression"] == " + ".join(f"FILL({metric_id}, 0)" for metric_id in metric_ids)
    assert expression["ReturnData"] is True
    assert alarm_stats(alarm) == {("Sum", 300)}
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda spec: spec.construct_id)
def test_each_function_has_its_own_errors_alarm(assembly: CloudAssembly, spec: FunctionSpec) -> None:
    function_id, _ = assembly.function(f"{PREFIX}-{spec.name_suffix}")
    alarm = alarms(assembly)[f"{PREFIX}-{spec.name_suffix}-errors"]

    assert alarm_metrics(alarm) == [
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}],
        }
    ]
    assert alarm_stats(alarm) == {("Sum", 300)}
    assert alarm["TreatMissingData"] == "notBreaching"


def test_a_message_in_the_dead_letter_queue_alarms(assembly: CloudAssembly) -> None:
    (queue,) = assembly.resources("AWS::SQS::Queue")
    alarm = alarms(assembly)[f"{PREFIX}-dead-letters-not-empty"]

    assert alarm_metrics(alarm) == [
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}],
        }
    ]
    assert alarm_stats(alarm) == {("Maximum", 300)}
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(
    ("alarm_name", "metric_name", "statistic", "missing"),
    [
        ("stalled-jobs", "StalledJobs", "Maximum", "ignore"),
        ("budget-exceeded", "BudgetStops", "Sum", "notBreaching"),
    ],
)
def test_stalled_jobs_and_budget_stops_alarm_on_the_reconcilers_totals(
    assembly: CloudAssembly, alarm_name: str, metric_name: str, statistic: str, missing: str
) -> None:
    alarm = alarms(assembly)[f"{PREFIX}-{alarm_name}"]

    # The account-wide total (service dimension only): no SEARCH over projects, which alarms refuse.
    assert alarm_metrics(alarm) == [
        {
            "Namespace": NAMESPACE,
            "MetricName": metric_name,
            "Dimensions": [{"Name": "service", "Value": SERVICE}],
        }
    ]
    assert metric_name in RECONCILER.names
    assert RECONCILER.dimensions == ("service",)
    # One reconciler run per period decides.
    assert alarm_stats(alarm) == {(statistic, RECONCILE_PERIOD)}
    assert alarm["TreatMissingData"] == missing


# -- dashboard -------------------------------------------------------------------------------------------


def test_the_dashboard_is_named_after_the_deployment(assembly: CloudAssembly) -> None:
    _, dashboard = only(assembly, "AWS::CloudWatch::Dashboard")

    assert dashboard["DashboardName"] == PREFIX


def test_the_dashboard_shows_every_labelchain_metric_with_the_dimensions_it_is_emitted_with(
    assembly: CloudAssembly,
) -> None:
    body = dashboard_body(assembly)
    names: set[str] = set()
    for schema, service, name in searched(body):
        assert schema[0] == NAMESPACE
        assert service == SERVICE
        family_of(name, schema[1:])  # exactly one family has this name with these dimensions
        names.add(name)
    for namespace, name, dimensions in plotted(body):
        if namespace == NAMESPACE:
            assert dimensions == {"service": SERVICE}, name
            family_of(name, ("service",))
            names.add(name)

    assert names == {name for family in METRIC_FAMILIES for name in family.names}


def test_per_project_progress_is_searched_per_project_and_summed(assembly: CloudAssembly) -> None:
    expressions = [
        metric[-1]["expression"]
        for metric in dashboard_metrics(dashboard_body(assembly))
        if isinstance(metric[-1], dict) and "expression" in metric[-1]
    ]
    for name in ("RunningJobs", "RunningCostUSD"):
        search = PER_PROJECT.search(name, "Maximum", Duration.seconds(RECONCILE_PERIOD))
        assert search in expressions
        assert f"SUM({search})" in expressions
    for name in ("HumanLabeledSoFar", "MachineLabeledSoFar"):
        assert (
            f"SUM({PER_PROJECT.search(name, 'Maximum', Duration.seconds(RECONCILE_PERIOD))})" in expressions
        )


def test_the_dashboard_shows_executions_lambdas_and_the_dead_letter_queue(assembly: CloudAssembly) -> None:
    body = dashboard_body(assembly)
    shown = {
        (namespace, name, next(iter(dimensions.values())))
        for namespace, name, dimensions in plotted(body)
        if namespace != NAMESPACE
    }
    machines = assembly.resources("AWS::StepFunctions::StateMachine")
    functions = {
        logical_id
        for logical_id, function in assembly.resources("AWS::Lambda::Function").items()
        if function["Properties"].get("FunctionName", "").startswith(f"{PREFIX}-")
    }
    (queue,) = assembly.resources("AWS::SQS::Queue")

    assert len(machines) == 2
    assert len(functions) == len(FUNCTION_SPECS)
    assert shown == {
        *(
            ("AWS/States", name, f"<{machine}>")
            for name in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
            for machine in machines
        ),
        *(
            ("AWS/Lambda", name, f"<{function}>")
            for name in ("Errors", "Throttles")
            for function in functions
        ),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", f"<{queue}.QueueName>"),
    }


def test_the_dashboard_shows_the_state_of_every_alarm(assembly: CloudAssembly) -> None:
    (widget,) = [w for w in dashboard_body(assembly)["widgets"] if w["type"] == "alarm"]

    assert sorted(widget["properties"]["alarms"]) == sorted(
        f"<{logical_id}.Arn>" for logical_id in assembly.resources("AWS::CloudWatch::Alarm")
    )


# -- the names are the handlers' -------------------------------------------------------------------------


@pytest.mark.parametrize("family", METRIC_FAMILIES, ids=lambda family: "-".join(family.names[:1]))
def test_every_metric_name_monitored_is_one_the_lambdas_emit(family: MetricFamily) -> None:
    assert set(family.names) <= string_constants(EMITTERS[family]), EMITTERS[family]


def test_the_project_gauges_are_exactly_the_per_project_metrics() -> None:
    report = ReconcileReport(started_at="2025-01-01T00:00:00Z", jobs=1, outcomes={}, repairs=0, errors=0)
    running = RunningJob(human_labeled=1, machine_labeled=2, running_cost_usd=Decimal("3"), stalled=True)
    run = ReconcileRun(report, [JobOutcome("job", "progress", project="birds", running=running)])

    assert set(run.project_gauges()["birds"]) == set(PER_PROJECT.names)


def _emf_dimensions(output: str) -> list[tuple[tuple[str, ...], set[str]]]:
    """(dimension names, metric names) of every EMF document printed."""
    documents = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [
        (tuple(sorted(dimensions)), {metric["Name"] for metric in directive["Metrics"]})
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        for dimensions in directive["Dimensions"]
    ]


def test_the_emitted_dimensions_are_the_ones_the_dashboard_and_alarms_assume(
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = SimpleNamespace(
        project="birds",
        status="Completed",
        counters=SimpleNamespace(human_labeled=3, machine_labeled=7),
        machine_labeled_percent="70.00",
        cost=SimpleNamespace(total_usd="1.50", saving_usd="0.70"),
        duration_seconds=600,
    )
    capsys.readouterr()
    emit_job_metrics(cast(MetricsResult, job))
    emit_counts(dict.fromkeys(PER_PROJECT.names, 1), dimension=("project", "birds"))
    emit_counts(dict.fromkeys((*RECONCILER.names, *EXECUTION_ENDED.names), 1))

    assert (METRICS_NAMESPACE, SERVICE_NAME) == (NAMESPACE, SERVICE)
    assert _emf_dimensions(capsys.readouterr().out) == [
        (PER_JOB.dimensions, set(PER_JOB.names)),
        (PER_PROJECT.dimensions, set(PER_PROJECT.names)),
        (RECONCILER.dimensions, {*RECONCILER.names, *EXECUTION_ENDED.names}),
    ]
