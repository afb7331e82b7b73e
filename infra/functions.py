"""The LabelChain Lambdas, built by one factory so runtime, architecture, layer, logging, tracing and
environment cannot drift between them, each with its own role holding only what that function calls.

Every function runs the same asset (the ``labelchain`` package from ``lambdas/`` with its bytecode compiled
for the runtime, built by ``infra.lambda_code``, no Docker) on Python 3.13/arm64 with two layers — the
managed Powertools layer and LabelChain's own dependency layer (``build/lambda-deps``, filled by
``make setup``) — JSON logs into its own log group encrypted with the stack key, active X-Ray tracing, and
the environment contract of ``labelchain.settings.ENVIRONMENT_VARIABLES``.

What each role may do is granted in ``infra.function_permissions``, beside each grant's reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from aws_cdk.aws_dynamodb import ITable
from constructs import Construct

from infra.cfn_hygiene import depend_on_role_policy_only
from infra.config import DeploymentConfig
from infra.lambda_code import LAMBDA_ASSET_EXCLUDES, LAMBDA_RUNTIME, PROJECT_ROOT, lambda_code
from infra.nag import acknowledge, wildcard_finding
from labelchain.core import s3_layout
from labelchain.settings import (
    BOTO_CONNECT_TIMEOUT_SECONDS,
    BOTO_MAX_ATTEMPTS,
    BOTO_READ_TIMEOUT_SECONDS,
    ENVIRONMENT_VARIABLES,
)

LAMBDA_DEPS_DIR = PROJECT_ROOT / "build" / "lambda-deps"
"""The dependency layer's content: ``python/`` holds the packages (nh3, …) built for arm64/Python 3.13."""
HANDLER_PACKAGE = "labelchain.handlers"
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*")
"""Use of the stack key by a function: DynamoDB items of the table, SSE-KMS objects it writes (S3 asks
for a data key on upload and decrypts it for multipart and copies). CDK's ``grant_encrypt_decrypt`` adds
``kms:ReEncrypt*`` too, which neither service calls for these requests; no grant carries ``s3:Abort*``
where nothing uploads in parts, or S3 object-lock actions (CDK's ``grant_put`` would add them)."""

POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = f"AWSLambdaPowertoolsPythonV3-{LAMBDA_RUNTIME.name.replace('.', '')}-arm64"
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "labelchain",
    "POWERTOOLS_METRICS_NAMESPACE": "LabelChain",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}
PYTHON_ENVIRONMENT = {
    # The functions use no pydantic plugin; without this, pydantic's first model class scans every
    # installed distribution's entry points for plugins (importlib.metadata) on each cold start.
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
}


REQUIREMENTS_TXT = PROJECT_ROOT / "requirements.txt"


class LambdaDependenciesMissing(FileNotFoundError):
    """The dependency layer's directory was not built (``make setup`` builds it)."""


def lambda_dependencies_code(directory: Path = LAMBDA_DEPS_DIR) -> lambda_.Code:
    """The dependency layer's asset, or a clear failure at synth when ``make setup`` has not built it."""
    if not (directory / "python").is_dir():
        raise LambdaDependenciesMissing(
            f"the Lambda dependency layer is not built: {directory / 'python'} does not exist; "
            "run make setup (it installs LabelChain's Lambda dependencies there for arm64/Python 3.13)"
        )
    return lambda_.Code.from_asset(str(directory), exclude=LAMBDA_ASSET_EXCLUDES)


def powertools_version(requirements: Path = REQUIREMENTS_TXT) -> str:
    """The aws-lambda-powertools version requirements.txt pins: the one source of that fact."""
    match = re.search(
        r"^aws-lambda-powertools==([0-9][0-9a-z.]*)\s*$", requirements.read_text(), re.MULTILINE
    )
    if match is None:
        raise ValueError(f"{requirements} must pin aws-lambda-powertools==<version>")
    return match.group(1)


def powertools_ssm_parameter(version: str) -> str:
    """AWS's public SSM parameter holding the layer ARN of one Powertools release (arm64, the runtime's)."""
    return f"/aws/service/powertools/python/arm64/{LAMBDA_RUNTIME.name}/{version}"


