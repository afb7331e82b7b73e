"""``local.event_bus``: a hand-written template's EventBridge rules applied offline, in pure moto.

The template (no CDK synth) has two functions whose handlers are ``tests.support.event_bus_handlers``,
a Pass state machine and one that waits, two SQS queues, and rules of every kind the stack uses:
pattern → function, pattern → state machine with the trigger's InputTransformer, schedule → function,
Step Functions status change → function.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from labelchain.core.trigger import apply_input_transformer, event_pattern, input_transformer
from local.clock import CompressedClock
from local.event_bus import (
    EXECUTION_STATUS_CHANGE,
    SCHEDULED_EVENT,
    LocalEventBus,
    UnsupportedScheduleError,
    render_input_transformer,
    schedule_period_seconds,
)
from local.lambda_dispatch import dispatch_to_handler
from local.moto_engine import EngineHandle, in_process_engine
from local.resources import deploy_template
from local.stack import s3_object_created_event
from tests.conftest import REGION
from tests.support import event_bus_handlers as handlers

DATA_BUCKET = "bus-data"
WAIT_GATE = threading.Event()
"""The Wait state of the waiting machine blocks on this (the engine's sleeper) until a test ends."""


def _function(handler: str, **extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": f"bus-{handler}",
            "Runtime": "python3.12",
            "Handler": f"tests.support.event_bus_handlers.{handler}",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Environment": {"Variables": {"STAGE": "test"}},
            **extra,
        },
    }


def _machine(name: str, states: dict[str, Any], start: str) -> dict[str, Any]:
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": name,
            "DefinitionString": json.dumps({"StartAt": start, "States": states}),
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
        },
    }


def _rule(targets: list[dict[str, Any]], pattern: Any = None, schedule: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"State": "ENABLED", "Targets": targets}
    if pattern is not None:
        properties["EventPattern"] = pattern
    if schedule is not None:
        properties["ScheduleExpression"] = schedule
    return {"Type": "AWS::Events::Rule", "Properties": properties}


def _to_record(**extra: Any) -> dict[str, Any]:
    return {"Id": "Target0", "Arn": {"Fn::GetAtt": ["RecordFunction", "Arn"]}, **extra}


def _permission(function: str, rule: str) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function, "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule, "Arn"]},
        },
    }


def _app(detail_type: str) -> dict[str, Any]:
    return {"source": ["test.app"], "detail-type": [detail_type]}


TARGET_DLQ = {"DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["TargetDlq", "Arn"]}}}
paths, transformer_template = input_transformer()
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "TargetDlq": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
        "FunctionDlq": {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": True}},
        "RecordFunction": _function("record"),
        "FailFunction": _function(
            "fail", DeadLetterConfig={"TargetArn": {"Fn::GetAtt": ["FunctionDlq", "Arn"]}}
        ),
        "FailAsync": {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": "FailFunction"},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": 1,
            },
        },
        "PassMachine": _machine("bus-pass", {"P": {"Type": "Pass", "End": True}}, "P"),
        "WaitingMachine": _machine(
            "bus-waiting",
            {"W": {"Type": "Wait", "Seconds": 3600, "Next": "P"}, "P": {"Type": "Pass", "End": True}},
            "W",
        ),
        "HappenedRule": _rule(
            [
                _to_record(
                    RetryPolicy={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}, **TARGET_DLQ
                )
            ],
            _app("Thing Happened"),
        ),
        "HappenedPermission": _permission("RecordFunction", "HappenedRule"),
        "FailedRule": _rule(
            [{"Id": "Target0", "Arn": {"Fn::GetAtt": ["FailFunction", "Arn"]}, **TARGET_DLQ}],
            _app("Thing Failed"),
        ),
        "FailedPermission": _permission("FailFunction", "FailedRule"),
        "ForbiddenRule": _rule([_to_record(**TARGET_DLQ)], _app("Thing Forbidden")),  # no permission
        "ManifestRule": _rule(
            [
                {
                    "Id": "Target0",
                    "Arn": {"Ref": "PassMachine"},
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "InputTransformer": {"InputPathsMap": paths, "InputTemplate": transformer_template},
                }
            ],
            event_pattern(DATA_BUCKET),
        ),
        "ReconcileRule": _rule([_to_record()], schedule="rate(15 minutes)"),
        "ReconcilePermission": _permission("RecordFunction", "ReconcileRule"),
        "PassStatusRule": _rule(
            [_to_record()],
            {
                "source": ["aws.states"],
                "detail-type": [EXECUTION_STATUS_CHANGE],
                "detail": {"stateMachineArn": [{"Ref": "PassMachine"}]},
            },
        ),
        "PassStatusPermission": _permission("RecordFunction", "PassStatusRule"),
        "EndedRule": _rule(
            [_to_record()],
            {
                "source": ["aws.states"],
                "detail-type": [EXECUTION_STATUS_CHANGE],
                "detail": {
                    "status": ["ABORTED", "TIMED_OUT", "FAILED"],
                    "stateMachineArn": [{"Ref": "WaitingMachine"}],
                },
            },
        ),
        "EndedPermission": _permission("RecordFunction", "EndedRule"),
    }
}


