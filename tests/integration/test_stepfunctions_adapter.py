"""Specification of the Step Functions adapter: a late resume is a no-op, throttling is transient, and
stopping an execution that no longer runs changes nothing.

A botocore Stubber on a real Step Functions client answers where the exact request or a service error
matters (every request is checked against the API model; an unqueued call fails); moto runs real
executions where their state is what counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from labelchain.adapters.stepfunctions import Executions
from labelchain.core.naming import LABELING_JOB_STATE_MACHINE_SUFFIX
from labelchain.errors import TransientServiceError
from tests.conftest import REGION
from tests.support.aws import EXAMPLE_TIME, create_state_machine, execution_arn

EXECUTION = execution_arn(LABELING_JOB_STATE_MACHINE_SUFFIX, "birds-half-a")
MACHINE = EXECUTION.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAe1N4dm9rZW4tMQ=="
JOB_ENDED = {
    "job_name": "labelchain-birds-half-a-0a1b2c3d",
    "status": "Completed",
    "detected_by": "event",
    "detected_at": EXAMPLE_TIME.isoformat(),
}


@pytest.fixture
def stubbed() -> Iterator[tuple[Executions, Stubber]]:
    client = boto3.client("stepfunctions", region_name=REGION)
    with Stubber(client) as stub:
        yield Executions(client), stub
        stub.assert_no_pending_responses()


@pytest.fixture
def moto_stepfunctions() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("stepfunctions", region_name=REGION)


def test_a_resume_hands_the_payload_to_the_waiting_task_as_json(stubbed: tuple[Executions, Stubber]) -> None:
    executions, stub = stubbed
    stub.add_response("send_task_success", {}, {"taskToken": TOKEN, "output": json.dumps(JOB_ENDED)})

    assert executions.resume(TOKEN, JOB_ENDED) is True


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_a_resume_nobody_waits_for_any_more_is_a_no_op(
    stubbed: tuple[Executions, Stubber], code: str
) -> None:
    executions, stub = stubbed
    stub.add_client_error("send_task_success", service_error_code=code, http_status_code=400)

    assert executions.resume(TOKEN, JOB_ENDED) is False


def test_a_throttled_resume_is_a_transient_error(stubbed: tuple[Executions, Stubber]) -> None:
    executions, stub = stubbed
    stub.add_client_error("send_task_success", service_error_code="ThrottlingException", http_status_code=400)

    with pytest.raises(
        TransientServiceError, match=r"Step Functions send_task_success .*ThrottlingException"
    ):
        executions.resume(TOKEN, JOB_ENDED)


def test_stopping_an_execution_that_already_ended_is_a_no_op(stubbed: tuple[Executions, Stubber]) -> None:
    executions, stub = stubbed
    stub.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": MACHINE,
            "status": "SUCCEEDED",
            "startDate": EXAMPLE_TIME,
        },
        {"executionArn": EXECUTION},
    )

    stopped = executions.stop(EXECUTION, "ExperimentStopped", "the experiment ended")

    assert stopped is False  # and no StopExecution: the Stubber has no response queued for one


def test_stopping_a_running_execution_aborts_it_once(moto_stepfunctions: Any) -> None:
    machine = create_state_machine(moto_stepfunctions, LABELING_JOB_STATE_MACHINE_SUFFIX)
    arn = moto_stepfunctions.start_execution(stateMachineArn=machine, name="birds-half-a")["executionArn"]
    executions = Executions(moto_stepfunctions)

    first = executions.stop(arn, "ExperimentStopped", "the experiment ended")
    second = executions.stop(arn, "ExperimentStopped", "the experiment ended")

    assert (first, second) == (True, False)
    assert executions.status(arn) == "ABORTED"


def test_an_execution_step_functions_does_not_know_has_no_status_and_is_not_stopped(
    moto_stepfunctions: Any,
) -> None:
    create_state_machine(moto_stepfunctions, LABELING_JOB_STATE_MACHINE_SUFFIX)
    executions = Executions(moto_stepfunctions)

    assert executions.status(EXECUTION) is None
    assert executions.stop(EXECUTION, "ExperimentStopped", "the experiment ended") is False