def powertools_layer_arn(layer_version: int) -> str:
    """ARN of the managed Powertools layer in the deployment's own partition and region (tokens)."""
    return (
        f"arn:{Aws.PARTITION}:lambda:{Aws.REGION}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"{POWERTOOLS_LAYER_NAME}:{layer_version}"
    )


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between LabelChain functions; everything else comes from the factory."""

    construct_id: str
    module: str
    description: str
    memory_mb: int
    timeout: Duration

    @property
    def handler(self) -> str:
        """The import path Lambda calls; tests import exactly this path with ``lambdas/`` on sys.path."""
        return f"{HANDLER_PACKAGE}.{self.module}.handler"

    @property
    def name_suffix(self) -> str:
        """``create_job`` → ``create-job``: the function is named ``<resource prefix>-<name_suffix>``."""
        return self.module.replace("_", "-")


CREATE_JOB = FunctionSpec(
    construct_id="CreateJob",
    module="create_job",
    description="Validates the input and starts the labeling job",
    memory_mb=512,
    timeout=Duration.seconds(60),
)
WATCH_JOB = FunctionSpec(
    construct_id="WatchJob",
    module="watch_job",
    description="Arms WaitForJob: stores its task token on the job, resumes at once if the job ended",
    memory_mb=256,
    timeout=Duration.seconds(60),
)
FINALIZE_JOB = FunctionSpec(
    construct_id="FinalizeJob",
    module="finalize_job",
    description="Seals an ended job's record: model, counters, cost, iterations (idempotent)",
    memory_mb=1024,
    timeout=Duration.minutes(5),
)
JOB_EVENTS = FunctionSpec(
    construct_id="JobEvents",
    module="job_events",
    description="Ground Truth job state change: resumes the waiting execution (or finalizes the job)",
    memory_mb=1024,
    timeout=Duration.minutes(5),
)
EXECUTION_ENDED = FunctionSpec(
    construct_id="ExecutionEnded",
    module="execution_ended",
    description="An execution ended early: stops its labeling job (or child executions)",
    memory_mb=1024,
    timeout=Duration.minutes(5),
)
RECONCILE = FunctionSpec(
    construct_id="Reconcile",
    module="reconcile",
    description="Scheduled: progress and running cost of every running job; repairs drift",
    memory_mb=1024,
    timeout=Duration.minutes(10),
)
RECORD_FAILURE = FunctionSpec(
    construct_id="RecordFailure",
    module="record_failure",
    description="Stores why an execution failed",
    memory_mb=256,
    timeout=Duration.seconds(60),
)
RESOLVE_TRIGGER = FunctionSpec(
    construct_id="ResolveTrigger",
    module="resolve_trigger",
    description=(
        f"Turns a manifest dropped into {s3_layout.INCOMING_PREFIX}<project>/ into a LabelingJob input"
    ),
    memory_mb=256,
    timeout=Duration.seconds(60),
)
PREPARE_DATASET = FunctionSpec(
    construct_id="PrepareDataset",
    module="prepare_dataset",
    description="Checks and splits the experiment's manifest into parts (streamed)",
    memory_mb=1024,
    timeout=Duration.minutes(15),
)
COMPARE_JOBS = FunctionSpec(
    construct_id="CompareJobs",
    module="compare_jobs",
    description="Compares the experiment's jobs and writes the report",
    memory_mb=512,
    timeout=Duration.minutes(2),
)
LABELING_JOB_FUNCTION_SPECS: tuple[FunctionSpec, ...] = (
    CREATE_JOB,
    WATCH_JOB,
    FINALIZE_JOB,
    RECORD_FAILURE,
)
"""The functions the LabelingJob state machine invokes (each may describe the deployment's own jobs)."""
LIFECYCLE_FUNCTION_SPECS: tuple[FunctionSpec, ...] = (JOB_EVENTS, EXECUTION_ENDED, RECONCILE)
"""The functions EventBridge invokes to keep every job tracked (events, execution ends, the schedule)."""
FINALIZING_SPECS: tuple[FunctionSpec, ...] = (FINALIZE_JOB, *LIFECYCLE_FUNCTION_SPECS)
"""Functions that may finalize a job: they read its output and seal its record."""
RESUMING_SPECS: tuple[FunctionSpec, ...] = (WATCH_JOB, JOB_EVENTS, EXECUTION_ENDED, RECONCILE)
"""Functions that resume a waiting LabelingJob execution (SendTaskSuccess)."""
STOPPING_SPECS: tuple[FunctionSpec, ...] = (CREATE_JOB, EXECUTION_ENDED, RECONCILE)
"""Functions that stop a labeling job (StopLabelingJob): one whose execution is gone or whose budget is
spent, and — CreateJob — one that got its quota slot only after its execution had ended."""
NOTIFYING_SPECS: tuple[FunctionSpec, ...] = (CREATE_JOB, FINALIZE_JOB, JOB_EVENTS, EXECUTION_ENDED, RECONCILE)
"""Functions that publish job notifications (``source: labelchain``) to the default event bus."""
FUNCTION_SPECS: tuple[FunctionSpec, ...] = (
    *LABELING_JOB_FUNCTION_SPECS,
    *LIFECYCLE_FUNCTION_SPECS,
    RESOLVE_TRIGGER,
    PREPARE_DATASET,
    COMPARE_JOBS,
)
_READ_WRITE = ("dynamodb:GetItem", "dynamodb:PutItem")
_READ_WRITE_UPDATE = (*_READ_WRITE, "dynamodb:UpdateItem")
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    CREATE_JOB.construct_id: _READ_WRITE,  # job record (conditional put), model pointer and provenance
    WATCH_JOB.construct_id: _READ_WRITE_UPDATE,  # the task token (conditional update)
    FINALIZE_JOB.construct_id: _READ_WRITE_UPDATE,  # the sealed record, pointer, provenance
    JOB_EVENTS.construct_id: _READ_WRITE_UPDATE,
    EXECUTION_ENDED.construct_id: _READ_WRITE_UPDATE,
    RECONCILE.construct_id: (*_READ_WRITE_UPDATE, "dynamodb:Query"),  # the active-jobs index, snapshots
    RECORD_FAILURE.construct_id: _READ_WRITE_UPDATE,
    RESOLVE_TRIGGER.construct_id: _READ_WRITE,  # the upload's claim (conditional put) and its owner
    COMPARE_JOBS.construct_id: _READ_WRITE,  # the three job records, the comparison
}
"""The DynamoDB actions each function calls (adapters/store.py); PrepareDataset touches no table. Only the
reconciler queries (the sparse active-jobs index); no function scans, deletes or batches."""


