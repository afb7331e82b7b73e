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

import boto3

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


def deploy_template(
    template: Mapping[str, Any],
    clients: Mapping[str, Any],
    handler_packages: tuple[str, ...] = (HANDLER_PACKAGE,),
) -> DeployedStack:
    """Create buckets, key, table, roles, queues, functions, state machines and EventBridge rules of
    ``template`` in moto.

    ``clients`` maps service names to boto3 clients (moto server or ``mock_aws``); ``sqs`` is optional
    (a client is made when the template has queues and none is given). ``handler_packages``: the
    module prefixes a function's ``Handler`` may name (LabelChain's handlers; tests add their own).
    """
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

    queues = resources_of_type(template, "AWS::SQS::Queue")
    if queues:
        _create_queues(queues, stack, clients.get("sqs") or boto3.client("sqs", region_name=REGION))

    topics = resources_of_type(template, "AWS::SNS::Topic")
    if topics:
        _create_topics(template, topics, stack, clients.get("sns") or boto3.client("sns", region_name=REGION))

    lambda_client, stepfunctions = clients["lambda"], clients["stepfunctions"]
    _create_functions(template, stack, lambda_client, handler_packages)

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
    for logical_id, resource in resources_of_type(template, "AWS::Lambda::Permission").items():
        properties = stack.resolve(resource["Properties"])
        lambda_client.add_permission(
            StatementId=logical_id,
            **{key: str(value) for key, value in properties.items() if key in _PERMISSION_PARAMETERS},
        )
    return stack


def _create_functions(
    template: Mapping[str, Any], stack: DeployedStack, lambda_client: Any, handler_packages: tuple[str, ...]
) -> None:
    """Functions (a placeholder package; the handler named runs in-process) and their async settings."""
    for logical_id, resource in resources_of_type(template, "AWS::Lambda::Function").items():
        properties = resource["Properties"]
        if not properties["Handler"].startswith(handler_packages):
            raise ValueError(f"{logical_id}: the local stack only runs handlers of {handler_packages}")
        environment = {k: str(v) for k, v in stack.resolve(properties["Environment"]["Variables"]).items()}
        optional: dict[str, Any] = {}
        if "DeadLetterConfig" in properties:  # moto drops it; local.event_bus reads it from the template
            optional["DeadLetterConfig"] = stack.resolve(properties["DeadLetterConfig"])
        function = lambda_client.create_function(
            FunctionName=properties["FunctionName"],
            Runtime=properties["Runtime"],
            Role=stack.resolve(properties["Role"]),
            Handler=properties["Handler"],
            Code={"ZipFile": placeholder_zip()},
            Environment={"Variables": environment},
            Timeout=int(properties.get("Timeout", 30)),
            MemorySize=int(properties.get("MemorySize", 256)),
            **optional,
        )
        stack.refs[logical_id], stack.arns[logical_id] = properties["FunctionName"], function["FunctionArn"]
        stack.function_environments[properties["FunctionName"]] = environment
    for resource in resources_of_type(template, "AWS::Lambda::EventInvokeConfig").values():
        properties = stack.resolve(resource["Properties"])
        lambda_client.put_function_event_invoke_config(
            FunctionName=properties["FunctionName"],
            Qualifier=properties.get("Qualifier", "$LATEST"),
            **{
                key: int(value) if key.startswith("Maximum") else value
                for key, value in properties.items()
                if key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            },
        )


_PERMISSION_PARAMETERS = ("FunctionName", "Action", "Principal", "SourceArn", "SourceAccount")
"""The ``AWS::Lambda::Permission`` properties passed to moto's AddPermission (the event bus checks them)."""


def _queue_attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _create_topics(
    template: Mapping[str, Any], topics: Mapping[str, Mapping[str, Any]], stack: DeployedStack, sns: Any
) -> None:
    """SNS topics (Ref is the ARN) and their non-e-mail subscriptions (an e-mail address cannot confirm
    offline; tests subscribe their own SQS queue)."""
    for logical_id, resource in topics.items():
        properties = resource.get("Properties", {})
        name = properties.get("TopicName") or _physical_name(logical_id)
        arn = sns.create_topic(Name=name)["TopicArn"]
        stack.refs[logical_id] = stack.arns[logical_id] = arn
    for resource in resources_of_type(template, "AWS::SNS::Subscription").values():
        properties = stack.resolve(resource["Properties"])
        if properties.get("Protocol") != "email":
            sns.subscribe(
                TopicArn=properties["TopicArn"],
                Protocol=properties["Protocol"],
                Endpoint=properties["Endpoint"],
            )


def _create_queues(queues: Mapping[str, Mapping[str, Any]], stack: DeployedStack, sqs: Any) -> None:
    """SQS queues (dead-letter queues): ``Ref`` is the queue URL, ``Fn::GetAtt .Arn`` its ARN."""
    pending = dict(queues)
    while pending:  # a queue whose RedrivePolicy names another is created after it
        for logical_id, resource in list(pending.items()):
            try:
                properties = stack.resolve(resource.get("Properties", {}))
            except KeyError:
                continue
            fifo = bool(properties.get("FifoQueue"))
            name = properties.get("QueueName") or _physical_name(logical_id)[: 75 if fifo else 80]
            if fifo and not name.endswith(".fifo"):
                name += ".fifo"
            attributes = {
                key: _queue_attribute(value)
                for key, value in properties.items()
                if key not in ("QueueName", "Tags")
            }
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            described = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
            arn = described["QueueArn"]
            stack.refs[logical_id], stack.arns[logical_id] = url, arn
            del pending[logical_id]
            break
        else:
            raise ValueError(f"queues reference something the local stack lacks: {sorted(pending)}")


def _create_rules(template: Mapping[str, Any], stack: DeployedStack, events: Any) -> None:
    """Every EventBridge rule of the template — event pattern and schedule rules — with its targets
    (state machines, functions, …) as the template has them. moto stores the rules and matches
    patterns; ``local.event_bus.LocalEventBus`` reads them back and delivers to the targets."""
    target_members = set(events.meta.service_model.shape_for("Target").members)
    for logical_id, resource in resources_of_type(template, "AWS::Events::Rule").items():
        properties = stack.resolve(resource["Properties"])
        if properties.get("EventBusName", "default") != "default":
            raise ValueError(f"{logical_id}: the local stack has only the default event bus")
        name = properties.get("Name") or _physical_name(logical_id)
        rule: dict[str, Any] = {
            "Name": name,
            "State": properties.get("State", "ENABLED"),
            "Description": properties.get("Description", ""),
        }
        if "EventPattern" in properties:
            pattern = properties["EventPattern"]
            rule["EventPattern"] = pattern if isinstance(pattern, str) else json.dumps(pattern)
        if "ScheduleExpression" in properties:
            rule["ScheduleExpression"] = properties["ScheduleExpression"]
        if "RoleArn" in properties:
            rule["RoleArn"] = properties["RoleArn"]
        rule_arn = events.put_rule(**rule)["RuleArn"]
        targets = [_target(target, target_members) for target in properties.get("Targets", [])]
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        stack.refs[logical_id], stack.arns[logical_id] = name, rule_arn


def _target(target: Mapping[str, Any], members: set[str]) -> dict[str, Any]:
    """A rule target as PutTargets takes it: only the API's members (CloudFormation-only properties
    dropped), ``RetryPolicy`` numbers as numbers."""
    kept = {key: value for key, value in target.items() if key in members}
    if "RetryPolicy" in kept:
        kept["RetryPolicy"] = {key: int(value) for key, value in kept["RetryPolicy"].items()}
    return kept
