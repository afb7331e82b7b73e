"""The execution role SageMaker Ground Truth assumes to run LabelChain's labeling jobs.

Ground Truth uses it to read the input (manifest, images, label-category file, UI template) from the data
bucket, to write the output bucket, and, for automated data labeling, to run the active-learning loop in
this account: training jobs, batch-transform (inference) jobs and the models they produce, each started
with this same role (hence ``iam:PassRole`` of itself to SageMaker), plus CloudWatch logs and metrics.

Only ``sagemaker.amazonaws.com`` acting for this account (``aws:SourceAccount``) may assume it. Every
statement that needs a wildcard is acknowledged, with its reason, in ``infra/nag.py``.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, CfnMapping, CfnRule, CfnRuleAssertion, Fn, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from labelchain.core.regions import GROUND_TRUTH_LAMBDA_ACCOUNTS, SUPPORTED_REGIONS

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
GROUND_TRUTH_LOG_GROUP_PREFIX = "/aws/sagemaker/"
GROUND_TRUTH_METRIC_NAMESPACES = ["/aws/sagemaker/*"]
BUILT_IN_LAMBDA_KINDS = ("PRE", "ACS")


class GroundTruthRole(Construct):
    """The role passed as ``RoleArn`` to ``CreateLabelingJob``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, data_bucket: s3.IBucket, output_bucket: s3.IBucket
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
        # Input: manifest, images, label-category file and UI template. Output: everything the job writes
        # (read back between active-learning iterations; never deleted). The grants include the key usage
        # of the KMS-encrypted buckets.
        data_bucket.grant_read(self.role)
        output_bucket.grant_read(self.role)
        output_bucket.grant_put(self.role)

        def sagemaker_arn(resource: str) -> str:
            return stack.format_arn(service="sagemaker", resource=resource, resource_name="*")

        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="AutoLabelingTrainingAndInference",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                ],
                resources=[
                    sagemaker_arn("training-job"),
                    sagemaker_arn("transform-job"),
                    sagemaker_arn("model"),
                ],
            )
        )
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