@dataclass
class Deployed:
    bus: LocalEventBus
    engine: EngineHandle
    clients: dict[str, Any]

    def queue_messages(self, logical_id: str) -> list[dict[str, Any]]:
        url = self.bus.deployed.refs[logical_id]
        messages: list[dict[str, Any]] = (
            self.clients["sqs"]
            .receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
            .get("Messages", [])
        )
        return messages

    def rule(self, logical_id: str) -> str:
        return self.bus.deployed.refs[logical_id]


@pytest.fixture
def deployed() -> Iterator[Deployed]:
    handlers.received.clear()
    handlers.failed.clear()
    WAIT_GATE.clear()
    threads = threading.active_count()
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        in_process_engine(dispatch_to_handler, sleeper=lambda _: WAIT_GATE.wait(10)) as engine,
    ):
        services = ("s3", "kms", "dynamodb", "iam", "lambda", "stepfunctions", "events", "sqs")
        clients = {name: boto3.client(name, region_name=REGION) for name in services}
        stack = deploy_template(TEMPLATE, clients, handler_packages=("tests.support.",))
        yield Deployed(LocalEventBus(TEMPLATE, stack, clients), engine, clients)
        WAIT_GATE.set()  # let a waiting execution's worker end before moto's patches are undone
        deadline = time.monotonic() + 5
        while threading.active_count() > threads and time.monotonic() < deadline:
            time.sleep(0.01)


def test_a_matching_event_reaches_the_function_in_process_and_others_reach_nothing(
    deployed: Deployed,
) -> None:
    (delivery,) = deployed.bus.put_event(
        {"source": "test.app", "detail-type": "Thing Happened", "detail": {"n": 1}}
    )

    assert delivery.ok, delivery.error
    assert delivery.rule == deployed.rule("HappenedRule")
    assert delivery.result == {"seen": delivery.event_id}
    (event,) = handlers.received
    assert event["id"] == delivery.event_id
    assert event["detail"] == {"n": 1}
    assert {"version", "time", "account", "region", "resources"} <= set(event)
    assert [invocation.function.name for invocation in deployed.engine.invocations] == ["bus-record"]
    assert deployed.bus.put_event({"source": "test.app", "detail-type": "Something Else"}) == []
    assert deployed.bus.put_event({"source": "other.app", "detail-type": "Thing Happened"}) == []
    assert len(deployed.engine.invocations) == 1
    assert deployed.bus.deliveries == [delivery]


def test_a_function_error_is_retried_by_lambda_then_dead_lettered_to_the_functions_queue(
    deployed: Deployed,
) -> None:
    (delivery,) = deployed.bus.put_event({"source": "test.app", "detail-type": "Thing Failed"})

    assert not delivery.ok
    assert delivery.failure == "function"  # EventBridge delivered it: Lambda's async retries apply
    assert delivery.attempts == 2  # the EventInvokeConfig's MaximumRetryAttempts: 1
    assert delivery.error == "RuntimeError: the reconciler exploded"
    assert len(handlers.failed) == 2
    assert delivery.dead_letters == (deployed.bus.deployed.arns["FunctionDlq"],)
    (message,) = deployed.queue_messages("FunctionDlq")
    assert json.loads(message["Body"])["id"] == delivery.event_id
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == delivery.error
    assert deployed.queue_messages("TargetDlq") == []  # the rule target's DLQ is for delivery failures


