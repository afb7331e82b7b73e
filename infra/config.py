"""Deployment settings: the typed, validated view of the CDK context (``cdk.json`` + ``-c`` overrides).

Context values arrive untyped: from ``cdk.json`` as JSON, from ``cdk deploy -c key=value`` as strings. This
module turns them into one frozen model, or fails synth with a message naming every offending key, so a
typo in a deployment setting never becomes a half-configured stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labelchain.core.prices import prices_from_json
from labelchain.settings import Settings

RESOURCE_PREFIX_KEY = "resource_prefix"
POWERTOOLS_LAYER_VERSION_KEY = "powertools_layer_version"
DEFAULT_PRICES_KEY = "default_prices"
REMOVAL_POLICY_KEY = "removal_policy"
LOG_RETENTION_DAYS_KEY = "log_retention_days"

RECONCILE_INTERVAL_MINUTES_KEY = "reconcile_interval_minutes"
ON_EXECUTION_FAILURE_KEY = "on_execution_failure"
CREATE_QUEUE_MAX_HOURS_KEY = "create_queue_max_hours"
WAIT_REARM_HOURS_KEY = "wait_rearm_hours"
PROJECT_BUDGETS_KEY = "project_budgets_usd"
NOTIFICATION_EMAILS_KEY = "notification_emails"
STALLED_JOB_HOURS_KEY = "stalled_job_hours"
NONCURRENT_VERSION_EXPIRATION_DAYS_KEY = "noncurrent_version_expiration_days"
SOURCE_REF_SCOPE_KEY = "source_ref_scope"
CONTEXT_KEYS: tuple[str, ...] = (
    RESOURCE_PREFIX_KEY,
    POWERTOOLS_LAYER_VERSION_KEY,
    DEFAULT_PRICES_KEY,
    REMOVAL_POLICY_KEY,
    LOG_RETENTION_DAYS_KEY,
    RECONCILE_INTERVAL_MINUTES_KEY,
    ON_EXECUTION_FAILURE_KEY,
    CREATE_QUEUE_MAX_HOURS_KEY,
    WAIT_REARM_HOURS_KEY,
    PROJECT_BUDGETS_KEY,
    NOTIFICATION_EMAILS_KEY,
    STALLED_JOB_HOURS_KEY,
    NONCURRENT_VERSION_EXPIRATION_DAYS_KEY,
    SOURCE_REF_SCOPE_KEY,
)
"""The context keys LabelChain reads; ``cdk.json`` sets each one."""

_RESOURCE_PREFIX_RULES = Settings.model_fields["resource_prefix"].metadata
"""The Lambdas validate the prefix with these same constraints at cold start: one rule, two readers."""

_LOG_RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
"""The retention periods CloudWatch Logs accepts (``PutRetentionPolicy``), by number of days."""


class RemovalPolicyChoice(StrEnum):
    """What ``cdk destroy`` does to the data (key, buckets, table, log groups)."""

    RETAIN = "retain"
    DESTROY = "destroy"


class DeploymentConfig(BaseModel):
    """Everything the stack needs to know about one deployment, validated once at synth."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    resource_prefix: Annotated[str, *_RESOURCE_PREFIX_RULES] = Field(
        default="labelchain",
        description="Prefix of named resources and of every labeling job this stack may create or read.",
    )
    powertools_layer_version: int | Literal["ssm"] = Field(
        description=(
            '"ssm": the managed layer that carries requirements.txt\'s aws-lambda-powertools, resolved at '
            "deploy time from AWS's public SSM parameter; or a version N of "
            "AWSLambdaPowertoolsPythonV3-python313-arm64:N to pin one by hand."
        ),
    )
    default_prices: dict[str, Any] = Field(
        default_factory=dict,
        description="Price-table overrides handed to the Lambdas as JSON; {} keeps the code defaults.",
    )
    removal_policy: RemovalPolicyChoice = Field(default=RemovalPolicyChoice.RETAIN)
    log_retention_days: int = Field(default=90)
    reconcile_interval_minutes: Annotated[
        int, *Settings.model_fields["reconcile_interval_minutes"].metadata
    ] = Field(
        default=15,
        description="How often the reconciler runs (progress snapshots, running cost, the safety net for "
        "lost events); a lost event is made up for within this interval.",
    )
    on_execution_failure: Literal["stop", "adopt"] = Field(
        default="stop",
        description="A job whose execution FAILED: 'stop' it, or 'adopt' it (the reconciler finalizes it "
        "when it ends). ABORTED and TIMED_OUT executions always stop their job.",
    )
    create_queue_max_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 30,
        description="How long CreateJob keeps retrying while SageMaker refuses the job for the account's "
        "concurrent-job quota (ResourceLimitExceeded) before the execution fails.",
    )
    project_budgets_usd: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Default budget (USD) per project for jobs whose input sets no budget_usd: the "
        "reconciler warns at 80 % and stops the job at 100 %.",
    )
    notification_emails: list[str] = Field(
        default_factory=list,
        description="E-mail addresses subscribed to the notifications topic (each confirms by e-mail).",
    )
    stalled_job_hours: int = Field(
        default=12,
        ge=1,
        le=24 * 30,
        description="The 'job without progress' alarm fires when running jobs label nothing for this long.",
    )
    wait_rearm_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 7,
        description="WaitForJob re-arms (a new task token and one look at the job) after this long without "
        "news: the last safety net if both the event and the reconciler fail.",
    )

    noncurrent_version_expiration_days: int = Field(
        default=30,
        ge=1,
        le=3653,
        description="Days after which a replaced or deleted object version expires in the data, output "
        "and access-log buckets (S3 lifecycle NoncurrentVersionExpiration).",
    )
    source_ref_scope: Literal["bucket", "project"] = Field(
        default="bucket",
        description="Where a manifest line's source-ref may point: 'bucket' (anywhere in the data bucket "
        "outside LabelChain's reserved prefixes) or 'project' (only under the job's own project prefix).",
    )

    @field_validator("powertools_layer_version", mode="before")
    @classmethod
    def _ssm_or_layer_number(cls, value: object) -> object:
        """``"ssm"``, or a layer version (``-c`` delivers it as a string)."""
        if value == "ssm":
            return value
        text = str(value)
        if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
            raise ValueError(f'must be "ssm" or a layer version number (an integer ≥ 1), got {value!r}')
        return int(text)

    @field_validator("noncurrent_version_expiration_days", mode="before")
    @classmethod
    def _whole_days(cls, value: object) -> object:
        """A number of days (``-c`` delivers it as a string); a boolean is not one."""
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"must be a whole number of days, got {value!r}")
        return value

    @model_validator(mode="after")
    def _queued_manifest_versions_outlive_the_queue(self) -> DeploymentConfig:
        """CreateJob reads the manifest version it was started with, possibly after queueing for
        ``create_queue_max_hours``: that version must not expire first if the key is overwritten."""
        if self.noncurrent_version_expiration_days * 24 <= self.create_queue_max_hours:
            raise ValueError(
                f"{NONCURRENT_VERSION_EXPIRATION_DAYS_KEY} ({self.noncurrent_version_expiration_days} days) "
                f"must exceed {CREATE_QUEUE_MAX_HOURS_KEY} ({self.create_queue_max_hours} h): a queued job "
                "still reads the manifest version it was started with"
            )
        return self

    @field_validator("default_prices", "project_budgets_usd", mode="before")
    @classmethod
    def _parse_json_object(cls, value: object) -> object:
        """``-c key='{...}'`` arrives as a string; ``cdk.json`` gives an object."""
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not valid JSON ({exc.msg})") from exc
        return value

    @field_validator("default_prices")
    @classmethod
    def _valid_price_overrides(cls, value: dict[str, Any]) -> dict[str, Any]:
        """The Lambdas build their price table from this: refuse at synth what they would refuse."""
        prices_from_json(json.dumps(value))  # raises ValueError naming the bad key
        return value

    @field_validator("removal_policy", mode="before")
    @classmethod
    def _normalise_removal_policy(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_retention_days")
    @classmethod
    def _check_log_retention(cls, value: int) -> int:
        if value not in _LOG_RETENTION_BY_DAYS:
            allowed = ", ".join(str(days) for days in _LOG_RETENTION_BY_DAYS)
            raise ValueError(f"must be a CloudWatch Logs retention period in days: one of {allowed}")
        return value

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        """The CDK removal policy for resources that hold data."""
        return (
            RemovalPolicy.RETAIN
            if self.removal_policy is RemovalPolicyChoice.RETAIN
            else RemovalPolicy.DESTROY
        )

    @property
    def log_retention(self) -> logs.RetentionDays:
        """The CloudWatch Logs retention for every log group of the stack."""
        return _LOG_RETENTION_BY_DAYS[self.log_retention_days]

    @field_validator("project_budgets_usd")
    @classmethod
    def _positive_budgets(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        bad = sorted(project for project, usd in value.items() if usd <= 0)
        if bad:
            raise ValueError(f"budgets must be positive amounts of USD; not for {', '.join(bad)}")
        return value

    @field_validator("notification_emails", mode="before")
    @classmethod
    def _emails_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("notification_emails")
    @classmethod
    def _emails_look_like_emails(cls, value: list[str]) -> list[str]:
        bad = [email for email in value if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return value

    @property
    def project_budgets_json(self) -> str:
        """The per-project budgets as the JSON the Lambdas read (LABELCHAIN_PROJECT_BUDGETS)."""
        return json.dumps(
            {p: str(usd) for p, usd in sorted(self.project_budgets_usd.items())}, separators=(",", ":")
        )

    @property
    def default_prices_json(self) -> str:
        """``default_prices`` as the compact, key-sorted JSON the Lambdas read from their environment."""
        return json.dumps(self.default_prices, sort_keys=True, separators=(",", ":"))


class ContextError(ValueError):
    """The CDK context holds a missing or invalid LabelChain setting; the message names each key."""


def config_from_context(context: Mapping[str, Any]) -> DeploymentConfig:
    """Validate the LabelChain keys of a CDK context mapping (other keys, e.g. feature flags, are ignored)."""
    values = {key: context[key] for key in CONTEXT_KEYS if context.get(key) is not None}
    try:
        return DeploymentConfig(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"context key '{'.'.join(str(part) for part in error['loc'])}': {error['msg']}"
            if error["loc"]
            else error["msg"]  # a rule across keys names them itself
            for error in exc.errors()
        )
        raise ContextError(f"invalid LabelChain context in cdk.json or -c: {problems}") from exc
