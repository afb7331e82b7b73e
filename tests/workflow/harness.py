"""Run the synthesized LabelingJob state machine in moto's engine with the real handlers in-process.

The definition comes from the CloudFormation template `infra/` synthesizes (never a copy); each
Lambda task dispatches to the handler module the template names, with a Runtime whose S3 and
DynamoDB are moto and whose SageMaker client is answered by a botocore Stubber.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from labelchain.handlers.runtime import override_runtime
from labelchain.services.runtime import Runtime
from local.lambda_dispatch import dispatch_to_handler
from local.moto_engine import EngineHandle, InvokedFunction, in_process_engine
from local.resources import deploy_template
from tests.conftest import ACCOUNT, REGION
from tests.support.aws import create_buckets, create_table
from tests.support.synth import default_template

PROCEED = object()
Interceptor = Callable[[InvokedFunction, Any], object]
LABELING_JOB_STATE_MACHINE = "LabelingJob"
EXPERIMENT_STATE_MACHINE = "Experiment"


def synthesized_template() -> dict[str, Any]:
    """The stack's CloudFormation template: the session's one synthesis (``tests.support.synth``), which
    the infra tests read too."""
    return default_template()


@dataclass
class ExecutionResult:
    status: str
    output: Any
    error: str | None
    cause: str | None
    events: list[dict[str, Any]] = field(default_factory=list)

    def state_names_entered(self) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.events
            if "stateEnteredEventDetails" in event
        ]


class Workflow:
    """A deployed-in-moto LabelingJob state machine."""

    def __init__(self, engine: EngineHandle, state_machine_arn: str) -> None:
        self.engine = engine
        self.state_machine_arn = state_machine_arn
        self.stepfunctions = boto3.client("stepfunctions", region_name=REGION)

    def run(self, execution_input: Any, name: str, timeout_seconds: float = 120.0) -> ExecutionResult:
        """Start an execution and wait (bounded) until it ends."""
        return self.wait(self.start(execution_input, name), timeout_seconds)

    def start(self, execution_input: Any, name: str) -> str:
        """Start an execution; returns its ARN at once."""
        return str(
            self.stepfunctions.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(execution_input)
            )["executionArn"]
        )

    def wait(self, arn: str, timeout_seconds: float = 120.0) -> ExecutionResult:
        """Wait (bounded) until the execution ends; its status, output, error and history."""
        name = arn.rsplit(":", 1)[-1]
        deadline = time.monotonic() + timeout_seconds
        while True:
            described = self.stepfunctions.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, f"execution {name} still running after {timeout_seconds}s"
            time.sleep(0.01)
        events: list[dict[str, Any]] = []
        for page in self.stepfunctions.get_paginator("get_execution_history").paginate(executionArn=arn):
            events.extend(page["events"])
        output = described.get("output")
        return ExecutionResult(
            status=described["status"],
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            events=events,
        )

    def execution_arn(self, name: str) -> str:
        machine = self.state_machine_arn.split(":stateMachine:")[1]
        return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{name}"


class VirtualTime:
    """Moves the handlers' clock forward by every Wait the engine skipped (a compressed clock)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.seen = 0

    def catch_up(self, engine: EngineHandle) -> None:
        """Advance by the waits skipped since the last call, and a second for the invocation itself
        (so records written by successive Lambdas never share a timestamp)."""
        waits = engine.waits
        for delay in waits[self.seen :]:
            self.clock.advance(delay.seconds)
        self.seen = len(waits)
        self.clock.advance(1)


@dataclass
class Deployment:
    """The stack's state machines, created in moto from the synthesized template."""

    labeling_job: Workflow
    experiment: Workflow
    engine: EngineHandle
    interceptors: list[Interceptor] = field(default_factory=list)
    """Called before each Lambda invocation (function, event); one that returns anything but ``PROCEED``
    answers the invocation itself (or raises, e.g. ``LambdaRuntimeFault("Sandbox.Timedout")``)."""


@contextmanager
def deployed_stack(make_runtime: Any) -> Iterator[Deployment]:
    """moto with execution on, the test buckets and table, and the synthesized stack (functions, both
    state machines, the rule) created by ``local.resources.deploy_template``.

    ``make_runtime()`` is called inside ``mock_aws`` and must return the Runtime the handlers use.
    """
    template = synthesized_template()
    with ExitStack() as stack:
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        handle: list[EngineHandle] = []
        virtual_time: list[VirtualTime] = []

        interceptors: list[Interceptor] = []

        def dispatch(function: InvokedFunction, event: Any) -> object:
            if virtual_time:
                virtual_time[0].catch_up(handle[0])
            for intercept in interceptors:
                answer = intercept(function, event)
                if answer is not PROCEED:
                    return answer
            return dispatch_to_handler(function, event)

        engine = stack.enter_context(in_process_engine(dispatch))
        handle.append(engine)
        create_buckets(boto3.client("s3", region_name=REGION))
        create_table(boto3.client("dynamodb", region_name=REGION))
        runtime: Runtime = make_runtime()
        if hasattr(runtime.clock, "advance"):
            virtual_time.append(VirtualTime(runtime.clock))
        stack.enter_context(override_runtime(runtime))

        # The stack's own resources, created from the template as the offline stack creates them; the
        # handlers use the Runtime above (TEST_SETTINGS names), so the template's names go unused.
        services = ("s3", "kms", "dynamodb", "iam", "lambda", "stepfunctions", "events", "sqs", "sns")
        deployed = deploy_template(
            template, {name: boto3.client(name, region_name=REGION) for name in services}
        )
        workflows = {
            name_part: Workflow(engine, deployed.state_machine(name_part))
            for name_part in (LABELING_JOB_STATE_MACHINE, EXPERIMENT_STATE_MACHINE)
        }
        yield Deployment(
            workflows[LABELING_JOB_STATE_MACHINE], workflows[EXPERIMENT_STATE_MACHINE], engine, interceptors
        )


@contextmanager
def labeling_job_workflow(make_runtime: Any) -> Iterator[Workflow]:
    """Just the LabelingJob state machine of ``deployed_stack``."""
    with deployed_stack(make_runtime) as deployment:
        yield deployment.labeling_job
