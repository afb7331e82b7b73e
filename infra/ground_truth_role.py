"""The execution role SageMaker Ground Truth assumes to run LabelChain's labeling jobs.

What it may do follows AWS's own description of a Ground Truth execution role ("Create a SageMaker AI
Execution Role for a Ground Truth Labeling Job", https://docs.aws.amazon.com/sagemaker/latest/dg/
sms-security-permission-execution-role.html, and the managed policy AmazonSageMakerGroundTruthExecution,
https://docs.aws.amazon.com/sagemaker/latest/dg/security-iam-awsmanpol-ground-truth.html), narrowed to
LabelChain's buckets, key and job names:

- S3: ``ListBucket``/``GetBucketLocation`` on the data and output buckets; ``GetObject`` on the data bucket
  (the input manifest CreateJob copies to ``labelchain/<project>/<job>/input.manifest``, the images it
  names, the label-category file and UI template); ``GetObject``/``PutObject``/``AbortMultipartUpload``
  only under ``<output>/jobs/<project>/<prefix>-*/``, where Ground Truth writes and re-reads a job's own
  output (S3OutputPath is ``<output>/jobs/<project>/``, Ground Truth appends the job name, which always
  starts with the resource prefix; ``labelchain.core.s3_layout``): never the experiment reports, never a
  delete.
- KMS on the stack key: what AWS's guide lists for output encryption (``Encrypt``, ``Decrypt``,
  ``GenerateDataKey*``, ``DescribeKey``) except ``ReEncrypt*``, which S3 never calls for an object.
- Automated data labeling: ``iam:PassRole`` of this role to ``sagemaker.amazonaws.com`` (AWS: "allows
  the IAM execution role to be passed to SageMaker so that it can be used to run the training and
  inference jobs"), and nothing else. AWS documents no ``sagemaker:CreateTrainingJob`` /
  ``CreateTransformJob`` / ``CreateModel`` permission for the execution role — its guide and the
  managed policy grant no ``sagemaker:`` action at all — and no name prefix or tag of the training and
  transform jobs and models Ground Truth runs that a policy could be conditioned on. So the role holds
  no SageMaker action, rather than a wildcard over every training job, transform job and model of the
  account.
- The built-in PRE/ACS Lambdas of the region, CloudWatch logs and metrics in SageMaker's namespaces.

Only ``sagemaker.amazonaws.com`` acting for this account (``aws:SourceAccount``) may assume it. Each
statement is granted with ``infra.permissions.allow``, whose reason acknowledges its wildcards.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.permissions import acknowledge_grant, allow
from labelchain.core import s3_layout
from labelchain.core.regions import GROUND_TRUTH_LAMBDA_ACCOUNTS, SUPPORTED_REGIONS

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
GROUND_TRUTH_LOG_GROUP_PREFIX = "/aws/sagemaker/"
GROUND_TRUTH_METRIC_NAMESPACES = ["/aws/sagemaker/*"]
BUILT_IN_LAMBDA_KINDS = ("PRE", "ACS")
GROUND_TRUTH_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey")
"""AWS's list for a labeling job's output key, without ``kms:ReEncrypt*`` (no S3 request uses it)."""


def job_output_objects(output_bucket: s3.IBucket, resource_prefix: str) -> str:
    """Objects Ground Truth writes for LabelChain's jobs: ``<output>/jobs/<project>/<prefix>-<…>/…``."""
    return output_bucket.arn_for_objects(s3_layout.ground_truth_output_pattern(resource_prefix))


