"""cdk-nag wiring and every acknowledged (suppressed) finding, each on the exact construct it concerns.

cdk-nag 3.x runs as a CDK policy-validation plugin, not as an Aspect (``Aspects.of(app).add(...)`` fails
with "aspect.visit is not a function" on 3.x): ``Validations.of(app).add_plugins(AwsSolutionsChecks(app))``.
Any unacknowledged finding then fails ``synth`` with a validation report (``validation-report.json`` in
the output directory), so ``cdk synth``/``cdk deploy`` cannot ship a template with open findings.

Findings are acknowledged with ``Validations.of(construct).acknowledge(...)`` on the role or function
that carries them (never on the stack or app), one acknowledgment per finding: an IAM5 acknowledgment
names the exact wildcard action or resource it accepts (``AwsSolutions-IAM5[Resource::...]``), so a new
wildcard elsewhere in the same policy is still reported. cdk-nag records each acknowledgment and its
reason in the cloud assembly metadata (``aws:cdk:acknowledged-rules``), which the infra tests audit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import Acknowledgment as CdkAcknowledgment
from aws_cdk import App, CfnElement, CfnMapping, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from infra.functions import (
    COMPARE_JOBS,
    CREATE_JOB,
    EXECUTION_ENDED,
    FINALIZING_SPECS,
    JOB_EVENTS,
    LABELING_JOB_FUNCTION_SPECS,
    LIFECYCLE_FUNCTION_SPECS,
    PREPARE_DATASET,
    RECONCILE,
    RESOLVE_TRIGGER,
    TABLE_ACTIONS,
)
from infra.ground_truth_role import BUILT_IN_LAMBDA_KINDS
from infra.stack import LabelChainStack

RULE_PACK = "AwsSolutions"


@dataclass(frozen=True)
class Suppression:
    """One accepted finding: ``rule`` (e.g. ``AwsSolutions-IAM5``), the exact ``finding``, and why."""

    rule: str
    reason: str
    finding: str | None = None

    @property
    def acknowledgment_id(self) -> str:
        """The id cdk-nag 3 matches: ``AwsSolutions::<rule>[<finding>]``."""
        suffix = f"[{self.finding}]" if self.finding else ""
        return f"{RULE_PACK}::{self.rule}{suffix}"


def apply_cdk_nag(app: App, stack: LabelChainStack) -> None:
    """Run the AwsSolutions checks at synth and acknowledge the findings this stack accepts on purpose."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    for construct, suppressions in stack_suppressions(stack):
        Validations.of(construct).acknowledge(
            *(CdkAcknowledgment(id=item.acknowledgment_id, reason=item.reason) for item in suppressions)
        )


