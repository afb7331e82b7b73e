"""What each LabelChain function's role may do, each grant beside the reason it is needed.

Grants use CDK's helpers where they are exact (``table.grant`` with the function's own DynamoDB
actions, ``bucket.grant_read``) and ``infra.permissions.allow`` elsewhere; either way every wildcard is
acknowledged for cdk-nag right here, with the grant's reason. S3 key patterns come from
``labelchain.core.s3_layout``, the module the services build their keys with.

State machine and execution ARNs are built from the fixed state machine name (``<prefix>-labeling-job``),
not referenced: the state machine already depends on these functions, a reference would make the
template circular.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam

from infra.config import DeploymentConfig
from infra.functions import (
    COMPARE_JOBS,
    CREATE_JOB,
    EXECUTION_ENDED,
    FINALIZING_SPECS,
    JOB_EVENTS,
    KEY_USE_ACTIONS,
    LABELING_JOB_FUNCTION_SPECS,
    LIFECYCLE_FUNCTION_SPECS,
    NOTIFYING_SPECS,
    PREPARE_DATASET,
    RECONCILE,
    RESUMING_SPECS,
    STOPPING_SPECS,
    TABLE_ACTIONS,
    FunctionDependencies,
    FunctionSpec,
    LabelChainFunctions,
)
from infra.permissions import acknowledge_grant, allow
from labelchain.core import s3_layout
from labelchain.core.naming import LABELING_JOB_STATE_MACHINE_SUFFIX, state_machine_name
from labelchain.core.notifications import NOTIFICATION_SOURCE


def grant_function_permissions(
    functions: LabelChainFunctions, deps: FunctionDependencies, config: DeploymentConfig
) -> None:
    """Every function's permissions: table and key, labeling jobs, executions, S3, notifications."""
    grants = _FunctionGrants(functions, deps, config)
    grants.table_and_key()
    grants.labeling_jobs()
    grants.executions()
    grants.notifications()
    grants.create_job_files()
    grants.experiment_files()
    grants.job_output_reads()