class GroundTruthRole(Construct):
    """The role passed as ``RoleArn`` to ``CreateLabelingJob``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_bucket: s3.IBucket,
        output_bucket: s3.IBucket,
        key: kms.IKey,
        resource_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            description="LabelChain: assumed by SageMaker Ground Truth to run labeling jobs",
            assumed_by=iam.ServicePrincipal(
                SAGEMAKER_SERVICE, conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        self._allow_buckets(data_bucket, output_bucket, resource_prefix)
        acknowledge_grant(
            self.role,
            key.grant(self.role, *GROUND_TRUTH_KEY_ACTIONS),
            "Key use on the stack's own customer managed key (the statement's only resource), as AWS's "
            "guide lists it for a labeling job's output key: S3 asks for a data key to write the job's "
            "SSE-KMS output.",
        )
        allow(
            self.role,
            sid="PassSelfToSageMakerJobs",
            actions=["iam:PassRole"],
            resources=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
            why="Automated data labeling: Ground Truth passes this role to its own training and inference "
            "jobs.",
        )
        self.built_in_lambda_accounts = self._built_in_lambda_accounts()
        self._allow_built_in_lambdas()
        self._allow_logs_and_metrics()

    def _allow_buckets(
        self, data_bucket: s3.IBucket, output_bucket: s3.IBucket, resource_prefix: str
    ) -> None:
        """Read the job's inputs anywhere in the data bucket; write and re-read only the job's own output."""
        allow(
            self.role,
            sid="LocateAndListBuckets",
            actions=["s3:ListBucket", "s3:GetBucketLocation"],
            resources=[data_bucket.bucket_arn, output_bucket.bucket_arn],
            why="Ground Truth locates and lists the data and output buckets of its job.",
        )
        allow(
            self.role,
            sid="ReadJobInputs",
            actions=["s3:GetObject"],
            resources=[data_bucket.arn_for_objects("*")],
            why="Ground Truth reads (GetObject only) the job's manifest copy, label-category file and UI "
            f"template under {s3_layout.LABELCHAIN_PREFIX}<project>/<job>/ and the images the manifest "
            "names, which may be anywhere in the data bucket that source_ref_scope allows.",
        )
        allow(
            self.role,
            sid="WriteAndRereadOwnJobOutput",
            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[job_output_objects(output_bucket, resource_prefix)],
            why="Ground Truth writes and re-reads (GetObject, PutObject, AbortMultipartUpload; no delete) a "
            f"job's own output under <output>/{s3_layout.JOB_OUTPUT_PREFIX}<project>/<job name>/, and every "
            f"job name starts with '{resource_prefix}-'; job and object names are per job, and no report "
            f"key ({s3_layout.REPORTS_PREFIX}…) can fall under it.",
        )

    def _allow_built_in_lambdas(self) -> None:
        """Invoke the region's built-in pre-annotation and consolidation Lambdas of Ground Truth."""
        stack = Stack.of(self)
        account = self.built_in_lambda_accounts.find_in_map(Aws.REGION, "account")
        allow(
            self.role,
            sid="BuiltInPreAndConsolidationLambdas",
            actions=["lambda:InvokeFunction"],
            resources=[
                stack.format_arn(
                    service="lambda",
                    account=account,
                    resource="function",
                    resource_name=f"{kind}-*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
                for kind in BUILT_IN_LAMBDA_KINDS
            ],
            why="Built-in PRE-<TaskType> and ACS-<TaskType> Lambdas of Ground Truth's task types, in the "
            "AWS-owned account of this region (looked up in LabelChain's region table); the wildcard is "
            "the task type only.",
        )

    def _allow_logs_and_metrics(self) -> None:
        """CloudWatch logs and metrics, in SageMaker's own log groups and namespaces only."""
        allow(
            self.role,
            sid="SageMakerLogs",
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            resources=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"{GROUND_TRUTH_LOG_GROUP_PREFIX}*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            why="SageMaker writes labeling, training and transform job logs to /aws/sagemaker/* log groups, "
            "one stream per job.",
        )
        allow(
            self.role,
            sid="SageMakerMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": GROUND_TRUTH_METRIC_NAMESPACES}},
            why="cloudwatch:PutMetricData supports no resource-level permissions; the statement is limited "
            "by condition to the /aws/sagemaker/* metric namespaces.",
        )

    def _built_in_lambda_accounts(self) -> CfnMapping:
        """Region → AWS account of the built-in PRE/ACS Lambdas, from LabelChain's region table.

        A template rule stops deployment to a region outside the table with a message saying why,
        instead of a bare mapping-lookup failure (the Lambdas could not run a job there anyway).
        """
        accounts = CfnMapping(
            self,
            "BuiltInLambdaAccounts",
            mapping={
                region: {"account": account} for region, account in GROUND_TRUTH_LAMBDA_ACCOUNTS.items()
            },
        )
        CfnRule(
            self,
            "SupportedRegion",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_contains(list(SUPPORTED_REGIONS), Aws.REGION),
                    assert_description=(
                        "LabelChain needs SageMaker Ground Truth's built-in labeling Lambdas, which exist "
                        f"only in: {', '.join(SUPPORTED_REGIONS)}"
                    ),
                )
            ],
        )
        return accounts
