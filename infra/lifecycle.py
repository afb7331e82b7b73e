"""Job lifecycle: the EventBridge rules that keep every labeling job tracked to its end.

- **JobStateChange** — Ground Truth's "Labeling Job State Change" events (Completed, Failed, Stopped)
  → JobEvents, which resumes the execution waiting for the job (or finalizes a job no execution waits for).
- **ExecutionEnded** — Step Functions' "Execution Status Change" events (ABORTED, TIMED_OUT, FAILED) of
  the LabelingJob and Experiment state machines → ExecutionEnded, which stops the job (stop both ways)
  or the Experiment's child executions.
- **Reconcile** — a schedule (``reconcile_interval_minutes``) → Reconcile: progress snapshots, running
  cost, and the safety net for every lost event.
Every target retries delivery and sends what it could not deliver to one encrypted SQS dead-letter queue
(shared with the manifest trigger); a handler that fails after Lambda's own retries sends the event to
the same queue (an on-failure destination), so no event is dropped silently.
"""

from __future__ import annotations

from typing import Final

import jsii
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import DeploymentConfig
from infra.functions import LabelChainFunctions
from infra.nag import acknowledge
from labelchain.services.execution_ended import ENDED_EARLY
from labelchain.services.job_events import JOB_STATE_CHANGE

JOB_ENDED_STATUSES: Final = ("Completed", "Failed", "Stopped")
EXECUTION_STATUS_CHANGE: Final = "Step Functions Execution Status Change"
TARGET_RETRY_ATTEMPTS: Final = 20
ASYNC_RETRY_ATTEMPTS: Final = 2
ASYNC_MAX_EVENT_AGE: Final = Duration.hours(6)
"""Lambda's own limit for asynchronous invocations (60 s to 6 h)."""
TARGET_MAX_EVENT_AGE: Final = Duration.hours(24)
DEAD_LETTER_RETENTION: Final = Duration.days(14)
QUEUE_PRODUCER_KEY_ACTIONS: Final = ("kms:GenerateDataKey", "kms:Decrypt")
"""What a producer needs to send to an SSE-KMS queue (AWS's SQS guide); CDK's ``SqsDestination`` grants
``grant_send_messages``, whose key grant adds ``kms:Encrypt`` and ``kms:ReEncrypt*`` as well."""


def job_state_change_pattern() -> events.EventPattern:
    """Ground Truth's events for a job that ended (the job ARN is in ``resources``)."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[JOB_STATE_CHANGE],
        detail={"LabelingJobStatus": list(JOB_ENDED_STATUSES)},
    )


def execution_ended_pattern(state_machines: list[sfn.IStateMachine]) -> events.EventPattern:
    """Step Functions' events for an execution of these state machines that ended early."""
    return events.EventPattern(
        source=["aws.states"],
        detail_type=[EXECUTION_STATUS_CHANGE],
        detail={
            "status": list(ENDED_EARLY),
            "stateMachineArn": [machine.state_machine_arn for machine in state_machines],
        },
    )


class EventDeadLetters(Construct):
    """The encrypted queue every EventBridge target of the stack dead-letters into."""

    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        acknowledge(
            self.queue,
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the stack's EventBridge targets; a dead-letter "
            "queue of a dead-letter queue would only move the same messages again.",
        )
        self._key = key
        # EventBridge writes the undeliverable events: it needs the queue's key to encrypt them.
        key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:GenerateDataKey", "kms:Decrypt")

    def on_failure_destination(self) -> lambda_.IDestination:
        """Where a failed asynchronous invocation goes: this queue, with only the send permissions."""
        return _DeadLetterDestination(self.queue, self._key)

    def target_options(self) -> dict[str, object]:
        """Retry and dead-letter settings of every target."""
        return {
            "dead_letter_queue": self.queue,
            "retry_attempts": TARGET_RETRY_ATTEMPTS,
            "max_event_age": TARGET_MAX_EVENT_AGE,
        }


class JobLifecycle(Construct):
    """The three rules (job state change, execution ended, reconcile schedule) and their targets."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        functions: LabelChainFunctions,
        state_machines: list[sfn.IStateMachine],
        dead_letters: EventDeadLetters,
    ) -> None:
        super().__init__(scope, construct_id)
        options = dead_letters.target_options()
        # EventBridge invokes these asynchronously: when a handler itself fails, Lambda retries it twice and
        # then hands the event to this destination (the target's dead-letter queue only covers failures
        # to hand the event over). Together: no event is dropped silently.
        for function in (functions.job_events, functions.execution_ended, functions.reconcile):
            function.configure_async_invoke(
                on_failure=dead_letters.on_failure_destination(),
                retry_attempts=ASYNC_RETRY_ATTEMPTS,
                max_event_age=ASYNC_MAX_EVENT_AGE,
            )
        self.job_state_change = events.Rule(
            self,
            "JobStateChange",
            description="Ground Truth job ended: resume the execution waiting for it",
            event_pattern=job_state_change_pattern(),
        )
        self.job_state_change.add_target(targets.LambdaFunction(functions.job_events, **options))  # type: ignore[arg-type]
        self.execution_ended = events.Rule(
            self,
            "ExecutionEnded",
            description="LabelingJob or Experiment execution ended early: stop what it started",
            event_pattern=execution_ended_pattern(state_machines),
        )
        self.execution_ended.add_target(targets.LambdaFunction(functions.execution_ended, **options))  # type: ignore[arg-type]
        self.reconcile = events.Rule(
            self,
            "Reconcile",
            description="Progress of running jobs and the safety net for lost events",
            schedule=events.Schedule.rate(Duration.minutes(config.reconcile_interval_minutes)),
        )
        self.reconcile.add_target(targets.LambdaFunction(functions.reconcile, **options))  # type: ignore[arg-type]


@jsii.implements(lambda_.IDestination)
class _DeadLetterDestination:
    """An on-failure destination on the dead-letter queue granting ``sqs:SendMessage`` on that queue and
    the producer's use of its key, and nothing more."""

    def __init__(self, queue: sqs.IQueue, key: kms.IKey) -> None:
        self._queue = queue
        self._key = key

    def bind(
        self,
        _scope: Construct,
        fn: lambda_.IFunction,
        *,
        type: lambda_.DestinationType | None = None,  # noqa: ARG002 - the jsii interface's keyword
    ) -> lambda_.DestinationConfig:
        fn.add_to_role_policy(
            iam.PolicyStatement(
                sid="SendFailedEventsToDeadLetters",
                actions=["sqs:SendMessage"],
                resources=[self._queue.queue_arn],
            )
        )
        self._key.grant(fn, *QUEUE_PRODUCER_KEY_ACTIONS)
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)
