"""The one place that finds the deployed stack and its outputs (CloudFormation DescribeStacks).

The stack publishes what the CLI needs as outputs (infra/stack.py ``_outputs``): the table, the two
state machines, the buckets. Reading them from CloudFormation means the CLI works against any
deployment — and against the offline stack, which registers a stand-in stack with the same outputs
in moto (``local/outputs.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labelchain.cli.exits import AWS, CliError
from labelchain.core.arns import parse_arn
from labelchain.core.naming import EXPERIMENT_STATE_MACHINE_SUFFIX, LABELING_JOB_STATE_MACHINE_SUFFIX

DATA_BUCKET = "DataBucketName"
OUTPUT_BUCKET = "OutputBucketName"
ACCESS_LOG_BUCKET = "AccessLogBucketName"
KMS_KEY = "KmsKeyArn"
TABLE = "TableName"
LABELING_JOB_STATE_MACHINE = "LabelingJobStateMachineArn"
EXPERIMENT_STATE_MACHINE = "ExperimentStateMachineArn"
GROUND_TRUTH_ROLE = "GroundTruthRoleArn"
DEAD_LETTER_QUEUE = "EventDeadLetterQueueUrl"
OUTPUT_KEYS: tuple[str, ...] = (
    DATA_BUCKET,
    OUTPUT_BUCKET,
    ACCESS_LOG_BUCKET,
    KMS_KEY,
    TABLE,
    LABELING_JOB_STATE_MACHINE,
    EXPERIMENT_STATE_MACHINE,
    GROUND_TRUTH_ROLE,
    DEAD_LETTER_QUEUE,
)
"""What infra/stack.py publishes (a unit test compares this with the synthesized template)."""

UNUSABLE_STATUSES = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "CREATE_FAILED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
    }
)
"""Stack states in which its outputs do not describe working resources."""


def deploy_hint(stack_name: str) -> str:
    return (
        f"deploy it with `make deploy`, or name the deployed stack with --stack or LABELCHAIN_STACK "
        f"(looked for {stack_name!r})"
    )


@dataclass(frozen=True)
class StackOutputs:
    """A deployed stack's status and outputs."""

    stack_name: str
    region: str
    status: str
    values: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return [key for key in OUTPUT_KEYS if key not in self.values]

    def get(self, key: str) -> str:
        try:
            return self.values[key]
        except KeyError:
            raise CliError(
                f"stack {self.stack_name!r} has no output {key!r}: it was deployed from another LabelChain "
                "version; deploy this one with `make deploy`",
                AWS,
            ) from None

    @property
    def table_name(self) -> str:
        return self.get(TABLE)

    @property
    def labeling_job_arn(self) -> str:
        return self.get(LABELING_JOB_STATE_MACHINE)

    @property
    def experiment_arn(self) -> str:
        return self.get(EXPERIMENT_STATE_MACHINE)

    @property
    def data_bucket(self) -> str:
        return self.get(DATA_BUCKET)

    @property
    def output_bucket(self) -> str:
        return self.get(OUTPUT_BUCKET)

    @property
    def resource_prefix(self) -> str:
        """The deployment's resource prefix: its LabelingJob state machine is ``<prefix>-labeling-job``."""
        name = state_machine_name_of(self.labeling_job_arn)
        suffix = f"-{LABELING_JOB_STATE_MACHINE_SUFFIX}"
        if not name.endswith(suffix):
            raise CliError(f"{self.labeling_job_arn}: not a LabelChain LabelingJob state machine", AWS)
        return name.removesuffix(suffix)

    def machine_kind(self, state_machine_arn: str) -> str | None:
        """``labeling-job`` or ``experiment`` for this stack's state machines, else None."""
        name = state_machine_name_of(state_machine_arn)
        for suffix in (LABELING_JOB_STATE_MACHINE_SUFFIX, EXPERIMENT_STATE_MACHINE_SUFFIX):
            if name == f"{self.resource_prefix}-{suffix}":
                return suffix
        return None


def state_machine_name_of(arn: str) -> str:
    """``arn:…:stateMachine:<name>`` or ``arn:…:execution:<name>:<execution>`` → ``<name>``."""
    try:
        parsed = parse_arn(arn)
    except ValueError:
        parsed = None
    resource = parsed.resource.split(":") if parsed is not None and parsed.service == "states" else []
    if len(resource) < 2 or resource[0] not in {"stateMachine", "execution"}:
        raise CliError(f"not a Step Functions state machine or execution ARN: {arn!r}")
    return resource[1]


def execution_arn_for(state_machine_arn: str, execution_name: str) -> str:
    """The ARN execution ``execution_name`` of a state machine has."""
    machine = state_machine_name_of(state_machine_arn)
    return parse_arn(state_machine_arn).with_resource(f"execution:{machine}:{execution_name}")


def read_stack_outputs(cloudformation: Any, stack_name: str, region: str) -> StackOutputs:
    """DescribeStacks → the stack's outputs; ``CliError`` (exit 3) when it is missing or unusable."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from labelchain.adapters.aws_errors import error_message  # noqa: PLC0415

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = error_message(exc)
        if "does not exist" in message:
            raise CliError(
                f"stack {stack_name!r} is not deployed in {region}: {deploy_hint(stack_name)}", AWS
            ) from None
        raise
    if not stacks:
        raise CliError(f"stack {stack_name!r} is not deployed in {region}: {deploy_hint(stack_name)}", AWS)
    stack = stacks[0]
    status = str(stack.get("StackStatus", "UNKNOWN"))
    if status in UNUSABLE_STATUSES:
        raise CliError(
            f"stack {stack_name!r} in {region} is {status}: {deploy_hint(stack_name)}",
            AWS,
        )
    values = {str(o["OutputKey"]): str(o["OutputValue"]) for o in stack.get("Outputs", [])}
    return StackOutputs(stack_name=stack_name, region=region, status=status, values=values)
