"""The job lifecycle around the LabelingJob workflow: the EventBridge rules that keep every job tracked
(Ground Truth's job state change, an execution that ended early, the reconcile schedule), the one
encrypted dead-letter queue every EventBridge target falls back on, and the Lambda timeouts that must
outlive a hung AWS call. Read back from the session's synthesized template (the default deployment)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration

from infra.functions import CREATE_JOB, FunctionSpec, check_timeouts_cover_aws_calls
from labelchain.services.execution_ended import ENDED_EARLY
from labelchain.services.job_events import JOB_STATE_CHANGE
from labelchain.settings import (
    BOTO_CONNECT_TIMEOUT_SECONDS,
    BOTO_MAX_ATTEMPTS,
    BOTO_READ_TIMEOUT_SECONDS,
)
from tests.infra.conftest import CloudAssembly, as_list

pytestmark = pytest.mark.infra

BOTO_BUDGET_SECONDS = BOTO_MAX_ATTEMPTS * (BOTO_CONNECT_TIMEOUT_SECONDS + BOTO_READ_TIMEOUT_SECONDS)
"""The longest one boto3 call may take before it raises: every attempt hits both timeouts."""


def _logical_id(assembly: CloudAssembly, resource_type: str, prefix: str) -> str:
    (logical_id,) = [lid for lid in assembly.resources(resource_type) if lid.startswith(prefix)]
    return logical_id


def _function_id(assembly: CloudAssembly, name: str) -> str:
    logical_id, _ = assembly.function(name)
    return logical_id


def _queue_id(assembly: CloudAssembly) -> str:
    (queue_id,) = assembly.resources("AWS::SQS::Queue")
    return queue_id


def _rule_targeting(assembly: CloudAssembly, function_name: str) -> dict[str, Any]:
    """Properties of the one rule whose (one) target is the function named ``function_name``."""
    arn = {"Fn::GetAtt": [_function_id(assembly, function_name), "Arn"]}
    (rule,) = [
        rule["Properties"]
        for rule in assembly.resources("AWS::Events::Rule").values()
        if any(target["Arn"] == arn for target in rule["Properties"]["Targets"])
    ]
    (target,) = rule["Targets"]
    assert target["Arn"] == arn
    return dict(rule)


def _assert_retried_then_dead_lettered(assembly: CloudAssembly, target: dict[str, Any]) -> None:
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [_queue_id(assembly), "Arn"]}}
    retry = target["RetryPolicy"]
    assert retry["MaximumRetryAttempts"] >= 10
    assert 3600 <= retry["MaximumEventAgeInSeconds"] <= 24 * 3600


def test_ended_ground_truth_jobs_reach_job_events_retried_then_dead_lettered(
    assembly: CloudAssembly,
) -> None:
    rule = _rule_targeting(assembly, "labelchain-job-events")

    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Ground Truth Labeling Job State Change"],
        "detail": {"LabelingJobStatus": ["Completed", "Failed", "Stopped"]},
    }
    # The handler parses exactly the detail-type the rule matches.
    assert rule["EventPattern"]["detail-type"] == [JOB_STATE_CHANGE]
    assert rule["State"] == "ENABLED"
    _assert_retried_then_dead_lettered(assembly, rule["Targets"][0])


def test_executions_of_both_state_machines_that_end_early_reach_execution_ended(
    assembly: CloudAssembly,
) -> None:
    rule = _rule_targeting(assembly, "labelchain-execution-ended")
    pattern = rule["EventPattern"]
    machines = assembly.resources("AWS::StepFunctions::StateMachine")

    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert set(pattern["detail"]) == {"status", "stateMachineArn"}
    assert sorted(pattern["detail"]["status"]) == sorted(ENDED_EARLY) == ["ABORTED", "FAILED", "TIMED_OUT"]
    # Exactly the LabelingJob and the Experiment state machines, by reference (no other account's).
    assert sorted(ref["Ref"] for ref in pattern["detail"]["stateMachineArn"]) == sorted(machines)
    assert {machine["Properties"]["StateMachineName"] for machine in machines.values()} == {
        "labelchain-labeling-job",
        "labelchain-experiment",
    }
    _assert_retried_then_dead_lettered(assembly, rule["Targets"][0])


def test_the_reconciler_runs_every_15_minutes_by_default(assembly: CloudAssembly) -> None:
    rule = _rule_targeting(assembly, "labelchain-reconcile")

    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    assert "EventPattern" not in rule
    _assert_retried_then_dead_lettered(assembly, rule["Targets"][0])


def test_the_manifest_trigger_is_retried_then_dead_lettered_into_the_same_queue(
    assembly: CloudAssembly,
) -> None:
    rule = assembly.resources("AWS::Events::Rule")[
        _logical_id(assembly, "AWS::Events::Rule", "TriggerManifestDropped")
    ]

    (target,) = rule["Properties"]["Targets"]
    _assert_retried_then_dead_lettered(assembly, target)


def test_every_rule_of_the_stack_dead_letters_into_the_one_queue(assembly: CloudAssembly) -> None:
    rules = assembly.resources("AWS::Events::Rule")
    queue = {"Arn": {"Fn::GetAtt": [_queue_id(assembly), "Arn"]}}

    # manifest trigger, job state change, execution ended, reconcile schedule, notifications → SNS
    assert len(rules) == 5
    for logical_id, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            assert target.get("DeadLetterConfig") == queue, logical_id
            assert "RetryPolicy" in target, logical_id


def test_each_lifecycle_function_may_be_invoked_only_by_its_own_rule(assembly: CloudAssembly) -> None:
    permissions = assembly.resources("AWS::Lambda::Permission").values()
    rules = assembly.resources("AWS::Events::Rule")

    invoked_by = {
        permission["Properties"]["FunctionName"]["Fn::GetAtt"][0]: (
            permission["Properties"]["Principal"],
            permission["Properties"]["SourceArn"]["Fn::GetAtt"][0],
        )
        for permission in permissions
    }
    assert len(invoked_by) == len(permissions)
    for name in ("labelchain-job-events", "labelchain-execution-ended", "labelchain-reconcile"):
        principal, rule_id = invoked_by.pop(_function_id(assembly, name))
        assert principal == "events.amazonaws.com"
        (target,) = rules[rule_id]["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": [_function_id(assembly, name), "Arn"]}
    assert invoked_by == {}, "no other function may be invoked from outside"
    for permission in permissions:
        assert permission["Properties"]["Action"] == "lambda:InvokeFunction"


def test_the_dead_letter_queue_is_encrypted_with_the_stack_key_and_keeps_events_two_weeks(
    assembly: CloudAssembly,
) -> None:
    (key_id,) = assembly.resources("AWS::KMS::Key")
    queue = assembly.resources("AWS::SQS::Queue")[_queue_id(assembly)]["Properties"]

    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert "SqsManagedSseEnabled" not in queue
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_the_dead_letter_queue_refuses_requests_without_tls_and_takes_only_the_stacks_rules(
    assembly: CloudAssembly,
) -> None:
    queue_id = _queue_id(assembly)
    queue_arn = {"Fn::GetAtt": [queue_id, "Arn"]}
    (policy,) = assembly.resources("AWS::SQS::QueuePolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]

    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Action"] == "sqs:*"
    assert deny["Principal"] == {"AWS": "*"}
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert as_list(deny["Resource"]) == [queue_arn]

    allows = [s for s in statements if s["Effect"] == "Allow"]
    senders = set()
    for statement in allows:
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert as_list(statement["Resource"]) == [queue_arn]
        senders.add(statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0])
    assert senders == set(assembly.resources("AWS::Events::Rule"))


def test_eventbridge_may_use_the_stack_key_only_to_write_dead_letters_and_publish_notifications(
    assembly: CloudAssembly,
) -> None:
    (key,) = assembly.resources("AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]

    # GenerateDataKey/Decrypt: the encrypted dead-letter queue; GenerateDataKey*/Decrypt: CDK's grant for
    # the SnsTopic target of the notifications rule (the topic is encrypted with the same key).
    (events,) = [s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert sorted(as_list(events["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*"]
    assert events["Effect"] == "Allow"


def test_the_dead_letter_queue_is_published_for_operators(assembly: CloudAssembly) -> None:
    output = assembly.template["Outputs"]["EventDeadLetterQueueUrl"]

    assert output["Value"] == {"Ref": _queue_id(assembly)}


def test_every_function_outlives_its_slowest_aws_call(assembly: CloudAssembly) -> None:
    timeouts = {
        properties["FunctionName"]: properties["Timeout"]
        for properties in (f["Properties"] for f in assembly.resources("AWS::Lambda::Function").values())
    }

    assert len(timeouts) == 10
    assert {name: t for name, t in timeouts.items() if t <= BOTO_BUDGET_SECONDS} == {}


def test_synth_refuses_a_function_whose_timeout_a_hung_aws_call_could_outlast() -> None:
    too_short = FunctionSpec(
        construct_id="TooShort",
        module=CREATE_JOB.module,
        description="times out before boto3 gives up",
        memory_mb=128,
        timeout=Duration.seconds(BOTO_BUDGET_SECONDS),
    )
    just_enough = FunctionSpec(
        construct_id="JustEnough",
        module=CREATE_JOB.module,
        description="boto3 gives up first",
        memory_mb=128,
        timeout=Duration.seconds(BOTO_BUDGET_SECONDS + 1),
    )

    check_timeouts_cover_aws_calls((just_enough,))
    with pytest.raises(ValueError, match="TooShort"):
        check_timeouts_cover_aws_calls((just_enough, too_short))
