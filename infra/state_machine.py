"""How every LabelChain state machine is deployed: Standard, traced, logging ALL to its own log group."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.cfn_hygiene import depend_on_role_policy_only
from infra.config import DeploymentConfig
from infra.nag import acknowledge, nag_text, wildcard_finding


def logged_state_machine(
    scope: Construct,
    *,
    name_suffix: str,
    comment: str,
    definition: sfn.IChainable,
    timeout: Duration,
    config: DeploymentConfig,
    encryption_key: kms.IKey,
    invokes: Sequence[lambda_.IFunction],
) -> tuple[sfn.StateMachine, logs.LogGroup]:
    """A Standard state machine ``<prefix>-<name_suffix>`` with X-Ray tracing and logging level ALL.

    Its log group holds execution data (job inputs), so it is encrypted with the stack's key. ``invokes``
    are the functions its Lambda tasks call (CDK grants each one's versions and aliases too).
    """
    log_group = logs.LogGroup(
        scope,
        "Logs",
        retention=config.log_retention,
        removal_policy=config.cdk_removal_policy,
        encryption_key=encryption_key,
    )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        state_machine_name=f"{config.resource_prefix}-{name_suffix}",
        comment=comment,
        state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
    )
    depend_on_role_policy_only(state_machine, state_machine.role)
    acknowledge(
        state_machine.role,
        wildcard_finding("Resource::*"),
        "Step Functions logging (log deliveries: logs:*LogDelivery, DescribeLogGroups, resource policies) "
        "and X-Ray tracing support no resource-level permissions.",
    )
    acknowledge_lambda_tasks(state_machine, invokes)
    return state_machine, log_group


def acknowledge_lambda_tasks(state_machine: sfn.StateMachine, functions: Sequence[lambda_.IFunction]) -> None:
    """A LambdaInvoke task grants invoking its function and the function's versions and aliases
    (``<function ARN>:*``): one acknowledgment per function, rendered from that resource."""
    stack = Stack.of(state_machine)
    for function in functions:
        versions = nag_text(stack.resolve(f"{function.function_arn}:*"))
        acknowledge(
            state_machine.role,
            wildcard_finding(f"Resource::{versions}"),
            "LambdaInvoke grants invoking this one function's versions and aliases (<function ARN>:*), "
            "as CDK does for every Lambda task.",
        )