def stack_suppressions(stack: LabelChainStack) -> list[tuple[IConstruct, list[Suppression]]]:
    """Every accepted finding, grouped by the construct it is acknowledged on."""
    functions = stack.functions
    ground_truth_role = stack.ground_truth.role
    data_bucket_arn = _arn_reference(stack, stack.storage.data_bucket)
    output_bucket_arn = _arn_reference(stack, stack.storage.output_bucket)
    built_in_lambda_account = _find_in_map_reference(stack, stack.ground_truth.built_in_lambda_accounts)
    labeling_jobs = (
        "arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        f"labeling-job/{stack.config.resource_prefix}-*"
    )

    every_function_role = [
        _iam5(
            "Resource::*",
            "Active X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords "
            "support no resource-level permissions, so AWS requires Resource '*'.",
        ),
        _iam5(
            "Action::kms:GenerateDataKey*",
            "Key use (infra.functions.KEY_USE_ACTIONS) on the stack's own customer managed key, the "
            "statement's only resource: DynamoDB and S3 ask for data keys to write this function's items "
            "and SSE-KMS objects.",
        ),
    ]
    describes_labeling_jobs = _iam5(
        f"Resource::{labeling_jobs}",
        "sagemaker:DescribeLabelingJob (and StopLabelingJob for the lifecycle functions): job names are "
        "derived per execution, so the ARN ends in a wildcard, limited to jobs named "
        f"'{stack.config.resource_prefix}-*' in this account and region.",
    )
    labeling_job_function_ids = {
        spec.construct_id for spec in (*LABELING_JOB_FUNCTION_SPECS, *LIFECYCLE_FUNCTION_SPECS)
    }
    finalizing_ids = {spec.construct_id for spec in FINALIZING_SPECS}
    reads_executions = _iam5(
        "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
        f"{stack.config.resource_prefix}-labeling-job:*",
        "states:DescribeExecution (and, for execution_ended, StopExecution of an Experiment's children) on "
        "executions of this stack's LabelingJob state machine only; execution names are per run.",
    )
    uses_table = _iam5(
        f"Resource::{_arn_reference(stack, stack.jobs.table)}/index/*",
        "table.grant(<the function's own DynamoDB actions>) on the LabelChain job table: CDK adds the "
        "table's own indexes (gsi1) to the resources; the wildcard covers only that table's indexes.",
    )
    runtime_pinned = Suppression(
        "AwsSolutions-L1",
        "Pinned to python3.13 on purpose: the functions import Powertools from the managed layer "
        "AWSLambdaPowertoolsPythonV3-python313-arm64, built for exactly this runtime; the runtime and the "
        "layer move together in one reviewed change.",
    )
    read_bucket = [
        _iam5("Action::s3:GetBucket*", "bucket.grant_read: bucket-level reads (location, versioning)."),
        _iam5("Action::s3:GetObject*", "bucket.grant_read: reads objects and their versions of one bucket."),
        _iam5("Action::s3:List*", "bucket.grant_read: lists the keys of one bucket."),
    ]

    suppressions: list[tuple[IConstruct, list[Suppression]]] = []
    for function in functions.by_construct_id.values():
        suppressions.append((function, [runtime_pinned]))
    for construct_id, role in functions.roles.items():
        extra: list[Suppression] = []
        if construct_id == CREATE_JOB.construct_id:
            extra = [
                *read_bucket,
                _iam5(
                    f"Resource::{data_bucket_arn}/*",
                    "create_job reads the input manifest, which the caller may place anywhere in the data "
                    "bucket; read-only, this bucket only.",
                ),
                _iam5(
                    f"Resource::{data_bucket_arn}/labelchain/*",
                    "create_job writes each job's input-manifest copy, label-category file and UI template "
                    "under labelchain/<project>/<job>/ of the data bucket (PutObject, PutObjectTagging); "
                    "object names are per job.",
                ),
            ]
        elif construct_id in finalizing_ids:
            extra = [
                *read_bucket,
                _iam5(
                    f"Resource::{output_bucket_arn}/*",
                    "finalizing a job reads the output Ground Truth writes under <output>/<job name>/ "
                    "(manifests, annotations, active-learning files); read-only, output bucket only.",
                ),
            ]
            if construct_id in {
                JOB_EVENTS.construct_id,
                EXECUTION_ENDED.construct_id,
                RECONCILE.construct_id,
            }:
                extra.append(reads_executions)
        elif construct_id == PREPARE_DATASET.construct_id:
            extra = [
                *read_bucket,
                _iam5(
                    f"Resource::{data_bucket_arn}/*",
                    "prepare_dataset streams the experiment's input manifest, which the caller may place "
                    "anywhere in the data bucket; read-only, this bucket only.",
                ),
                _iam5(
                    f"Resource::{data_bucket_arn}/labelchain/experiments/*",
                    "prepare_dataset writes (multipart, so it may abort) and, when the next part fails, "
                    "deletes each experiment's manifest parts under labelchain/experiments/<project>/"
                    "<execution>/ of the data bucket; object names are per execution.",
                ),
            ]
        elif construct_id == COMPARE_JOBS.construct_id:
            extra = [
                _iam5(
                    f"Resource::{output_bucket_arn}/experiments/*",
                    "compare_jobs writes report.json and report.md under experiments/<project>/<execution>/ "
                    "of the output bucket (PutObject only); object names are per execution.",
                ),
            ]
        if construct_id in labeling_job_function_ids:
            extra.append(describes_labeling_jobs)
        if construct_id in TABLE_ACTIONS:
            extra.append(uses_table)
        suppressions.append((role, [*every_function_role, *extra]))

    suppressions.append(
        (
            ground_truth_role,
            [
                _iam5(
                    f"Resource::{data_bucket_arn}/*",
                    "Ground Truth reads (GetObject only) the job's manifest copy, label-category file and UI "
                    "template under labelchain/<project>/<job>/ and the images the manifest names, which may "
                    "be anywhere in the data bucket that source_ref_scope allows.",
                ),
                _iam5(
                    f"Resource::{output_bucket_arn}/*/{stack.config.resource_prefix}-*/*",
                    "Ground Truth writes and re-reads (GetObject, PutObject, AbortMultipartUpload; no "
                    "delete) a job's own output under <output>/<project>/<job name>/, and every job name "
                    f"starts with '{stack.config.resource_prefix}-'; job and object names are per job.",
                ),
                _iam5(
                    "Action::kms:GenerateDataKey*",
                    "Key use on the stack's own customer managed key (the statement's only resource), as "
                    "AWS's guide lists it for a labeling job's output key: S3 asks for a data key to write "
                    "the job's SSE-KMS output.",
                ),
                *(
                    _iam5(
                        f"Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:{built_in_lambda_account}:"
                        f"function:{kind}-*",
                        f"Built-in {kind}-<TaskType> Lambdas of Ground Truth's task types, in the AWS-owned "
                        "account of this region (looked up in LabelChain's region table); the wildcard is "
                        "the task type only.",
                    )
                    for kind in BUILT_IN_LAMBDA_KINDS
                ),
                _iam5(
                    "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
                    "log-group:/aws/sagemaker/*",
                    "SageMaker writes labeling, training and transform job logs to /aws/sagemaker/* log "
                    "groups, one stream per job.",
                ),
                _iam5(
                    "Resource::*",
                    "cloudwatch:PutMetricData supports no resource-level permissions; the statement is "
                    "limited by condition to the /aws/sagemaker/* metric namespaces.",
                ),
            ],
        )
    )

    state_machine_logging = _iam5(
        "Resource::*",
        "Step Functions logging (log deliveries: logs:*LogDelivery, DescribeLogGroups, "
        "resource policies) and X-Ray tracing support no resource-level permissions.",
    )

    def invokes(*construct_ids: str) -> list[Suppression]:
        return [
            _iam5(
                f"Resource::{_arn_reference(stack, functions.by_construct_id[construct_id])}:*",
                "LambdaInvoke grants invoking this one function's versions and aliases "
                "(<function ARN>:*), as CDK does for every Lambda task.",
            )
            for construct_id in construct_ids
        ]

    labeling_job_machine = stack.labeling_job.state_machine
    suppressions.append(
        (
            labeling_job_machine.role,
            [
                state_machine_logging,
                *invokes(
                    *(spec.construct_id for spec in LABELING_JOB_FUNCTION_SPECS), RESOLVE_TRIGGER.construct_id
                ),
            ],
        )
    )
    labeling_job_name = _state_machine_name_reference(stack, labeling_job_machine)
    suppressions.append(
        (
            stack.experiment.state_machine.role,
            [
                state_machine_logging,
                *invokes(PREPARE_DATASET.construct_id, COMPARE_JOBS.construct_id, "RecordFailure"),
                _iam5(
                    "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
                    f"{labeling_job_name}*",
                    "startExecution.sync:2 describes and stops the nested LabelingJob executions it starts; "
                    "their names are per experiment, so only the LabelingJob state machine can be fixed.",
                ),
            ],
        )
    )
    suppressions.append(
        (
            stack.dead_letters.queue,
            [
                Suppression(
                    "AwsSolutions-SQS3",
                    "This queue is itself the dead-letter queue of the stack's EventBridge targets; a "
                    "dead-letter queue of a dead-letter queue would only move the same messages again.",
                )
            ],
        )
    )
    return suppressions


