"""Notifications, dashboard and alarms: how a team hears about its jobs and sees the deployment's health.

- **Notifications** — one SNS topic ``<prefix>-notifications``, encrypted with the stack's key and
  TLS-only. An EventBridge rule on the default bus forwards every LabelChain event (``source =
  labelchain``: job started, completed, failed, stopped, budget warning/exceeded, needs attention) to
  it, retried and dead-lettered like every other target; teams add their own rules for chat and such.
  ``notification_emails`` (cdk.json / ``-c``) subscribes e-mail addresses.
- **Dashboard** ``<prefix>`` — running jobs, objects labeled (human/machine), running cost per project,
  finalized jobs, executions failed, Lambda errors and throttles, the dead-letter queue, the reconciler.
  Progress comes from the reconciler's gauges (dimension ``project``, whose values are unknown at synth),
  read with metric-math ``SEARCH`` so every project shows up.
- **Alarms** → the topic: executions failed or timed out, errors of each function, dead-letter queue not
  empty, a running job without progress for ``stalled_job_hours``, a job stopped for its budget.
  CloudWatch refuses alarms on ``SEARCH``: the alarms read the reconciler's account-wide totals (only
  the ``service`` dimension) instead.

The metric names below are the handlers' (EMF, namespace ``LabelChain``); the infra tests check that each
name used here is one the handlers emit, with the dimensions assumed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from aws_cdk import ArnFormat, Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import DeploymentConfig
from infra.functions import FUNCTION_SPECS, POWERTOOLS_ENVIRONMENT, LabelChainFunctions
from infra.lifecycle import EventDeadLetters
from labelchain.core.notifications import NOTIFICATION_SOURCE

NAMESPACE: Final = POWERTOOLS_ENVIRONMENT["POWERTOOLS_METRICS_NAMESPACE"]
SERVICE: Final = POWERTOOLS_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]
"""Powertools adds ``service=<this>`` as a dimension to every metric the handlers emit."""


@dataclass(frozen=True)
class MetricFamily:
    """Metrics the handlers emit together, with one set of dimensions (CloudWatch's metric identity)."""

    names: tuple[str, ...]
    dimensions: tuple[str, ...]

    def search(self, name: str, statistic: str, period: Duration) -> str:
        """A metric-math ``SEARCH`` for every series of ``name`` (e.g. one per project)."""
        if name not in self.names:
            raise ValueError(f"{name} is not one of {self.names}")
        schema = ",".join((NAMESPACE, *self.dimensions))
        return (
            f'SEARCH(\'{{{schema}}} service="{SERVICE}" MetricName="{name}"\', '
            f"'{statistic}', {int(period.to_seconds())})"
        )


PER_JOB: Final = MetricFamily(
    names=(
        "HumanLabeledObjects",
        "MachineLabeledObjects",
        "MachineLabeledPercent",
        "JobCostUSD",
        "AutoLabelingSavingUSD",
        "JobDuration",
    ),
    dimensions=("project", "service", "status"),
)
"""Once per finalized job (handlers/metrics.py ``emit_job_metrics``)."""
PER_PROJECT: Final = MetricFamily(
    names=("RunningJobs", "HumanLabeledSoFar", "MachineLabeledSoFar", "RunningCostUSD", "StalledJobs"),
    dimensions=("project", "service"),
)
"""Each reconciler run, per project with running jobs (services/reconcile.py ``project_gauges``)."""
RECONCILER: Final = MetricFamily(
    names=(
        "ReconcilerJobsChecked",
        "ReconcilerRepairs",
        "ReconcilerErrors",
        "BudgetWarnings",
        "BudgetStops",
        "RunningJobs",
        "StalledJobs",
    ),
    dimensions=("service",),
)
"""Each reconciler run, account-wide totals (handlers/reconcile.py), emitted even when they are 0."""
EXECUTION_ENDED: Final = MetricFamily(
    names=("JobsStoppedWithTheirExecution", "JobsAdoptedByReconciler"),
    dimensions=("service",),
)
"""Per execution that ended early and took its job along (handlers/execution_ended.py)."""
METRIC_FAMILIES: Final = (PER_JOB, PER_PROJECT, RECONCILER, EXECUTION_ENDED)

SHORT_PERIOD: Final = Duration.minutes(5)
"""Period of the AWS service metrics on the dashboard and of the failure alarms."""
DAILY: Final = Duration.days(1)
"""Period of the finalized-job metrics (a few data points a day)."""
NOTIFICATION_TOPIC_SUFFIX: Final = "notifications"


def notification_topic_name(resource_prefix: str) -> str:
    return f"{resource_prefix}-{NOTIFICATION_TOPIC_SUFFIX}"


def service_metric(name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
    """One of the handlers' account-wide metrics (dimension ``service`` only): alarms can read these."""
    if name not in RECONCILER.names and name not in EXECUTION_ENDED.names:
        raise ValueError(f"{name} is not emitted with the service dimension alone")
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE},
        statistic=statistic,
        period=period,
        label=name,
    )