def check_timeouts_cover_aws_calls(specs: tuple[FunctionSpec, ...] = FUNCTION_SPECS) -> None:
    """Every function outlives its slowest AWS call (attempts × (connect + read) timeouts), so a hung
    call ends as a retryable error inside the function instead of a Sandbox.Timedout."""
    worst = BOTO_MAX_ATTEMPTS * (BOTO_CONNECT_TIMEOUT_SECONDS + BOTO_READ_TIMEOUT_SECONDS)
    for spec in specs:
        if spec.timeout.to_seconds() <= worst:
            raise ValueError(f"{spec.construct_id}: timeout must exceed {worst} s (the boto3 call budget)")


@dataclass(frozen=True)
class FunctionDependencies:
    """The stack resources the functions read, write or name in their environment."""

    key: kms.IKey
    table: ITable
    data_bucket: s3.IBucket
    output_bucket: s3.IBucket
    ground_truth_role: iam.IRole


class LabelChainFunctions(Construct):
    """Creates every LabelChain function; ``self.<name>`` is each one, ``self.roles`` their roles."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        dependencies: FunctionDependencies,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._code = lambda_code(self)
        layer_arn = (
            # Resolved by CloudFormation at deploy time (a dynamic SSM parameter): no AWS call at synth.
            ssm.StringParameter.value_for_string_parameter(
                self, powertools_ssm_parameter(powertools_version())
            )
            if config.powertools_layer_version == "ssm"
            else powertools_layer_arn(config.powertools_layer_version)
        )
        self._layers = [
            lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", layer_arn),
            lambda_.LayerVersion(
                self,
                "DependenciesLayer",
                code=lambda_dependencies_code(),
                compatible_runtimes=[LAMBDA_RUNTIME],
                compatible_architectures=[lambda_.Architecture.ARM_64],
                description="LabelChain: runtime dependencies beyond Powertools (build/lambda-deps)",
            ),
        ]
        self._key = dependencies.key
        self._environment = {
            **self._labelchain_environment(config, dependencies),
            **POWERTOOLS_ENVIRONMENT,
            **PYTHON_ENVIRONMENT,
        }
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}

        check_timeouts_cover_aws_calls()
        self.create_job = self._function(CREATE_JOB)
        self.watch_job = self._function(WATCH_JOB)
        self.finalize_job = self._function(FINALIZE_JOB)
        self.job_events = self._function(JOB_EVENTS)
        self.execution_ended = self._function(EXECUTION_ENDED)
        self.reconcile = self._function(RECONCILE)
        self.record_failure = self._function(RECORD_FAILURE)
        self.resolve_trigger = self._function(RESOLVE_TRIGGER)
        self.prepare_dataset = self._function(PREPARE_DATASET)
        self.compare_jobs = self._function(COMPARE_JOBS)

    @property
    def by_construct_id(self) -> dict[str, lambda_.Function]:
        """Every function by its construct id."""
        return {
            CREATE_JOB.construct_id: self.create_job,
            WATCH_JOB.construct_id: self.watch_job,
            FINALIZE_JOB.construct_id: self.finalize_job,
            JOB_EVENTS.construct_id: self.job_events,
            EXECUTION_ENDED.construct_id: self.execution_ended,
            RECONCILE.construct_id: self.reconcile,
            RECORD_FAILURE.construct_id: self.record_failure,
            RESOLVE_TRIGGER.construct_id: self.resolve_trigger,
            PREPARE_DATASET.construct_id: self.prepare_dataset,
            COMPARE_JOBS.construct_id: self.compare_jobs,
        }

    @staticmethod
    def _labelchain_environment(config: DeploymentConfig, deps: FunctionDependencies) -> dict[str, str]:
        values = {
            "resource_prefix": config.resource_prefix,
            "table_name": deps.table.table_name,
            "data_bucket": deps.data_bucket.bucket_name,
            "output_bucket": deps.output_bucket.bucket_name,
            "kms_key_arn": deps.key.key_arn,
            "ground_truth_role_arn": deps.ground_truth_role.role_arn,
            "default_prices": config.default_prices_json,
            "on_execution_failure": config.on_execution_failure,
            "reconcile_interval_minutes": str(config.reconcile_interval_minutes),
            "project_budgets": config.project_budgets_json,
            "stalled_job_hours": str(config.stalled_job_hours),
            "source_ref_scope": config.source_ref_scope,
        }
        if values.keys() != ENVIRONMENT_VARIABLES.keys():
            missing = sorted(ENVIRONMENT_VARIABLES.keys() - values.keys())
            unknown = sorted(values.keys() - ENVIRONMENT_VARIABLES.keys())
            raise ValueError(
                "Lambda environment out of step with labelchain.settings.ENVIRONMENT_VARIABLES: "
                f"missing {missing}, unknown {unknown}"
            )
        return {ENVIRONMENT_VARIABLES[field]: value for field, value in values.items()}

    def _function(self, spec: FunctionSpec) -> lambda_.Function:
        """The one factory: every LabelChain function is built here."""
        log_group = logs.LogGroup(
            self,
            f"{spec.construct_id}Logs",
            retention=self._config.log_retention,
            removal_policy=self._config.cdk_removal_policy,
            encryption_key=self._key,
        )
        role = iam.Role(
            self,
            f"{spec.construct_id}Role",
            description=f"LabelChain {spec.module}: only what this function calls",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            spec.construct_id,
            function_name=f"{self._config.resource_prefix}-{spec.name_suffix}",
            description=f"LabelChain: {spec.description}",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=self._code,
            handler=spec.handler,
            layers=self._layers,
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            environment=self._environment,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
        )
        depend_on_role_policy_only(function, role)
        acknowledge(
            role,
            wildcard_finding("Resource::*"),
            "Active X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords "
            "support no resource-level permissions, so AWS requires Resource '*'.",
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            f"Pinned to {LAMBDA_RUNTIME.name} on purpose: the functions import Powertools from the managed "
            f"layer {POWERTOOLS_LAYER_NAME}, built for exactly this runtime; the runtime and the layer move "
            "together in one reviewed change.",
        )
        self.roles[spec.construct_id] = role
        self.log_groups[spec.construct_id] = log_group
        return function
