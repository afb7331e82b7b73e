"""Create the synthesized stack's resources in moto, from the CloudFormation template itself.

Nothing here restates the stack: bucket versioning, the table's keys and indexes, each function's
handler and environment, and the state machine definitions are all read from the template that
``cdk synth`` wrote. Physical names are derived from logical ids where the template leaves them to
CloudFormation (buckets, table, key), exactly as CloudFormation would invent its own.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.definitions import DEFAULT_PSEUDO_PARAMETERS, resolve_intrinsics, resources_of_type

REGION = DEFAULT_PSEUDO_PARAMETERS["AWS::Region"]
ACCOUNT = DEFAULT_PSEUDO_PARAMETERS["AWS::AccountId"]
HANDLER_PACKAGE = "labelchain."


@dataclass
class DeployedStack:
    """Physical names and ARNs of what was created, by logical id."""

    refs: dict[str, str] = field(default_factory=dict)
    arns: dict[str, str] = field(default_factory=dict)
    function_environments: dict[str, dict[str, str]] = field(default_factory=dict)
    state_machine_arns: dict[str, str] = field(default_factory=dict)

    def resolver(self, logical_id: str, attribute: str | None) -> str:
        """Answers ``Ref`` and ``Fn::GetAtt <id>.Arn`` for the created resources."""
        table = self.refs if attribute is None else self.arns
        if attribute not in (None, "Arn") or logical_id not in table:
            raise KeyError(f"the local stack has no value for {logical_id}.{attribute or 'Ref'}")
        return table[logical_id]

    def resolve(self, value: Any) -> Any:
        return resolve_intrinsics(value, self.resolver)

    def state_machine(self, name_part: str) -> str:
        """The ARN of the state machine whose logical id contains ``name_part``."""
        (arn,) = [arn for lid, arn in self.state_machine_arns.items() if name_part in lid]
        return arn


def _physical_name(logical_id: str) -> str:
    return f"local-{logical_id.lower()}"[:63]


def placeholder_zip() -> bytes:
    """A function package moto accepts; the code that runs is dispatched in-process."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("README.txt", "Runs in-process from lambdas/ (local.moto_engine dispatch).\n")
    return archive.getvalue()


def deploy_template(template: Mapping[str, Any], clients: Mapping[str, Any]) -> DeployedStack:
    """Create buckets, key, table, roles, functions and state machines of ``template`` in moto."""
    stack = DeployedStack()
    s3, kms, dynamodb, iam = clients["s3"], clients["kms"], clients["dynamodb"], clients["iam"]

    for logical_id in resources_of_type(template, "AWS::KMS::Key"):
        metadata = kms.create_key(Description=f"local {logical_id}")["KeyMetadata"]
        stack.refs[logical_id], stack.arns[logical_id] = metadata["KeyId"], metadata["Arn"]

    for logical_id, resource in resources_of_type(template, "AWS::S3::Bucket").items():
        name = _physical_name(logical_id)
        s3.create_bucket(Bucket=name)
        properties = resource.get("Properties", {})
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        stack.refs[logical_id], stack.arns[logical_id] = name, f"arn:aws:s3:::{name}"
        notifications = properties.get("NotificationConfiguration", {})
        if notifications.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )

    for logical_id, resource in resources_of_type(template, "AWS::IAM::Role").items():
        name = _physical_name(logical_id)
        trust = json.dumps(resource["Properties"]["AssumeRolePolicyDocument"], default=str)
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]
        stack.refs[logical_id], stack.arns[logical_id] = name, role["Arn"]

    for logical_id, resource in resources_of_type(template, "AWS::DynamoDB::Table").items():
        name = _physical_name(logical_id)
        properties = resource["Properties"]
        table_arn = dynamodb.create_table(
            TableName=name,
            BillingMode=properties["BillingMode"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
            GlobalSecondaryIndexes=properties.get("GlobalSecondaryIndexes", []),
        )["TableDescription"]["TableArn"]
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        stack.refs[logical_id], stack.arns[logical_id] = name, table_arn

    lambda_client, stepfunctions = clients["lambda"], clients["stepfunctions"]
    for logical_id, resource in resources_of_type(template, "AWS::Lambda::Function").items():
        properties = resource["Properties"]
        if not properties["Handler"].startswith(HANDLER_PACKAGE):
            raise ValueError(f"{logical_id}: the local stack only runs LabelChain handlers")
        environment = {k: str(v) for k, v in stack.resolve(properties["Environment"]["Variables"]).items()}
        function = lambda_client.create_function(
            FunctionName=properties["FunctionName"],
            Runtime=properties["Runtime"],
            Role=stack.resolve(properties["Role"]),
            Handler=properties["Handler"],
            Code={"ZipFile": placeholder_zip()},
            Environment={"Variables": environment},
            Timeout=int(properties.get("Timeout", 30)),
            MemorySize=int(properties.get("MemorySize", 256)),
        )
        stack.refs[logical_id], stack.arns[logical_id] = properties["FunctionName"], function["FunctionArn"]
        stack.function_environments[properties["FunctionName"]] = environment

    machines = resources_of_type(template, "AWS::StepFunctions::StateMachine")
    pending = dict(machines)
    while pending:  # a state machine that starts another is created after it
        for logical_id, resource in list(pending.items()):
            properties = resource["Properties"]
            try:
                definition = stack.resolve(properties["DefinitionString"])
            except KeyError:
                continue
            arn = stepfunctions.create_state_machine(
                name=properties["StateMachineName"],
                definition=definition,
                roleArn=stack.resolve(properties["RoleArn"]),
            )["stateMachineArn"]
            stack.refs[logical_id] = stack.arns[logical_id] = stack.state_machine_arns[logical_id] = arn
            del pending[logical_id]
            break
        else:
            raise ValueError(f"state machines reference something the local stack lacks: {sorted(pending)}")
    _create_rules(template, stack, clients["events"])
    return stack


def _create_rules(template: Mapping[str, Any], stack: DeployedStack, events: Any) -> None:
    """EventBridge rules and their targets, as the template has them (moto stores and matches them;
    it cannot start a Step Functions execution — ``LocalStack.deliver_s3_event`` does that part)."""
    for logical_id, resource in resources_of_type(template, "AWS::Events::Rule").items():
        properties = stack.resolve(resource["Properties"])
        name = _physical_name(logical_id)
        rule_arn = events.put_rule(
            Name=name,
            EventPattern=json.dumps(properties["EventPattern"]),
            State=properties.get("State", "ENABLED"),
            Description=properties.get("Description", ""),
        )["RuleArn"]
        events.put_targets(
            Rule=name,
            Targets=[
                {
                    "Id": target["Id"],
                    "Arn": target["Arn"],
                    "RoleArn": target["RoleArn"],
                    "InputTransformer": target["InputTransformer"],
                }
                for target in properties["Targets"]
            ],
        )
        stack.refs[logical_id], stack.arns[logical_id] = name, rule_arn