class Monitoring(Construct):
    """The notification topic and rule, the dashboard and the alarms of one deployment."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        key: kms.IKey,
        functions: LabelChainFunctions,
        state_machines: Mapping[str, sfn.StateMachine],
        dead_letters: EventDeadLetters,
    ) -> None:
        super().__init__(scope, construct_id)
        self._prefix = config.resource_prefix
        self._reconcile_period = Duration.minutes(config.reconcile_interval_minutes)
        self._functions = functions
        self._state_machines = dict(state_machines)
        self._dead_letters = dead_letters

        self.topic = self._topic(key, config.notification_emails)
        self.notifications = events.Rule(
            self,
            "Notifications",
            description="LabelChain job notifications (source labelchain) to the notifications topic",
            event_pattern=events.EventPattern(source=[NOTIFICATION_SOURCE]),
        )
        self.notifications.add_target(targets.SnsTopic(self.topic, **dead_letters.target_options()))  # type: ignore[arg-type]

        self.alarms: list[cloudwatch.Alarm] = []
        self._alarms()
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self._prefix,
            default_interval=Duration.days(7),
        )
        self._widgets()

    # -- notifications -------------------------------------------------------------------------------

    def _topic(self, key: kms.IKey, emails: Sequence[str]) -> sns.Topic:
        stack = Stack.of(self)
        topic_name = notification_topic_name(self._prefix)
        topic = sns.Topic(
            self,
            "Topic",
            topic_name=topic_name,
            display_name=f"LabelChain ({self._prefix})",
            master_key=key,
            enforce_ssl=True,
        )
        alarms_arn = stack.format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name=f"{self._prefix}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # SNS encrypts each message with a data key it asks KMS for on behalf of the publisher, so the key
        # policy must let each publishing service use the key.
        # - EventBridge: the SnsTopic target's grant_publish adds kms:Decrypt and kms:GenerateDataKey* for
        #   events.amazonaws.com to the key policy (CDK merges it with the dead-letter queue's grant). It
        #   stays unconditioned: EventBridge's KMS requests for a target carry no aws:SourceAccount or
        #   aws:SourceArn, so such a condition would silently drop every notification.
        # - CloudWatch alarms: granted here, limited to this deployment's alarms (named <prefix>-*) in
        #   this account.
        alarm_source = {
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
            "ArnLike": {"aws:SourceArn": alarms_arn},
        }
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToNotificationTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions=alarm_source,
            )
        )
        # The topic policy (which enforce_ssl creates) replaces SNS's default one: allow the alarms in it.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=alarm_source,
            )
        )
        for email in emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    # -- alarms --------------------------------------------------------------------------------------

    def _alarm(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        metric: cloudwatch.IMetric,
        treat_missing_data: cloudwatch.TreatMissingData,
    ) -> cloudwatch.Alarm:
        """An alarm at ``≥ 1`` for one period, named ``<prefix>-<name>``, that notifies the topic."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"{self._prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            treat_missing_data=treat_missing_data,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    def _alarms(self) -> None:
        self._execution_alarms()
        self._function_alarms()
        self._queue_and_job_alarms()

    def _execution_alarms(self) -> None:
        # Step Functions publishes ExecutionsFailed/TimedOut only when an execution ends that way: no data
        # means nothing failed (NOT_BREACHING). FILL(…, 0) keeps one machine's data point from being lost
        # when the other has none in that period. ABORTED is left out: someone stopped it on purpose.
        failures: dict[str, cloudwatch.IMetric] = {}
        for index, machine in enumerate(self._state_machines.values()):
            failures[f"failed{index}"] = machine.metric_failed(period=SHORT_PERIOD, statistic="Sum")
            failures[f"timedout{index}"] = machine.metric_timed_out(period=SHORT_PERIOD, statistic="Sum")
        self.executions_failed = self._alarm(
            "ExecutionsFailed",
            name="executions-failed",
            description="A LabelingJob or Experiment execution failed or timed out (see the execution's "
            "history; its job was stopped or adopted as on_execution_failure says).",
            metric=cloudwatch.MathExpression(
                expression=" + ".join(f"FILL({metric_id}, 0)" for metric_id in failures),
                using_metrics=failures,
                label="Executions failed or timed out",
                period=SHORT_PERIOD,
            ),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _function_alarms(self) -> None:
        # One alarm per function rather than one metric-math sum: the alarm's name says which function
        # fails, a metric-math alarm holds at most 10 metrics (the stack has 10 functions already), and
        # a new function gets its alarm without touching the others. Lambda publishes Errors only for
        # invocations: no data means no invocation, hence no error (NOT_BREACHING).
        name_suffixes = {spec.construct_id: spec.name_suffix for spec in FUNCTION_SPECS}
        self.function_errors: dict[str, cloudwatch.Alarm] = {}
        for construct_id, function in self._functions.by_construct_id.items():
            self.function_errors[construct_id] = self._alarm(
                f"{construct_id}Errors",
                name=f"{name_suffixes[construct_id]}-errors",
                description=f"LabelChain {construct_id} function raised errors (see its log group).",
                metric=function.metric_errors(period=SHORT_PERIOD, statistic="Sum"),
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

    def _queue_and_job_alarms(self) -> None:
        # SQS stops publishing for a queue that has been empty and idle for hours: no data means empty.
        self.dead_letters_not_empty = self._alarm(
            "DeadLettersNotEmpty",
            name="dead-letters-not-empty",
            description="Events EventBridge or a lifecycle Lambda could not deliver wait in the dead-letter "
            "queue: inspect them, fix the cause, redrive.",
            metric=self._dead_letters.queue.metric_approximate_number_of_messages_visible(
                period=SHORT_PERIOD, statistic="Maximum"
            ),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # StalledJobs already means "running, no counter moved for stalled_job_hours", and the reconciler
        # emits it (0 included) every run: one run's value decides, so the period is the interval. A
        # missing run (late delivery, the schedule straddling two periods, the reconciler failing — which
        # its own errors alarm reports) says nothing about the jobs: keep the state (IGNORE).
        self.stalled_jobs = self._alarm(
            "StalledJobs",
            name="stalled-jobs",
            description="A running labeling job made no progress (no object labeled) for the configured "
            "stalled_job_hours: check its workforce and the job in the SageMaker console.",
            metric=service_metric("StalledJobs", "Maximum", self._reconcile_period),
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
        )
        # BudgetStops counts jobs the reconciler stopped at 100 % of their budget in that run; the stop
        # is an event, not a state, so a period without data means no stop (NOT_BREACHING).
        self.budget_exceeded = self._alarm(
            "BudgetExceeded",
            name="budget-exceeded",
            description="The reconciler stopped a labeling job whose running cost reached its budget "
            "(the 'LabelChain Job Budget Exceeded' notification names the job).",
            metric=service_metric("BudgetStops", "Sum", self._reconcile_period),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    # -- dashboard -----------------------------------------------------------------------------------

    def _per_project(self, name: str, statistic: str, period: Duration) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=PER_PROJECT.search(name, statistic, period),
            using_metrics={},
            label="${PROP('Dim.project')}",
            period=period,
        )

    @staticmethod
    def _total(
        family: MetricFamily, name: str, statistic: str, period: Duration, label: str
    ) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression=f"SUM({family.search(name, statistic, period)})",
            using_metrics={},
            label=label,
            period=period,
        )

    def _widgets(self) -> None:
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4)
        )
        self._running_job_widgets()
        self._finalized_job_widgets()
        self._execution_widgets()
        self._function_widgets()

    def _running_job_widgets(self) -> None:
        gauge = self._reconcile_period
        self.dashboard.add_widgets(
            _graph(
                "Running jobs per project",
                [
                    self._per_project("RunningJobs", "Maximum", gauge),
                    self._total(PER_PROJECT, "RunningJobs", "Maximum", gauge, "All projects"),
                ],
            ),
            _graph(
                "Running cost per project (USD)",
                [
                    self._per_project("RunningCostUSD", "Maximum", gauge),
                    self._total(PER_PROJECT, "RunningCostUSD", "Maximum", gauge, "All projects"),
                ],
            ),
        )
        self.dashboard.add_widgets(
            _graph(
                "Objects labeled by running jobs so far",
                [
                    self._total(PER_PROJECT, "HumanLabeledSoFar", "Maximum", gauge, "Human"),
                    self._total(PER_PROJECT, "MachineLabeledSoFar", "Maximum", gauge, "Machine"),
                ],
                stacked=True,
            ),
            _graph(
                "Objects labeled by finalized jobs (per day)",
                [
                    self._total(PER_JOB, "HumanLabeledObjects", "Sum", DAILY, "Human"),
                    self._total(PER_JOB, "MachineLabeledObjects", "Sum", DAILY, "Machine"),
                ],
                stacked=True,
            ),
        )

    def _finalized_job_widgets(self) -> None:
        self.dashboard.add_widgets(
            _graph(
                "Finalized jobs: cost and auto-labeling saving (USD per day)",
                [
                    self._total(PER_JOB, "JobCostUSD", "Sum", DAILY, "Cost"),
                    self._total(PER_JOB, "AutoLabelingSavingUSD", "Sum", DAILY, "Saving"),
                ],
            ),
            _graph(
                "Finalized jobs: machine-labeled % and duration (per project and status)",
                [
                    cloudwatch.MathExpression(
                        expression=PER_JOB.search("MachineLabeledPercent", "Average", DAILY),
                        using_metrics={},
                        label="${PROP('Dim.project')} ${PROP('Dim.status')} %",
                        period=DAILY,
                    )
                ],
                right=[
                    cloudwatch.MathExpression(
                        expression=PER_JOB.search("JobDuration", "Average", DAILY),
                        using_metrics={},
                        label="${PROP('Dim.project')} ${PROP('Dim.status')} s",
                        period=DAILY,
                    )
                ],
            ),
        )

    def _execution_widgets(self) -> None:
        executions: list[cloudwatch.IMetric] = []
        for name, machine in self._state_machines.items():
            executions += [
                machine.metric_failed(period=SHORT_PERIOD, statistic="Sum", label=f"{name} failed"),
                machine.metric_timed_out(period=SHORT_PERIOD, statistic="Sum", label=f"{name} timed out"),
                machine.metric_aborted(period=SHORT_PERIOD, statistic="Sum", label=f"{name} aborted"),
            ]
        self.dashboard.add_widgets(
            _graph("Executions failed, timed out, aborted", executions),
            _graph(
                "Event dead-letter queue depth",
                [
                    self._dead_letters.queue.metric_approximate_number_of_messages_visible(
                        period=SHORT_PERIOD, statistic="Maximum", label="Messages visible"
                    )
                ],
            ),
        )

    def _function_widgets(self) -> None:
        gauge = self._reconcile_period
        functions = self._functions.by_construct_id
        self.dashboard.add_widgets(
            _graph(
                "Lambda errors",
                [
                    function.metric_errors(period=SHORT_PERIOD, statistic="Sum", label=construct_id)
                    for construct_id, function in functions.items()
                ],
            ),
            _graph(
                "Lambda throttles",
                [
                    function.metric_throttles(period=SHORT_PERIOD, statistic="Sum", label=construct_id)
                    for construct_id, function in functions.items()
                ],
            ),
        )
        self.dashboard.add_widgets(
            _graph(
                "Reconciler",
                [
                    service_metric(name, "Sum", gauge)
                    for name in ("ReconcilerRepairs", "ReconcilerErrors", "BudgetWarnings", "BudgetStops")
                ],
                right=[
                    service_metric("ReconcilerJobsChecked", "Sum", gauge),
                    service_metric("StalledJobs", "Maximum", gauge),
                ],
            ),
            _graph(
                "Jobs taken along by their ended execution",
                [service_metric(name, "Sum", SHORT_PERIOD) for name in EXECUTION_ENDED.names],
            ),
        )


def _graph(
    title: str,
    left: Sequence[cloudwatch.IMetric],
    *,
    right: Sequence[cloudwatch.IMetric] = (),
    stacked: bool = False,
) -> cloudwatch.GraphWidget:
    """One half-width dashboard graph."""
    return cloudwatch.GraphWidget(
        title=title, left=list(left), right=list(right), stacked=stacked, width=12, height=6
    )