def _state_machine_name_reference(stack: Stack, state_machine: IConstruct) -> str:
    """How cdk-nag prints CDK's state-machine-name expression (the 7th field of its ARN)."""
    default_child = state_machine.node.default_child
    if not isinstance(default_child, CfnElement):
        raise TypeError(f"{state_machine.node.path} has no CloudFormation resource")
    logical_id = stack.resolve(stack.get_logical_id(default_child))
    split = {"Fn::Split": [":", {"Ref": logical_id}]}
    return json.dumps({"Fn::Select": [6, split]}, separators=(",", ":"))


def _iam5(finding: str, reason: str) -> Suppression:
    return Suppression("AwsSolutions-IAM5", reason, finding)


def _arn_reference(stack: Stack, construct: IConstruct) -> str:
    """How cdk-nag prints ``Fn::GetAtt [<logical id>, Arn]`` in a finding: ``<LogicalId.Arn>``."""
    default_child = construct.node.default_child
    if not isinstance(default_child, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    logical_id = stack.resolve(stack.get_logical_id(default_child))
    return f"<{logical_id}.Arn>"


def _find_in_map_reference(stack: Stack, mapping: CfnMapping) -> str:
    """How cdk-nag prints the region lookup ``Fn::FindInMap [<mapping>, <AWS::Region>, account]``."""
    lookup = {"Fn::FindInMap": [stack.resolve(mapping.logical_id), {"Ref": "AWS::Region"}, "account"]}
    return json.dumps(lookup, separators=(",", ":"))
