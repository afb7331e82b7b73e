"""Typed Lambda configuration, read from the environment once per cold start.

The CDK Lambda factory sets exactly these variables (``ENVIRONMENT_VARIABLES`` is the contract both
sides read); a missing or malformed one fails the cold start with a message naming the variable,
instead of failing later inside a labeling job.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError

from labelchain.core.models import StrictModel
from labelchain.core.strict_json import loads_strict
from labelchain.core.validation import Wording, describe_validation_error
from labelchain.errors import ConfigurationError

ENVIRONMENT_VARIABLES: dict[str, str] = {
    "resource_prefix": "LABELCHAIN_RESOURCE_PREFIX",
    "table_name": "LABELCHAIN_TABLE_NAME",
    "data_bucket": "LABELCHAIN_DATA_BUCKET",
    "output_bucket": "LABELCHAIN_OUTPUT_BUCKET",
    "kms_key_arn": "LABELCHAIN_KMS_KEY_ARN",
    "ground_truth_role_arn": "LABELCHAIN_GROUND_TRUTH_ROLE_ARN",
    "default_prices": "LABELCHAIN_DEFAULT_PRICES",
    "on_execution_failure": "LABELCHAIN_ON_EXECUTION_FAILURE",
    "reconcile_interval_minutes": "LABELCHAIN_RECONCILE_INTERVAL_MINUTES",
    "project_budgets": "LABELCHAIN_PROJECT_BUDGETS",
    "stalled_job_hours": "LABELCHAIN_STALLED_JOB_HOURS",
    "source_ref_scope": "LABELCHAIN_SOURCE_REF_SCOPE",
}
"""Settings field → environment variable. ``infra/`` imports this mapping, so names cannot drift."""

BOTO_CONNECT_TIMEOUT_SECONDS = 3
BOTO_READ_TIMEOUT_SECONDS = 10
BOTO_MAX_ATTEMPTS = 3
BOTO_MAX_POOL_CONNECTIONS = 20
"""Above the reconciler's 16 worker threads (services/reconcile.MAX_WORKERS), so they share one client
without the pool discarding connections (botocore's default pool is 10)."""
"""A hung AWS call gives up well inside every function's timeout (infra/functions.py checks that
``BOTO_MAX_ATTEMPTS × (connect + read)`` is below each timeout): botocore's default 60 s read timeout
would outlive a 30 s Lambda, which then dies with Sandbox.Timedout instead of a retryable error."""


class Settings(StrictModel):
    """What every LabelChain Lambda needs to know about its deployment."""

    resource_prefix: str = Field(pattern=r"^[a-z][a-z0-9-]{1,20}$")
    table_name: str = Field(min_length=3)
    data_bucket: str = Field(min_length=3)
    output_bucket: str = Field(min_length=3)
    kms_key_arn: str = Field(pattern=r"^arn:aws[a-z-]*:kms:")
    ground_truth_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/")
    default_prices: str = Field(
        default="{}", description="JSON object of price overrides from cdk.json (see core.prices)"
    )
    on_execution_failure: Literal["stop", "adopt"] = Field(
        default="stop",
        description="What happens to a running job whose execution FAILED (ABORTED and TIMED_OUT always "
        "stop it): 'stop' it, or 'adopt' it (the reconciler watches it to its end and finalizes it)",
    )
    reconcile_interval_minutes: int = Field(default=15, ge=1, le=1440)
    stalled_job_hours: int = Field(default=12, ge=1, le=720)
    project_budgets: str = Field(
        default="{}",
        description="JSON object project → default budget in USD (cdk.json project_budgets_usd); a job's "
        "own budget_usd wins",
    )
    source_ref_scope: Literal["bucket", "project"] = Field(
        default="bucket",
        description="Where a manifest's source-ref may point (cdk.json source_ref_scope): any object of the "
        "data bucket outside LabelChain's reserved prefix ('bucket'), or only under the job's project's "
        "own incoming/<project>/ ('project')",
    )
    region: str = Field(min_length=1)


def settings_from_environment(environ: Mapping[str, str]) -> Settings:
    """Build settings from an environment mapping, naming every missing or invalid variable."""
    values: dict[str, str] = {}
    missing = []
    for field, variable in ENVIRONMENT_VARIABLES.items():
        if variable in environ:
            values[field] = environ[variable]
        elif Settings.model_fields[field].is_required():
            missing.append(variable)
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region is None:
        missing.append("AWS_REGION")
    else:
        values["region"] = region
    if missing:
        raise ConfigurationError(f"missing environment variables: {', '.join(sorted(missing))}")
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = describe_validation_error(exc, Wording(names=ENVIRONMENT_VARIABLES), root="environment")
        raise ConfigurationError(f"invalid environment: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, validated on first use (cold start) and then cached."""
    return settings_from_environment(os.environ)


def project_budget(settings: Settings, project: str) -> Decimal | None:
    """The project's default budget from the deployment (None: no default)."""
    try:
        budgets = loads_strict(settings.project_budgets, document="LABELCHAIN_PROJECT_BUDGETS")
    except ValueError as exc:  # not JSON, or a key given twice
        raise ConfigurationError(f"LABELCHAIN_PROJECT_BUDGETS: {exc}") from exc
    value = budgets.get(project) if isinstance(budgets, dict) else None
    return None if value is None else Decimal(str(value))
