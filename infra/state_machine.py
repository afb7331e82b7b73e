"""How every LabelChain state machine is deployed: Standard, traced, logging ALL to its own log group."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.cfn_hygiene import depend_on_role_policy_only
from infra.config import DeploymentConfig


def logged_state_machine(
    scope: Construct,
    *,
    name_suffix: str,
    comment: str,
    definition: sfn.IChainable,
    timeout: Duration,
    config: DeploymentConfig,
    encryption_key: kms.IKey,
) -> tuple[sfn.StateMachine, logs.LogGroup]:
    """A Standard state machine ``<prefix>-<name_suffix>`` with X-Ray tracing and logging level ALL.

    Its log group holds execution data (job inputs), so it is encrypted with the stack's key.
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
    return state_machine, log_group