class _FunctionGrants:
    """One method per concern; ``self._roles`` holds each function's role by construct id."""

    def __init__(
        self, functions: LabelChainFunctions, deps: FunctionDependencies, config: DeploymentConfig
    ) -> None:
        self._roles: dict[str, iam.Role] = functions.roles
        self._deps = deps
        self._config = config
        self._stack = Stack.of(functions)

    def _role(self, spec: FunctionSpec) -> iam.Role:
        return self._roles[spec.construct_id]

    def table_and_key(self) -> None:
        """Each function's own DynamoDB actions on the job table; the stack key for its items and its
        SSE-KMS objects (PrepareDataset touches no table but writes SSE-KMS manifest parts)."""
        deps = self._deps
        for construct_id, actions in TABLE_ACTIONS.items():
            role = self._roles[construct_id]
            acknowledge_grant(
                role,
                deps.table.grant(role, *actions),
                "table.grant(<the function's own DynamoDB actions>) on the LabelChain job table: CDK adds "
                "the table's own indexes (gsi1) to the resources; the wildcard covers only that table's "
                "indexes.",
            )
        for construct_id in {*TABLE_ACTIONS, PREPARE_DATASET.construct_id}:
            role = self._roles[construct_id]
            acknowledge_grant(
                role,
                deps.key.grant(role, *KEY_USE_ACTIONS),
                "Key use (infra.functions.KEY_USE_ACTIONS) on the stack's own customer managed key, the "
                "statement's only resource: DynamoDB and S3 ask for data keys to write this function's "
                "items and SSE-KMS objects.",
            )

    def labeling_jobs(self) -> None:
        """Describe, create (CreateJob) and stop the deployment's own labeling jobs, ``<prefix>-*``."""
        jobs = self._stack.format_arn(
            service="sagemaker", resource="labeling-job", resource_name=f"{self._config.resource_prefix}-*"
        )
        per_run = (
            f"job names are derived per execution, so the ARN ends in a wildcard, limited to jobs named "
            f"'{self._config.resource_prefix}-*' in this account and region."
        )
        for spec in (*LABELING_JOB_FUNCTION_SPECS, *LIFECYCLE_FUNCTION_SPECS):
            allow(
                self._role(spec),
                sid="DescribeOwnLabelingJobs",
                actions=["sagemaker:DescribeLabelingJob"],
                resources=[jobs],
                why=f"sagemaker:DescribeLabelingJob of the job this function tracks: {per_run}",
            )
        for spec in STOPPING_SPECS:
            allow(
                self._role(spec),
                sid="StopOwnLabelingJobs",
                actions=["sagemaker:StopLabelingJob"],
                resources=[jobs],
                why="Stops a job whose execution is gone or whose budget is spent (CreateJob: one that got "
                f"its quota slot only after its execution ended): {per_run}",
            )
        allow(
            self._role(CREATE_JOB),
            sid="CreateOwnLabelingJobs",
            actions=["sagemaker:CreateLabelingJob", "sagemaker:AddTags"],
            resources=[jobs],
            why=f"create_job starts the labeling job with its tags: {per_run}",
        )
        allow(
            self._role(CREATE_JOB),
            sid="PassGroundTruthRoleToSageMaker",
            actions=["iam:PassRole"],
            resources=[self._deps.ground_truth_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            why="create_job passes the Ground Truth execution role, and only to SageMaker.",
        )

    def executions(self) -> None:
        """Resume the waiting LabelingJob execution, read an execution's status, stop an Experiment's
        child executions."""
        machine = state_machine_name(self._config.resource_prefix, LABELING_JOB_STATE_MACHINE_SUFFIX)
        machine_arn = self._stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=machine,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        executions_arn = self._stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{machine}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        per_run = "on executions of this stack's LabelingJob state machine only; execution names are per run."
        for spec in RESUMING_SPECS:
            allow(
                self._role(spec),
                sid="ResumeWaitingLabelingJobExecution",
                actions=["states:SendTaskSuccess"],
                resources=[machine_arn],
                why="Resumes the LabelingJob execution waiting for its job (task token).",
            )
        for spec in (JOB_EVENTS, EXECUTION_ENDED, RECONCILE):
            allow(
                self._role(spec),
                sid="ReadLabelingJobExecutionStatus",
                actions=["states:DescribeExecution"],
                resources=[executions_arn],
                why=f"states:DescribeExecution of the execution that owns a job, {per_run}",
            )
        allow(
            self._role(EXECUTION_ENDED),
            sid="StopExperimentChildExecutions",
            actions=["states:StopExecution"],
            resources=[executions_arn],
            why=f"execution_ended stops an ended Experiment's child LabelingJob executions, {per_run}",
        )

    def notifications(self) -> None:
        """Job notifications: one event per transition on the account's default bus."""
        default_bus = self._stack.format_arn(service="events", resource="event-bus", resource_name="default")
        for spec in NOTIFYING_SPECS:
            allow(
                self._role(spec),
                sid="PublishJobNotifications",
                actions=["events:PutEvents"],
                resources=[default_bus],
                conditions={"StringEquals": {"events:source": NOTIFICATION_SOURCE}},
                why="Publishes job notifications (source labelchain) to the default event bus.",
            )

    def create_job_files(self) -> None:
        """CreateJob checks the manifest (the version it was started with), copies that version and writes
        the label-category file and UI template: exactly ``s3_layout.JOB_FILE_NAMES``."""
        role, data = self._role(CREATE_JOB), self._deps.data_bucket
        acknowledge_grant(
            role,
            data.grant_read(role),
            "bucket.grant_read of the data bucket: create_job reads the input manifest and its versions "
            "(head, version copy with its tags), which the caller may place anywhere in this bucket; "
            "read-only, this bucket only.",
        )
        # PutObject (PutObject and CopyObject); PutObjectTagging because CopyObject copies the source
        # version's tags (TaggingDirective COPY, its default).
        allow(
            role,
            sid="WriteJobFiles",
            actions=["s3:PutObject", "s3:PutObjectTagging"],
            resources=[
                data.arn_for_objects(f"{s3_layout.LABELCHAIN_PREFIX}*/{name}")
                for name in s3_layout.JOB_FILE_NAMES
            ],
            why="create_job writes each job's input-manifest copy, label-category file and UI template under "
            f"{s3_layout.LABELCHAIN_PREFIX}<project>/<job>/ of the data bucket (these three names only); "
            "project and job names are per job.",
        )

    def experiment_files(self) -> None:
        """PrepareDataset streams the experiment's manifest and writes its parts (multipart, so it may
        abort; a part committed before a later one fails is deleted); CompareJobs writes the report."""
        role, data = self._role(PREPARE_DATASET), self._deps.data_bucket
        acknowledge_grant(
            role,
            data.grant_read(role),
            "bucket.grant_read of the data bucket: prepare_dataset streams the experiment's input "
            "manifest, which the caller may place anywhere in this bucket; read-only, this bucket only.",
        )
        allow(
            role,
            sid="WriteManifestParts",
            actions=["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
            resources=[data.arn_for_objects(f"{s3_layout.EXPERIMENT_PARTS_PREFIX}*")],
            why="prepare_dataset writes (multipart, so it may abort) and, when the next part fails, deletes "
            f"each experiment's manifest parts under {s3_layout.EXPERIMENT_PARTS_PREFIX}<project>/"
            "<execution>/ of the data bucket; object names are per execution.",
        )
        allow(
            self._role(COMPARE_JOBS),
            sid="WriteExperimentReports",
            actions=["s3:PutObject"],
            resources=[self._deps.output_bucket.arn_for_objects(f"{s3_layout.REPORTS_PREFIX}*")],
            why="compare_jobs writes the report files under "
            f"{s3_layout.REPORTS_PREFIX}<project>/<execution>/ of the output bucket (PutObject only); "
            "object names are per execution.",
        )

    def job_output_reads(self) -> None:
        """Finalizing a job lists and reads what Ground Truth wrote under ``jobs/`` (the key use is
        granted with the table's); nothing else of the output bucket."""
        output = self._deps.output_bucket
        for spec in FINALIZING_SPECS:
            allow(
                self._role(spec),
                sid="ListJobOutput",
                actions=["s3:ListBucket"],
                resources=[output.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{s3_layout.JOB_OUTPUT_PREFIX}*"]}},
                why="Lists one job's output files (ListObjectsV2 with the job's prefix) under "
                f"{s3_layout.JOB_OUTPUT_PREFIX} of the output bucket.",
            )
            allow(
                self._role(spec),
                sid="ReadJobOutput",
                actions=["s3:GetObject"],
                resources=[output.arn_for_objects(f"{s3_layout.JOB_OUTPUT_PREFIX}*")],
                why="finalizing a job reads the output Ground Truth writes under "
                f"{s3_layout.JOB_OUTPUT_PREFIX}<project>/<job name>/ (manifests, annotations, worker "
                "responses); read-only (GetObject), output bucket only, never the reports.",
            )
