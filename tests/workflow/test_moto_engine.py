"""Specification of local.moto_engine: moto's Step Functions engine running state machines in-process.

Each test writes a tiny ASL definition inline, runs it with boto3 against moto and reads the outcome
the way a test of the real workflow will: execution status/output, history events, recorded delays.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import moto
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from local.moto_engine import (
    SUPPORTED_MOTO_VERSION,
    EngineHandle,
    RecordedDelay,
    UnsupportedMotoVersionError,
    assert_supported_moto_version,
    in_process_engine,
)
from local.moto_server import threaded_moto_server

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
START_CHILD_SYNC = "arn:aws:states:::states:startExecution.sync:2"
STATES_ROLE = "arn:aws:iam::123456789012:role/labelchain-test-states"
THIRTY_DAYS = 30 * 24 * 3600

Handlers = dict[str, Callable[[Any], object]]


class InvalidJobInput(Exception):
    """Stands in for the domain error our state machines retry and catch by name."""


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def handlers() -> Handlers:
    """Per-test Lambda handlers by function name; the dispatcher below routes to them."""
    return {}


@pytest.fixture
def engine(handlers: Handlers) -> Iterator[EngineHandle]:
    with (
        mock_aws(config={"stepfunctions": {"execute_state_machine": True}}),
        in_process_engine(lambda function, event: handlers[function.name](event)) as handle,
    ):
        yield handle


def deploy_function(name: str, environment: dict[str, str] | None = None) -> str:
    """Create a moto Lambda function (its code is never run) and return its ARN."""
    iam, role_name = boto3.client("iam"), "labelchain-test-lambda"
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument="{}")["Role"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("handler.py", "def handler(event, context): ...\n")
    response = boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler=f"labelchain.handlers.{name}.handler",
        Code={"ZipFile": archive.getvalue()},
        Environment={"Variables": environment or {}},
    )
    return str(response["FunctionArn"])


def create_state_machine(definition: dict[str, Any], name: str = "under-test") -> str:
    response = boto3.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=STATES_ROLE
    )
    return str(response["stateMachineArn"])


def wait_for_completion(execution_arn: str) -> dict[str, Any]:
    stepfunctions = boto3.client("stepfunctions")
    for _ in range(500):
        execution = stepfunctions.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return dict(execution)
        time.sleep(0.01)
    raise AssertionError(f"{execution_arn} still RUNNING after 5 s")


def run(definition: dict[str, Any], execution_input: Any = None, name: str = "run-1") -> dict[str, Any]:
    """Create the state machine, start one named execution and return its final description."""
    response = boto3.client("stepfunctions").start_execution(
        stateMachineArn=create_state_machine(definition, name=f"machine-{name}"),
        name=name,
        input=json.dumps(execution_input if execution_input is not None else {}),
    )
    return wait_for_completion(response["executionArn"])


def history_of(execution: dict[str, Any]) -> list[str]:
    events = boto3.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"], maxResults=1000
    )["events"]
    return [event["type"] for event in events]


def invoke_task(function: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": function, "Payload.$": "$"},
        **fields,
    }


def start_child_task(state_machine_arn: str, name_suffix: str, **fields: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": START_CHILD_SYNC,
        "Parameters": {
            "StateMachineArn": state_machine_arn,
            "Input.$": "$",
            "Name.$": f"States.Format('{{}}-{name_suffix}', $$.Execution.Name)",
        },
        **fields,
    }


def single_state(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Only", "States": {"Only": {**state, "End": True}}}


def test_given_a_lambda_invoke_task_when_it_runs_then_the_handler_result_is_the_output_payload(
    engine: EngineHandle, handlers: Handlers
) -> None:
    handlers["count_labels"] = lambda event: {"labels": len(event["labels"])}
    deploy_function("count_labels")

    execution = run(single_state(invoke_task("count_labels")), {"labels": ["cat", "dog"]})

    assert execution["status"] == "SUCCEEDED"
    output = json.loads(execution["output"])
    assert output["Payload"] == {"labels": 2}
    assert output["StatusCode"] == 200


def test_given_a_task_on_the_function_arn_when_it_runs_then_the_handler_result_is_the_state_output(
    engine: EngineHandle, handlers: Handlers
) -> None:
    handlers["count_labels"] = lambda event: {"labels": len(event["labels"])}
    function_arn = deploy_function("count_labels")

    execution = run(single_state({"Type": "Task", "Resource": function_arn}), {"labels": ["cat"]})

    assert json.loads(execution["output"]) == {"labels": 1}


def test_given_a_configured_function_when_invoked_then_the_log_shows_its_handler_environment_and_event(
    engine: EngineHandle, handlers: Handlers
) -> None:
    handlers["count_labels"] = lambda event: {"labels": 0}
    arn = deploy_function("count_labels", environment={"JOBS_TABLE": "labelchain-jobs"})

    run(single_state(invoke_task("count_labels")), {"labels": []})

    (invocation,) = engine.invocations
    assert invocation.function.name == "count_labels"
    assert invocation.function.arn == arn
    assert invocation.function.handler == "labelchain.handlers.count_labels.handler"
    assert invocation.function.environment == {"JOBS_TABLE": "labelchain-jobs"}
    assert (invocation.event, invocation.result, invocation.error) == ({"labels": []}, {"labels": 0}, None)


@pytest.mark.parametrize("style", ["lambda:invoke", "function ARN"])
def test_given_a_handler_raising_invalid_job_input_when_caught_by_name_then_error_and_cause_are_as_on_aws(
    engine: EngineHandle, handlers: Handlers, style: str
) -> None:
    def reject(event: Any) -> object:
        raise InvalidJobInput("task.labels: at least one label is required")

    handlers["validate_job"] = reject
    arn = deploy_function("validate_job")
    task = invoke_task("validate_job") if style == "lambda:invoke" else {"Type": "Task", "Resource": arn}
    catch = [{"ErrorEquals": ["InvalidJobInput"], "ResultPath": "$.error", "Next": "Rejected"}]
    definition = {
        "StartAt": "Validate",
        "States": {"Validate": {**task, "Catch": catch, "End": True}, "Rejected": {"Type": "Succeed"}},
    }

    execution = run(definition, {"labels": []})

    error = json.loads(execution["output"])["error"]
    assert error["Error"] == "InvalidJobInput"
    cause = json.loads(error["Cause"])
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorType"] == "InvalidJobInput"
    assert cause["errorMessage"] == "task.labels: at least one label is required"
    assert "in reject" in cause["stackTrace"][-1]
    assert isinstance(engine.invocations[0].error, InvalidJobInput)


def test_given_an_uncaught_handler_error_when_it_runs_then_the_execution_fails_with_that_error_name(
    engine: EngineHandle, handlers: Handlers
) -> None:
    handlers["validate_job"] = lambda event: {"not": {"serialisable"}}
    deploy_function("validate_job")

    execution = run(single_state(invoke_task("validate_job")))

    assert (execution["status"], execution["error"]) == ("FAILED", "Runtime.MarshalError")


def retry_definition(**retrier: Any) -> dict[str, Any]:
    retry = [{"ErrorEquals": ["InvalidJobInput"], "IntervalSeconds": 3, "MaxAttempts": 3, **retrier}]
    return single_state(invoke_task("flaky_create", Retry=retry, OutputPath="$.Payload"))


def fail_times(handlers: Handlers, failures: int) -> None:
    attempts: list[Any] = []

    def flaky_create(event: Any) -> object:
        attempts.append(event)
        if len(attempts) <= failures:
            raise InvalidJobInput(f"attempt {len(attempts)}")
        return {"attempts": len(attempts)}

    handlers["flaky_create"] = flaky_create
    deploy_function("flaky_create")


def test_given_a_handler_failing_twice_when_retried_by_name_then_delays_follow_interval_times_backoff(
    engine: EngineHandle, handlers: Handlers
) -> None:
    fail_times(handlers, failures=2)

    execution = run(retry_definition(BackoffRate=2.5))

    assert json.loads(execution["output"]) == {"attempts": 3}
    assert [(delay.state, delay.seconds) for delay in engine.retries] == [("Only", 3), ("Only", 7.5)]


def test_given_max_delay_seconds_when_retried_then_every_delay_is_capped(
    engine: EngineHandle, handlers: Handlers
) -> None:
    fail_times(handlers, failures=3)

    execution = run(retry_definition(BackoffRate=2.5, MaxDelaySeconds=5))

    assert execution["status"] == "SUCCEEDED"
    assert [delay.seconds for delay in engine.retries] == [3, 5, 5]


def test_given_full_jitter_when_retried_then_each_delay_is_at_most_the_backed_off_interval(
    engine: EngineHandle, handlers: Handlers
) -> None:
    fail_times(handlers, failures=2)

    execution = run(retry_definition(BackoffRate=2, JitterStrategy="FULL"))

    assert execution["status"] == "SUCCEEDED"
    first, second = (delay.seconds for delay in engine.retries)
    assert 0 <= first <= 3
    assert 0 <= second <= 6


def test_given_a_thirty_day_seconds_path_wait_when_it_runs_then_it_returns_at_once_and_is_recorded(
    engine: EngineHandle,
) -> None:
    started = time.monotonic()

    execution = run(
        single_state({"Type": "Wait", "SecondsPath": "$.hold_seconds"}), {"hold_seconds": THIRTY_DAYS}
    )

    assert execution["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 120  # not a speed check: the 30 days were not slept
    assert engine.waits == [RecordedDelay("wait", "Only", execution["executionArn"], THIRTY_DAYS)]


def test_given_a_fail_state_with_error_path_and_cause_path_then_the_execution_fails_with_resolved_values(
    engine: EngineHandle,
) -> None:
    fail = {"Type": "Fail", "ErrorPath": "$.failure.name", "CausePath": "$.failure.detail"}
    definition = {"StartAt": "Fail", "States": {"Fail": fail}}

    execution = run(definition, {"failure": {"name": "LabelingJobFailed", "detail": "workers quit"}})

    assert (execution["status"], execution["error"], execution["cause"]) == (
        "FAILED",
        "LabelingJobFailed",
        "workers quit",
    )
    assert history_of(execution) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]


def poll_loop_definition() -> dict[str, Any]:
    return {
        "StartAt": "WaitForJob",
        "States": {
            "WaitForJob": {"Type": "Wait", "Seconds": 60, "Next": "DescribeJob"},
            "DescribeJob": invoke_task("describe_job", OutputPath="$.Payload", Next="IsJobDone"),
            "IsJobDone": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "Done"}],
                "Default": "WaitForJob",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def test_given_a_wait_task_choice_poll_loop_of_three_cycles_then_each_cycle_adds_nine_history_events(
    engine: EngineHandle, handlers: Handlers
) -> None:
    handlers["describe_job"] = lambda event: {"polls": event["polls"] + 1, "done": event["polls"] + 1 == 3}
    deploy_function("describe_job")

    execution = run(poll_loop_definition(), {"polls": 0, "done": False})

    events = history_of(execution)
    one_cycle = [
        "WaitStateEntered",
        "WaitStateExited",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ChoiceStateEntered",
        "ChoiceStateExited",
    ]
    overhead = ["ExecutionStarted", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]
    assert events == overhead[:1] + one_cycle * 3 + overhead[1:]
    assert len(events) == 31
    assert [delay.seconds for delay in engine.waits] == [60, 60, 60]


@pytest.fixture
def child_machines(engine: EngineHandle) -> dict[str, str]:
    double = {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}}
    broken = {"Type": "Fail", "Error": "ChildBroke", "Cause": "no workers"}
    return {
        "double": create_state_machine(single_state(double), name="double"),
        "broken": create_state_machine({"StartAt": "Break", "States": {"Break": broken}}, name="broken"),
    }


def test_given_a_parent_running_a_child_synchronously_then_the_parent_gets_the_child_output(
    child_machines: dict[str, str],
) -> None:
    task = start_child_task(child_machines["double"], "double")

    execution = run(single_state(task), {"n": 2}, name="nightly")

    output = json.loads(execution["output"])
    assert output["Output"] == {"doubled": 4}
    assert output["Status"] == "SUCCEEDED"
    assert output["ExecutionArn"].endswith(":double:nightly-double")
    assert isinstance(output["StartDate"], int)  # epoch milliseconds, as AWS returns them


def test_given_a_parallel_of_two_named_children_then_both_run_under_names_derived_from_the_parent(
    child_machines: dict[str, str],
) -> None:
    branches = [
        single_state(start_child_task(child_machines["double"], suffix, OutputPath="$.Output"))
        for suffix in ("a", "b")
    ]

    execution = run(single_state({"Type": "Parallel", "Branches": branches}), {"n": 5}, name="nightly")

    assert json.loads(execution["output"]) == [{"doubled": 10}, {"doubled": 10}]
    children = boto3.client("stepfunctions").list_executions(stateMachineArn=child_machines["double"])
    assert sorted(child["name"] for child in children["executions"]) == ["nightly-a", "nightly-b"]


def test_given_a_failing_child_then_the_parent_catches_states_task_failed_with_the_child_as_cause(
    child_machines: dict[str, str],
) -> None:
    catch = [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Recover"}]
    task = start_child_task(child_machines["broken"], "broken", Catch=catch, End=True)
    definition = {"StartAt": "RunChild", "States": {"RunChild": task, "Recover": {"Type": "Succeed"}}}

    execution = run(definition, {"n": 1}, name="nightly")

    error = json.loads(execution["output"])["error"]
    assert error["Error"] == "States.TaskFailed"
    child = json.loads(error["Cause"])
    assert (child["Status"], child["Error"], child["Cause"]) == ("FAILED", "ChildBroke", "no workers")


def test_given_unnamed_executions_then_each_gets_its_own_name_as_on_aws(engine: EngineHandle) -> None:
    stepfunctions = boto3.client("stepfunctions")
    state_machine_arn = create_state_machine(single_state({"Type": "Pass"}))

    arns = [stepfunctions.start_execution(stateMachineArn=state_machine_arn)["executionArn"] for _ in "ab"]

    assert len(set(arns)) == 2
    assert all(wait_for_completion(arn)["status"] == "SUCCEEDED" for arn in arns)


def test_given_moto_server_mode_when_a_lambda_task_runs_then_the_handler_runs_in_process() -> None:
    with (
        threaded_moto_server() as endpoint,
        in_process_engine(lambda function, event: {"echo": event}) as handle,
    ):
        deploy_function("echo")

        execution = run(single_state(invoke_task("echo", OutputPath="$.Payload")), {"job": 7})

    assert endpoint.startswith("http://127.0.0.1:")
    assert json.loads(execution["output"]) == {"echo": {"job": 7}}
    assert [invocation.function.name for invocation in handle.invocations] == ["echo"]


def test_given_nested_engines_then_the_innermost_is_used_and_moto_is_restored_after_the_outermost() -> None:
    original = LambdaFunction._invoke_lambda

    with in_process_engine(lambda function, event: "outer"):
        with in_process_engine(lambda function, event: "inner"):
            patched = LambdaFunction._invoke_lambda
        assert LambdaFunction._invoke_lambda is patched

    assert patched is not original
    assert LambdaFunction._invoke_lambda is original


def test_given_another_moto_version_then_the_engine_refuses_to_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")

    with pytest.raises(
        UnsupportedMotoVersionError, match=rf"moto 5\.3\.0 is installed: pin moto=={SUPPORTED_MOTO_VERSION}"
    ):
        assert_supported_moto_version()
    with pytest.raises(UnsupportedMotoVersionError), in_process_engine(lambda function, event: None):
        pass
