"""Run the synthesized LabelingJob state machine in moto's engine with the real handlers in-process.

The definition comes from the CloudFormation template `infra/` synthesizes (never a copy); each
Lambda task dispatches to the handler module the template names, with a Runtime whose S3 and
DynamoDB are moto and whose SageMaker client is answered by a botocore Stubber.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
from moto import mock_aws

from infra.application import build_app, cdk_json_context
from infra.definitions import lambda_functions, placeholder_arns, state_machine_definition
from infra.stack import STACK_ID
from labelchain.handlers.runtime import override_runtime
from labelchain.services.runtime import Runtime
from local.lambda_dispatch import dispatch_to_handler
from local.moto_engine import EngineHandle, InvokedFunction, in_process_engine
from tests.conftest import ACCOUNT, REGION
from tests.support.aws import create_buckets, create_table

LABELING_JOB_STATE_MACHINE = "LabelingJob"
EXPERIMENT_STATE_MACHINE = "Experiment"


@cache
def synthesized_template() -> dict[str, Any]:
    """The stack's CloudFormation template, synthesized once per test session."""
    assembly = build_app(cdk_json_context()).synth()
    template: dict[str, Any] = assembly.get_stack_by_name(STACK_ID).template
    return template


def state_machine_logical_id(template: Mapping[str, Any], name_part: str) -> str:
    """The logical id of the state machine whose id contains ``name_part``."""
    ids = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and name_part in logical_id
    ]
    assert len(ids) == 1, f"expected one state machine matching {name_part!r}, got {ids}"
    return ids[0]


def _empty_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("placeholder.py", "# code runs in-process; see local.moto_engine\n")
    return archive.getvalue()


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

    def run(self, execution_input: Any, name: str, timeout_seconds: float = 30.0) -> ExecutionResult:
        """Start an execution and wait (bounded) until it ends."""
        arn = self.stepfunctions.start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(execution_input)
        )["executionArn"]
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
        waits = engine.waits
        for delay in waits[self.seen :]:
            self.clock.advance(delay.seconds)
        self.seen = len(waits)


@dataclass
class Deployment:
    """The stack's state machines, created in moto from the synthesized template."""

    labeling_job: Workflow
    experiment: Workflow
    engine: EngineHandle


def _template_resolver(template: Mapping[str, Any], state_machine_arns: dict[str, str]) -> Any:
    """Resolve Lambda ``Fn::GetAtt Arn`` to moto function ARNs and state machine ``Ref`` to moto ARNs."""
    lambdas = placeholder_arns(template)

    def resolve(logical_id: str, attribute: str | None) -> str:
        if attribute is None and logical_id in state_machine_arns:
            return state_machine_arns[logical_id]
        return str(lambdas(logical_id, attribute))

    return resolve


@contextmanager
def deployed_stack(make_runtime: Any) -> Iterator[Deployment]:
    """moto with execution on, the stack's buckets/table/functions, and both synthesized state machines.

    ``make_runtime()`` is called inside ``mock_aws`` and must return the Runtime the handlers use.
    """
    template = synthesized_template()
    with ExitStack() as stack:
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        handle: list[EngineHandle] = []
        virtual_time: list[VirtualTime] = []

        def dispatch(function: InvokedFunction, event: Any) -> object:
            if virtual_time:
                virtual_time[0].catch_up(handle[0])
            return dispatch_to_handler(function, event)

        engine = stack.enter_context(in_process_engine(dispatch))
        handle.append(engine)
        create_buckets(boto3.client("s3", region_name=REGION))
        create_table(boto3.client("dynamodb", region_name=REGION))
        runtime: Runtime = make_runtime()
        if hasattr(runtime.clock, "advance"):
            virtual_time.append(VirtualTime(runtime.clock))
        stack.enter_context(override_runtime(runtime))

        iam = boto3.client("iam", region_name=REGION)
        role_arn = iam.create_role(RoleName="labelchain-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lambda_client = boto3.client("lambda", region_name=REGION)
        function_arns = placeholder_arns(template)
        for logical_id, properties in lambda_functions(template).items():
            handler = properties["Handler"]
            assert handler.startswith("labelchain."), f"unexpected function {logical_id}: {handler}"
            lambda_client.create_function(
                FunctionName=function_arns(logical_id, "Arn").rsplit(":", 1)[1],
                Runtime="python3.13",
                Role=role_arn,
                Handler=handler,
                Code={"ZipFile": _empty_zip()},
            )
        stepfunctions = boto3.client("stepfunctions", region_name=REGION)
        machines: dict[str, str] = {}
        workflows: dict[str, Workflow] = {}
        for name_part in (LABELING_JOB_STATE_MACHINE, EXPERIMENT_STATE_MACHINE):  # children first
            logical_id = state_machine_logical_id(template, name_part)
            name = template["Resources"][logical_id]["Properties"]["StateMachineName"]
            definition = state_machine_definition(
                template, logical_id, _template_resolver(template, machines)
            )
            arn = stepfunctions.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=role_arn
            )["stateMachineArn"]
            machines[logical_id] = arn
            workflows[name_part] = Workflow(engine, arn)
        yield Deployment(workflows[LABELING_JOB_STATE_MACHINE], workflows[EXPERIMENT_STATE_MACHINE], engine)


@contextmanager
def labeling_job_workflow(make_runtime: Any) -> Iterator[Workflow]:
    """Just the LabelingJob state machine of ``deployed_stack``."""
    with deployed_stack(make_runtime) as deployment:
        yield deployment.labeling_job
