"""The LabelingJob state machine: resource settings and the shape of the synthesized definition.

The definition is read back from the template with ``infra.definitions`` (the same reader the workflow
tests and the offline stack use), so these tests check what would be deployed.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from aws_cdk.assertions import Match, Template

from infra.definitions import placeholder_arns, state_machine_definition
from infra.labeling_job_workflow import LABELING_JOB_STATUSES, LabelingJobStates
from labelchain.errors import RETRYABLE_ERRORS, LabelChainError
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra

S = LabelingJobStates
LAMBDA_TASKS = [S.CREATE_JOB, S.POLL_JOB, S.EXTRACT_MODEL, S.RECORD_METRICS, S.RECORD_FAILURE]
BUSINESS_TASKS = [S.CREATE_JOB, S.POLL_JOB, S.EXTRACT_MODEL, S.RECORD_METRICS]
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
    """Choice rules as {status: next state}, all on $.poll.status."""
    assert {rule["Variable"] for rule in state["Choices"]} == {"$.poll.status"}
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


def test_execution_timeout_is_31_days(definition: dict[str, Any]) -> None:
    assert definition["TimeoutSeconds"] == 31 * 24 * 3600


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


def test_the_job_is_created_then_polled_after_a_wait_chosen_by_pollsjob(states: dict[str, Any]) -> None:
    assert states[S.CREATE_JOB]["Next"] == S.WAIT_FOR_PROGRESS
    assert states[S.WAIT_FOR_PROGRESS] == {
        "Type": "Wait",
        "SecondsPath": "$.poll.wait_seconds",
        "Next": S.POLL_JOB,
    }
    assert states[S.POLL_JOB]["Next"] == S.JOB_STATUS


def test_job_status_routes_every_sagemaker_status_and_fails_on_anything_else(states: dict[str, Any]) -> None:
    routes = _choices(states[S.JOB_STATUS])

    assert routes == {
        "Initializing": S.WAIT_FOR_PROGRESS,
        "InProgress": S.WAIT_FOR_PROGRESS,
        "Stopping": S.WAIT_FOR_PROGRESS,
        "Completed": S.EXTRACT_MODEL,
        "Failed": S.RECORD_METRICS,
        "Stopped": S.RECORD_METRICS,
    }
    assert states[S.JOB_STATUS]["Default"] == S.UNKNOWN_JOB_STATUS
    assert states[S.UNKNOWN_JOB_STATUS]["Type"] == "Fail"


def test_the_choice_covers_exactly_the_statuses_of_the_sagemaker_api_model(states: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    statuses = set(model.shape_for("LabelingJobStatus").enum)

    assert set(_choices(states[S.JOB_STATUS])) == statuses == set(LABELING_JOB_STATUSES)


def test_a_completed_job_records_its_model_then_its_metrics_and_succeeds_with_the_result(
    states: dict[str, Any],
) -> None:
    assert states[S.EXTRACT_MODEL]["Next"] == S.RECORD_METRICS
    assert states[S.RECORD_METRICS]["Next"] == S.JOB_OUTCOME
    assert _choices(states[S.JOB_OUTCOME]) == {
        "Completed": S.JOB_SUCCEEDED,
        "Failed": S.JOB_FAILED,
        "Stopped": S.JOB_STOPPED,
    }
    assert states[S.JOB_OUTCOME]["Default"] == S.UNKNOWN_JOB_STATUS
    assert states[S.JOB_SUCCEEDED] == {"Type": "Succeed", "OutputPath": "$.result"}


def test_failed_and_stopped_jobs_fail_the_execution_with_sagemakers_reason(states: dict[str, Any]) -> None:
    assert states[S.JOB_FAILED] == {
        "Type": "Fail",
        "Error": "LabelingJobFailed",
        "CausePath": "$.poll.failure_reason",
    }
    assert states[S.JOB_STOPPED] == {
        "Type": "Fail",
        "Error": "LabelingJobStopped",
        "CausePath": "$.poll.failure_reason",
    }


@pytest.mark.parametrize(
    ("state", "function", "parameters", "result_path"),
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
            "$",
        ),
        (
            S.POLL_JOB,
            "poll-job",
            {"job_name.$": "$.job_name", "project.$": "$.project", "previous.$": "$.poll"},
            "$.poll",
        ),
        (S.EXTRACT_MODEL, "extract-model", {"job_name.$": "$.job_name", "project.$": "$.project"}, "$.model"),
        (
            S.RECORD_METRICS,
            "record-metrics",
            {"job_name.$": "$.job_name", "project.$": "$.project"},
            "$.result",
        ),
        (
            S.RECORD_FAILURE,
            "record-failure",
            {"state.$": "$", "execution": {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name"}},
            "$.recorded",
        ),
    ],
)
def test_each_task_honours_the_handler_contract(
    states: dict[str, Any], state: str, function: str, parameters: dict[str, Any], result_path: str
) -> None:
    task = states[state]

    assert task["Type"] == "Task"
    assert task["Resource"] == f"{ARN}{function}"  # the function ARN itself: the response is the payload
    assert task["Parameters"] == parameters
    assert task["ResultPath"] == result_path
    assert "ResultSelector" not in task
    assert "OutputPath" not in task


@pytest.mark.parametrize("state", LAMBDA_TASKS)
def test_every_task_retries_lambda_service_errors_then_transient_errors_with_capped_jittered_backoff(
    states: dict[str, Any], state: str
) -> None:
    service, transient = states[state]["Retry"]

    assert "Lambda.ServiceException" in service["ErrorEquals"]
    assert transient == {
        "ErrorEquals": ["TransientServiceError", "Lambda.TooManyRequestsException"],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    }


@pytest.mark.parametrize("state", LAMBDA_TASKS)
def test_no_domain_error_other_than_transient_ones_is_ever_retried(
    states: dict[str, Any], state: str
) -> None:
    retried = {error for retrier in states[state]["Retry"] for error in retrier["ErrorEquals"]}
    domain_errors = {cls.__name__ for cls in _all_subclasses(LabelChainError)}
    retryable = {cls.__name__ for cls in RETRYABLE_ERRORS}

    assert retried & domain_errors == retryable == {"TransientServiceError"}
    assert not retried & {"States.ALL", "States.TaskFailed", "Lambda.Unknown"}


@pytest.mark.parametrize("state", BUSINESS_TASKS)
def test_any_error_left_after_retries_is_recorded_before_the_execution_fails(
    states: dict[str, Any], state: str
) -> None:
    assert states[state]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": S.RECORD_FAILURE}
    ]


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
