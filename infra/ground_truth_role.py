"""The execution role SageMaker Ground Truth assumes to run LabelChain's labeling jobs.

What it may do follows AWS's own description of a Ground Truth execution role ("Create a SageMaker AI
Execution Role for a Ground Truth Labeling Job", https://docs.aws.amazon.com/sagemaker/latest/dg/
sms-security-permission-execution-role.html, and the managed policy AmazonSageMakerGroundTruthExecution,
https://docs.aws.amazon.com/sagemaker/latest/dg/security-iam-awsmanpol-ground-truth.html), narrowed to
LabelChain's buckets, key and job names:

- S3: ``ListBucket``/``GetBucketLocation`` on the data and output buckets; ``GetObject`` on the data bucket
  (the input manifest CreateJob copies to ``labelchain/<project>/<job>/input.manifest``, the images it
  names, the label-category file and UI template); ``GetObject``/``PutObject``/``AbortMultipartUpload``
  only under ``<output>/<project>/<prefix>-*/``, where Ground Truth writes and re-reads a job's own output
  (S3OutputPath is ``<output>/<project>/``, Ground Truth appends the job name, which always starts with
  the resource prefix): never the experiment reports, never a delete.
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

Only ``sagemaker.amazonaws.com`` acting for this account (``aws:SourceAccount``) may assume it. Every
statement that needs a wildcard is acknowledged, with its reason, in ``infra/nag.py``.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from labelchain.core.regions import GROUND_TRUTH_LAMBDA_ACCOUNTS, SUPPORTED_REGIONS

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
GROUND_TRUTH_LOG_GROUP_PREFIX = "/aws/sagemaker/"
GROUND_TRUTH_METRIC_NAMESPACES = ["/aws/sagemaker/*"]
BUILT_IN_LAMBDA_KINDS = ("PRE", "ACS")
GROUND_TRUTH_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey")
"""AWS's list for a labeling job's output key, without ``kms:ReEncrypt*`` (no S3 request uses it)."""


def job_output_objects(output_bucket: s3.IBucket, resource_prefix: str) -> str:
    """Objects Ground Truth writes for LabelChain's jobs: ``<output>/<project>/<prefix>-<…>/…``."""
    return output_bucket.arn_for_objects(f"*/{resource_prefix}-*/*")


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
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            description="LabelChain: assumed by SageMaker Ground Truth to run labeling jobs",
            assumed_by=iam.ServicePrincipal(
                SAGEMAKER_SERVICE, conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LocateAndListBuckets",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[data_bucket.bucket_arn, output_bucket.bucket_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadJobInputs",
                actions=["s3:GetObject"],
                resources=[data_bucket.arn_for_objects("*")],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteAndRereadOwnJobOutput",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[job_output_objects(output_bucket, resource_prefix)],
            )
        )
        key.grant(self.role, *GROUND_TRUTH_KEY_ACTIONS)

        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassSelfToSageMakerJobs",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER_SERVICE}},
            )
        )
        self.built_in_lambda_accounts = self._built_in_lambda_accounts()
        built_in_lambda_account = self.built_in_lambda_accounts.find_in_map(Aws.REGION, "account")
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="BuiltInPreAndConsolidationLambdas",
                actions=["lambda:InvokeFunction"],
                resources=[
                    stack.format_arn(
                        service="lambda",
                        account=built_in_lambda_account,
                        resource="function",
                        resource_name=f"{kind}-*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for kind in BUILT_IN_LAMBDA_KINDS
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SageMakerLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=[
                    stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"{GROUND_TRUTH_LOG_GROUP_PREFIX}*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="SageMakerMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": GROUND_TRUTH_METRIC_NAMESPACES}},
            )
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