def test_a_target_without_permission_is_not_retried_and_goes_to_the_targets_queue(deployed: Deployed) -> None:
    (delivery,) = deployed.bus.put_event({"source": "test.app", "detail-type": "Thing Forbidden"})

    assert not delivery.ok
    assert delivery.failure == "delivery"
    assert delivery.attempts == 1
    assert delivery.error is not None
    assert delivery.error.startswith("AccessDeniedException")
    assert handlers.received == []
    (message,) = deployed.queue_messages("TargetDlq")
    attributes = {key: value["StringValue"] for key, value in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == deployed.bus.deployed.arns["ForbiddenRule"]
    assert attributes["TARGET_ARN"] == delivery.target_arn
    assert attributes["ERROR_CODE"] == "AccessDeniedException"
    assert json.loads(message["Body"])["id"] == delivery.event_id


@pytest.mark.parametrize(
    "event",
    [
        s3_object_created_event(DATA_BUCKET, "incoming/birds/batch-1.manifest", "v1", 10),
        s3_object_created_event(DATA_BUCKET, 'incoming/birds/odd "name" é.manifest', "null", 10),
    ],
    ids=["versioned", "unversioned-odd-key"],
)
def test_the_manifest_rule_starts_the_execution_with_exactly_core_triggers_input(
    deployed: Deployed, event: dict[str, Any]
) -> None:
    (delivery,) = deployed.bus.put_event(event)

    assert delivery.ok, delivery.error
    assert delivery.result.endswith(f":s3-{event['id']}")  # the offline stack's execution names
    described = deployed.clients["stepfunctions"].describe_execution(executionArn=delivery.result)
    assert json.loads(described["input"]) == apply_input_transformer(event)
    without_version = {**event, "detail": {**event["detail"], "object": {"key": "k", "size": 1}}}
    for sample in (event, without_version):
        rendered = render_input_transformer(
            {"InputPathsMap": paths, "InputTemplate": transformer_template}, sample
        )
        assert json.loads(rendered) == apply_input_transformer(sample)
    settings = s3_object_created_event(DATA_BUCKET, "incoming/birds/project.json", "v1", 10)
    assert deployed.bus.put_event(settings) == []


def test_a_schedule_fires_once_per_period_of_simulated_time(deployed: Deployed) -> None:
    clock = CompressedClock(scale=4500.0)  # 15 simulated minutes: 0.2 s
    rule_arn = deployed.bus.deployed.arns["ReconcileRule"]

    with deployed.bus.schedules(clock):
        entered = clock.now()
        clock.sleep(3.5 * 900)

    assert len(handlers.received) == 3
    assert [event["detail-type"] for event in handlers.received] == [SCHEDULED_EVENT] * 3
    assert all(
        event["resources"] == [rule_arn] and event["source"] == "aws.events" for event in handlers.received
    )
    times = [datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S%z") for event in handlers.received]
    assert [later - earlier for earlier, later in itertools.pairwise(times)] == [timedelta(minutes=15)] * 2
    assert abs(times[0] - entered - timedelta(minutes=15)) < timedelta(minutes=1)  # simulated time
    (tick,) = deployed.bus.fire_schedule("ReconcileRule")
    assert tick.ok
    assert tick.detail_type == SCHEDULED_EVENT
    assert schedule_period_seconds("rate(1 hour)") == 3600
    with pytest.raises(UnsupportedScheduleError, match="cron"):
        schedule_period_seconds("cron(0/15 * * * ? *)")


def test_the_watcher_emits_running_then_succeeded_once_each(deployed: Deployed) -> None:
    stepfunctions = deployed.clients["stepfunctions"]
    machine = deployed.bus.deployed.state_machine_arns["PassMachine"]

    with deployed.bus.execution_watcher():
        arn = stepfunctions.start_execution(stateMachineArn=machine, name="pass-1", input='{"a": 1}')[
            "executionArn"
        ]
        deployed.bus.wait_for(lambda d: d.rule == deployed.rule("PassStatusRule"), count=2)
        time.sleep(0.1)  # a few more polls: nothing new may be emitted

    details = [event["detail"] for event in handlers.received]
    assert [detail["status"] for detail in details] == ["RUNNING", "SUCCEEDED"]
    running, succeeded = details
    assert running["executionArn"] == succeeded["executionArn"] == arn
    assert running["stopDate"] is None
    assert running["output"] is None
    assert isinstance(succeeded["startDate"], int)
    assert isinstance(succeeded["stopDate"], int)
    assert json.loads(succeeded["output"]) == {"a": 1}
    assert handlers.received[0]["resources"] == [arn]


def test_the_watcher_emits_aborted_after_stop_execution(deployed: Deployed) -> None:
    stepfunctions = deployed.clients["stepfunctions"]
    machine = deployed.bus.deployed.state_machine_arns["WaitingMachine"]

    with deployed.bus.execution_watcher():
        arn = stepfunctions.start_execution(stateMachineArn=machine, name="waits")["executionArn"]
        time.sleep(0.1)
        assert handlers.received == []  # RUNNING was emitted, but EndedRule matches only endings
        stepfunctions.stop_execution(executionArn=arn)
        WAIT_GATE.set()  # moto records ABORTED once the stopped worker runs again
        (delivery,) = deployed.bus.wait_for(lambda d: d.rule == deployed.rule("EndedRule"))

    assert delivery.ok, delivery.error
    (event,) = handlers.received
    assert event["detail"]["status"] == "ABORTED"
    assert event["detail"]["executionArn"] == arn
    assert deployed.bus.errors == []
