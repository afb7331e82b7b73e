"""The LabelingJob state machine: resource settings and the shape of the synthesized definition.

The definition is read back from the template with ``infra.definitions`` (the same reader the workflow
tests and the offline stack use), so these tests check what would be deployed.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.definitions import placeholder_arns, state_machine_definition
from infra.labeling_job_workflow import (
    MIN_TRANSIENT_RETRY_SECONDS,
    LabelingJobStates,
    quota_retry_attempts,
    transient_retry_seconds,
)
from labelchain.errors import RETRYABLE_ERRORS, LabelChainError
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra

S = LabelingJobStates
LAMBDA_TASKS = [S.CREATE_JOB, S.WAIT_FOR_JOB, S.FINALIZE, S.RECORD_FAILURE, S.RESOLVE_TRIGGER]
BUSINESS_TASKS = [S.CREATE_JOB, S.WAIT_FOR_JOB, S.FINALIZE, S.RESOLVE_TRIGGER]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:labelchain-"


@pytest.fixture(scope="module")
def definition(assembly: CloudAssembly) -> dict[str, Any]:
    return state_machine_definition(
        assembly.template, "labelchain-labeling-job", placeholder_arns(assembly.template)
    )


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = definition["States"]
    return states


def _choices(state: dict[str, Any]) -> dict[str, str]:
    """Choice rules as {status: next state}, all on Finalize's $.result.status."""
    assert {rule["Variable"] for rule in state["Choices"]} == {"$.result.status"}
    return {rule["StringEquals"]: rule["Next"] for rule in state["Choices"]}


def test_state_machine_is_standard_traced_logs_everything_and_outlives_a_30_day_job(
    template: Template,
) -> None:
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineName": "labelchain-labeling-job",
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": True,
                "Destinations": [
                    {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}}}
                ],
            },
        },
    )


def test_execution_outlives_a_30_day_job_after_a_full_quota_queue(definition: dict[str, Any]) -> None:
    # 30 days of job + create_queue_max_hours (24) + a day of margin: never TIMED_OUT (which stops the
    # job) while the job may still legitimately run.
    assert definition["TimeoutSeconds"] == (30 * 24 + 24 + 24) * 3600


def test_definition_uses_jsonpath_not_jsonata(definition: dict[str, Any]) -> None:
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert all(
        state.get("QueryLanguage", "JSONPath") == "JSONPath" for state in definition["States"].values()
    )


def test_every_state_of_the_business_process_is_there(definition: dict[str, Any]) -> None:
    expected = {value for name, value in vars(LabelingJobStates).items() if name.isupper()}

    assert set(definition["States"]) == expected
    assert definition["StartAt"] == S.INPUT_SOURCE


def test_console_input_goes_straight_to_create_job_and_a_trigger_is_resolved_first(
    states: dict[str, Any],
) -> None:
    source = states[S.INPUT_SOURCE]

    assert source["Type"] == "Choice"
    assert source["Default"] == S.CREATE_JOB
    (rule,) = source["Choices"]
    assert rule == {"Variable": "$.trigger", "IsPresent": True, "Next": S.RESOLVE_TRIGGER}
    assert states[S.RESOLVE_TRIGGER]["Next"] == S.CREATE_JOB
    assert states[S.RESOLVE_TRIGGER]["ResultPath"] == "$"
    assert states[S.RESOLVE_TRIGGER]["Catch"][0]["Next"] == S.RECORD_FAILURE


def test_the_job_is_created_then_waited_for_without_a_poll_loop_then_finalized(
    states: dict[str, Any],
) -> None:
    assert states[S.CREATE_JOB]["Next"] == S.WAIT_FOR_JOB
    assert states[S.WAIT_FOR_JOB]["Next"] == S.FINALIZE
    assert states[S.FINALIZE]["Next"] == S.JOB_OUTCOME
    # The only Wait is the pause after a transient outage outlasted WaitForJob's retries (not a poll).
    assert [name for name, state in states.items() if state["Type"] == "Wait"] == [S.PAUSE_BEFORE_REARM]


