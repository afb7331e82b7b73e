"""The LabelChain stack: composes the constructs and publishes what operators need as outputs.

Environment-agnostic on purpose: no account or region is looked up at synth, every ARN is built from
CloudFormation pseudo parameters, so one synthesized template deploys anywhere.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import DeploymentConfig
from infra.experiment_workflow import ExperimentWorkflow
from infra.function_permissions import grant_function_permissions
from infra.functions import FunctionDependencies, LabelChainFunctions
from infra.ground_truth_role import GroundTruthRole
from infra.labeling_job_workflow import LabelingJobWorkflow
from infra.lifecycle import EventDeadLetters, JobLifecycle
from infra.monitoring import Monitoring
from infra.storage import LabelChainStorage
from infra.table import LabelChainTable
from infra.triggers import ManifestTrigger

STACK_ID = "LabelChain"
"""Construct id of the stack, hence ``cdk.out/LabelChain.template.json``."""


class LabelChainStack(Stack):
    """Storage, table, Ground Truth role, functions, the workflows, their lifecycle and monitoring."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self._storage_and_roles(config)
        self._functions(config)
        self._workflows(config)
        self._events_and_monitoring(config)
        self._outputs()

    def _storage_and_roles(self, config: DeploymentConfig) -> None:
        """The key and buckets, the job table, and the role Ground Truth runs jobs with."""
        self.storage = LabelChainStorage(
            self,
            "Storage",
            removal_policy=config.cdk_removal_policy,
            noncurrent_version_expiration_days=config.noncurrent_version_expiration_days,
        )
        self.jobs = LabelChainTable(
            self, "Jobs", key=self.storage.key, removal_policy=config.cdk_removal_policy
        )
        self.ground_truth = GroundTruthRole(
            self,
            "GroundTruth",
            data_bucket=self.storage.data_bucket,
            output_bucket=self.storage.output_bucket,
            key=self.storage.key,
            resource_prefix=config.resource_prefix,
        )

    def _functions(self, config: DeploymentConfig) -> None:
        """Every function and what each one's role may do."""
        dependencies = FunctionDependencies(
            key=self.storage.key,
            table=self.jobs.table,
            data_bucket=self.storage.data_bucket,
            output_bucket=self.storage.output_bucket,
            ground_truth_role=self.ground_truth.role,
        )
        self.functions = LabelChainFunctions(self, "Functions", config=config, dependencies=dependencies)
        grant_function_permissions(self.functions, dependencies, config)

    def _workflows(self, config: DeploymentConfig) -> None:
        """The LabelingJob state machine and the Experiment that nests it."""
        self.labeling_job = LabelingJobWorkflow(
            self, "LabelingJob", config=config, functions=self.functions, encryption_key=self.storage.key
        )
        self.experiment = ExperimentWorkflow(
            self,
            "Experiment",
            config=config,
            functions=self.functions,
            encryption_key=self.storage.key,
            labeling_job=self.labeling_job.state_machine,
        )

    def _events_and_monitoring(self, config: DeploymentConfig) -> None:
        """The manifest trigger, the job lifecycle rules, their dead letters, alarms and dashboard."""
        self.dead_letters = EventDeadLetters(self, "EventDeadLetters", key=self.storage.key)
        self.trigger = ManifestTrigger(
            self,
            "Trigger",
            data_bucket=self.storage.data_bucket,
            labeling_job=self.labeling_job.state_machine,
            dead_letters=self.dead_letters,
        )
        self.lifecycle = JobLifecycle(
            self,
            "Lifecycle",
            config=config,
            functions=self.functions,
            state_machines=[self.labeling_job.state_machine, self.experiment.state_machine],
            dead_letters=self.dead_letters,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            key=self.storage.key,
            functions=self.functions,
            state_machines={
                "LabelingJob": self.labeling_job.state_machine,
                "Experiment": self.experiment.state_machine,
            },
            dead_letters=self.dead_letters,
        )

    def _outputs(self) -> None:
        outputs = {
            "DataBucketName": (self.storage.data_bucket.bucket_name, "Upload manifests and images here"),
            "OutputBucketName": (
                self.storage.output_bucket.bucket_name,
                "Ground Truth writes job output here",
            ),
            "AccessLogBucketName": (self.storage.access_log_bucket.bucket_name, "S3 server access logs"),
            "KmsKeyArn": (self.storage.key.key_arn, "Customer managed key of the buckets and the table"),
            "TableName": (self.jobs.table.table_name, "Jobs, progress snapshots, models and metrics"),
            "LabelingJobStateMachineArn": (
                self.labeling_job.state_machine.state_machine_arn,
                "Start one labeling job by starting an execution of this state machine",
            ),
            "ExperimentStateMachineArn": (
                self.experiment.state_machine.state_machine_arn,
                "Start the seed experiment (initial, pretrained and control jobs) here",
            ),
            "GroundTruthRoleArn": (self.ground_truth.role.role_arn, "Execution role of the labeling jobs"),
            "EventDeadLetterQueueUrl": (
                self.dead_letters.queue.queue_url,
                "Events EventBridge could not deliver to LabelChain (should stay empty)",
            ),
            "NotificationTopicArn": (
                self.monitoring.topic.topic_arn,
                "Job notifications and alarms; subscribe here (notification_emails subscribes e-mail)",
            ),
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "The CloudWatch dashboard"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