def test_a_transient_outage_at_a_rearm_pauses_and_rearms_instead_of_ending_the_tracking(
    states: dict[str, Any],
) -> None:
    transient, everything_else = states[S.WAIT_FOR_JOB]["Catch"]

    assert transient["Next"] == S.PAUSE_BEFORE_REARM
    assert {"TransientServiceError", "Lambda.TooManyRequestsException", "Sandbox.Timedout"} <= set(
        transient["ErrorEquals"]
    )
    assert states[S.PAUSE_BEFORE_REARM] == {"Type": "Wait", "Seconds": 900, "Next": S.WAIT_FOR_JOB}
    assert everything_else == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.error",
        "Next": S.RECORD_FAILURE,
    }


def test_wait_for_job_hands_watchjob_a_task_token_and_rearms_after_a_day_without_news(
    states: dict[str, Any],
) -> None:
    wait = states[S.WAIT_FOR_JOB]

    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert wait["Parameters"]["FunctionName"] == f"{ARN}watch-job"
    assert wait["Parameters"]["Payload"] == {
        "job_name.$": "$.job_name",
        "project.$": "$.project",
        "task_token.$": "$$.Task.Token",
        "execution": {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name"},
    }
    assert wait["ResultPath"] == "$.watch"
    assert wait["TimeoutSeconds"] == 24 * 3600
    rearm = wait["Retry"][0]
    assert rearm["ErrorEquals"] == ["States.Timeout"]
    # Re-armed for longer than the execution may live, so the wait never gives up before the job does.
    assert rearm["MaxAttempts"] * wait["TimeoutSeconds"] > 31 * 24 * 3600


def test_create_job_waits_out_the_accounts_job_quota_for_up_to_a_day(states: dict[str, Any]) -> None:
    (quota,) = [r for r in states[S.CREATE_JOB]["Retry"] if r["ErrorEquals"] == ["LabelingJobQuotaExceeded"]]
    delays, delay = [], quota["IntervalSeconds"]
    for _ in range(quota["MaxAttempts"]):
        delays.append(min(delay, quota["MaxDelaySeconds"]))
        delay = min(delay * quota["BackoffRate"], quota["MaxDelaySeconds"])

    assert quota["MaxAttempts"] == quota_retry_attempts(24)
    assert 24 * 3600 <= sum(delays) < 25 * 3600
    assert "JitterStrategy" not in quota or quota["JitterStrategy"] == "NONE"


def test_finalize_decides_the_outcome_and_a_completed_job_succeeds_with_its_result(
    states: dict[str, Any],
) -> None:
    assert _choices(states[S.JOB_OUTCOME]) == {
        "Completed": S.JOB_SUCCEEDED,
        "Failed": S.JOB_FAILED,
        "Stopped": S.JOB_STOPPED,
    }
    assert states[S.JOB_OUTCOME]["Default"] == S.UNKNOWN_JOB_STATUS
    assert states[S.UNKNOWN_JOB_STATUS]["Type"] == "Fail"
    assert states[S.JOB_SUCCEEDED] == {"Type": "Succeed", "OutputPath": "$.result"}


def test_failed_and_stopped_jobs_fail_the_execution_with_finalizes_error_and_reason(
    states: dict[str, Any],
) -> None:
    # Finalize says which error (LabelingJobFailed, LabelingJobStopped or BudgetExceeded) and why.
    for state in (S.JOB_FAILED, S.JOB_STOPPED):
        assert states[state] == {
            "Type": "Fail",
            "ErrorPath": "$.result.outcome_error",
            "CausePath": "$.result.failure_reason",
        }


@pytest.mark.parametrize(
    ("state", "function", "parameters", "result_selector", "result_path"),
    [
        (
            S.CREATE_JOB,
            "create-job",
            {
                "input.$": "$",
                "execution": {
                    "id.$": "$$.Execution.Id",
                    "name.$": "$$.Execution.Name",
                    "start_time.$": "$$.Execution.StartTime",
                },
            },
            None,
            "$",
        ),
        (
            S.FINALIZE,
            "finalize-job",
            {"job_name.$": "$.job_name", "project.$": "$.project"},
            None,
            "$.result",
        ),
        (
            # RecordFailure's readable error replaces the caught one at $.error (ExecutionFailed reads it).
            S.RECORD_FAILURE,
            "record-failure",
            {"state.$": "$", "execution": {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name"}},
            {"Error.$": "$.error", "Cause.$": "$.cause"},
            "$.error",
        ),
    ],
)
def test_each_task_honours_the_handler_contract(
    states: dict[str, Any],
    state: str,
    function: str,
    parameters: dict[str, Any],
    result_selector: dict[str, Any] | None,
    result_path: str,
) -> None:
    task = states[state]

    assert task["Type"] == "Task"
    assert task["Resource"] == f"{ARN}{function}"  # the function ARN itself: the response is the payload
    assert task["Parameters"] == parameters
    assert task.get("ResultSelector") == result_selector
    assert task["ResultPath"] == result_path
    assert "OutputPath" not in task


@pytest.mark.parametrize("state", LAMBDA_TASKS)
def test_every_task_retries_lambda_failures_and_transient_errors_for_at_least_15_minutes(
    states: dict[str, Any], state: str
) -> None:
    (transient,) = [r for r in states[state]["Retry"] if "TransientServiceError" in r["ErrorEquals"]]

    assert {
        "TransientServiceError",
        "Lambda.TooManyRequestsException",
        "Lambda.ServiceException",
        "Lambda.Unknown",
        "Sandbox.Timedout",
    } <= set(transient["ErrorEquals"])
    waited, delay = 0.0, transient["IntervalSeconds"]
    for _ in range(transient["MaxAttempts"]):
        waited += min(delay, transient["MaxDelaySeconds"])
        delay *= transient["BackoffRate"]
    assert waited == transient_retry_seconds() >= MIN_TRANSIENT_RETRY_SECONDS
    assert transient.get("JitterStrategy", "NONE") == "NONE"  # no jitter: the 15-minute floor is exact


@pytest.mark.parametrize("state", LAMBDA_TASKS)
def test_no_domain_error_is_retried_except_transient_and_quota_errors(
    states: dict[str, Any], state: str
) -> None:
    retried = {error for retrier in states[state]["Retry"] for error in retrier["ErrorEquals"]}
    domain_errors = {cls.__name__ for cls in _all_subclasses(LabelChainError)}
    allowed = {cls.__name__ for cls in RETRYABLE_ERRORS} | (
        {"LabelingJobQuotaExceeded"} if state == S.CREATE_JOB else set()
    )

    assert retried & domain_errors == allowed
    assert not retried & {"States.ALL", "States.TaskFailed"}


@pytest.mark.parametrize("state", BUSINESS_TASKS)
def test_any_error_left_after_retries_is_recorded_before_the_execution_fails(
    states: dict[str, Any], state: str
) -> None:
    assert states[state]["Catch"][-1] == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.error",
        "Next": S.RECORD_FAILURE,
    }


def test_recording_a_failure_ends_in_a_fail_state_carrying_the_original_error(states: dict[str, Any]) -> None:
    record_failure = states[S.RECORD_FAILURE]

    assert record_failure["Next"] == S.EXECUTION_FAILED
    assert record_failure["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_failure_error", "Next": S.EXECUTION_FAILED}
    ]
    assert states[S.EXECUTION_FAILED] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


def _all_subclasses(cls: type) -> set[type]:
    direct: set[type] = set(cls.__subclasses__())
    return direct | {grand for sub in direct for grand in _all_subclasses(sub)}
