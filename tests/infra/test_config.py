"""The deployment settings: what cdk.json ships, what -c overrides may change, and how bad values fail.

No synth here: config validation is plain pydantic and runs in milliseconds.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from infra.application import CDK_JSON, cdk_json_context, stack_name_for
from infra.config import CONTEXT_KEYS, ContextError, DeploymentConfig, config_from_context
from infra.functions import REQUIREMENTS_TXT, powertools_ssm_parameter, powertools_version
from labelchain.settings import Settings

pytestmark = pytest.mark.infra

VALID: dict[str, Any] = {
    "resource_prefix": "labelchain",
    "powertools_layer_version": 42,
    "default_prices": {},
    "removal_policy": "retain",
    "log_retention_days": 90,
}


def test_cdk_json_runs_the_app_with_the_project_venv() -> None:
    assert json.loads(CDK_JSON.read_text())["app"] == ".venv/bin/python app.py"


def test_cdk_json_sets_every_labelchain_context_key_to_a_valid_value() -> None:
    context = cdk_json_context()

    config = config_from_context(context)

    assert set(CONTEXT_KEYS) <= context.keys()
    assert config.resource_prefix == "labelchain"
    assert config.removal_policy == "retain"
    assert config.default_prices == {}


def test_cdk_json_documents_where_the_powertools_layer_comes_from() -> None:
    note = cdk_json_context()["//powertools_layer_version"]

    assert cdk_json_context()["powertools_layer_version"] == "ssm"
    assert powertools_ssm_parameter(powertools_version()) in note


def test_the_layer_follows_the_powertools_version_requirements_txt_pins() -> None:
    pinned = next(
        line.split("==")[1].strip()
        for line in REQUIREMENTS_TXT.read_text().splitlines()
        if line.startswith("aws-lambda-powertools==")
    )

    assert powertools_version() == pinned
    assert powertools_ssm_parameter(pinned) == f"/aws/service/powertools/python/arm64/python3.13/{pinned}"


def test_data_is_retained_and_logs_kept_90_days_by_default() -> None:
    config = config_from_context({"powertools_layer_version": 42})

    assert config.cdk_removal_policy == RemovalPolicy.RETAIN
    assert config.log_retention == logs.RetentionDays.THREE_MONTHS


def test_cli_string_values_are_coerced_like_cdk_json_values() -> None:
    # Given: what `cdk deploy -c key=value` delivers (strings)
    context = {
        "resource_prefix": "team-a",
        "powertools_layer_version": "40",
        "default_prices": '{"object_fee_usd": 0.08, "task_price_usd": 0.036}',
        "removal_policy": "DESTROY",
        "log_retention_days": "30",
    }

    config = config_from_context(context)

    assert config.powertools_layer_version == 40
    assert config.default_prices == {"object_fee_usd": 0.08, "task_price_usd": 0.036}
    assert config.cdk_removal_policy == RemovalPolicy.DESTROY
    assert config.log_retention == logs.RetentionDays.ONE_MONTH


def test_default_prices_reach_the_lambdas_as_compact_sorted_json() -> None:
    prices = {"task_price_usd": "0.048", "auto_labeling_compute_usd_per_iteration": 1, "object_fee_usd": 0.08}
    config = DeploymentConfig(**{**VALID, "default_prices": prices})

    assert config.default_prices_json == (
        '{"auto_labeling_compute_usd_per_iteration":1,"object_fee_usd":0.08,"task_price_usd":"0.048"}'
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("resource_prefix", "Team_A", "String should match pattern"),
        ("resource_prefix", "a-prefix-longer-than-twenty-one", "String should match pattern"),
        ("powertools_layer_version", 0, 'must be "ssm" or a layer version number'),
        ("powertools_layer_version", "latest", 'must be "ssm" or a layer version number'),
        ("default_prices", "{not json", "is not valid JSON"),
        ("default_prices", "[1, 2]", "valid dictionary"),
        ("default_prices", {"object_fee": 0.08}, "unknown key 'object_fee'"),
        ("default_prices", {"object_fee_usd": -1}, "object_fee_usd"),
        ("removal_policy", "keep", "'retain' or 'destroy'"),
        ("log_retention_days", 10, "CloudWatch Logs retention period"),
    ],
)
def test_an_invalid_context_value_fails_synth_naming_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ContextError) as raised:
        config_from_context({**VALID, key: value})

    assert f"context key '{key}'" in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_layer_version_is_reported_by_name() -> None:
    with pytest.raises(ContextError, match="context key 'powertools_layer_version': Field required"):
        config_from_context({"resource_prefix": "labelchain"})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ContextError) as raised:
        config_from_context({**VALID, "resource_prefix": "X", "log_retention_days": 2})

    assert "'resource_prefix'" in str(raised.value)
    assert "'log_retention_days'" in str(raised.value)


def test_the_default_prefix_keeps_the_plain_stack_name_and_others_are_suffixed() -> None:
    assert stack_name_for("labelchain") == "LabelChain"
    assert stack_name_for("team-a") == "LabelChain-team-a"


def test_cdk_json_ships_the_lifecycle_settings_at_their_documented_defaults() -> None:
    context = cdk_json_context()
    defaults = DeploymentConfig(powertools_layer_version=42)

    assert (
        {
            key: context[key]
            for key in (
                "reconcile_interval_minutes",
                "on_execution_failure",
                "create_queue_max_hours",
                "wait_rearm_hours",
            )
        }
        == {
            "reconcile_interval_minutes": defaults.reconcile_interval_minutes,
            "on_execution_failure": defaults.on_execution_failure,
            "create_queue_max_hours": defaults.create_queue_max_hours,
            "wait_rearm_hours": defaults.wait_rearm_hours,
        }
        == {
            "reconcile_interval_minutes": 15,
            "on_execution_failure": "stop",
            "create_queue_max_hours": 24,
            "wait_rearm_hours": 24,
        }
    )


INVALID_LIFECYCLE_SETTINGS = [
    ("reconcile_interval_minutes", 0),
    ("reconcile_interval_minutes", 1441),
    ("on_execution_failure", "ignore"),
    ("create_queue_max_hours", 0),
    ("wait_rearm_hours", 24 * 7 + 1),
]


def test_every_deployment_setting_is_read_from_the_context() -> None:
    assert set(CONTEXT_KEYS) == set(DeploymentConfig.model_fields)


def test_cli_strings_set_the_lifecycle_settings() -> None:
    context = {
        **VALID,
        "reconcile_interval_minutes": "5",
        "on_execution_failure": "adopt",
        "create_queue_max_hours": "2",
        "wait_rearm_hours": "6",
    }

    config = config_from_context(context)

    assert (
        config.reconcile_interval_minutes,
        config.on_execution_failure,
        config.create_queue_max_hours,
        config.wait_rearm_hours,
    ) == (5, "adopt", 2, 6)


@pytest.mark.parametrize(("key", "value"), INVALID_LIFECYCLE_SETTINGS)
def test_an_invalid_lifecycle_setting_fails_synth_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ContextError) as raised:
        config_from_context({**VALID, key: value})

    assert f"context key '{key}'" in str(raised.value)


@pytest.mark.parametrize(("key", "value"), INVALID_LIFECYCLE_SETTINGS)
def test_the_deployment_model_refuses_an_invalid_lifecycle_setting(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        DeploymentConfig(**{**VALID, key: value})


def test_cdk_json_ships_the_data_hygiene_and_source_ref_settings_at_their_defaults() -> None:
    context = cdk_json_context()
    defaults = DeploymentConfig(powertools_layer_version=42)

    assert (context["noncurrent_version_expiration_days"], context["source_ref_scope"]) == (30, "bucket")
    assert (defaults.noncurrent_version_expiration_days, defaults.source_ref_scope) == (30, "bucket")


def test_the_source_ref_scopes_are_the_ones_the_lambdas_accept() -> None:
    deployment = DeploymentConfig.model_fields["source_ref_scope"].annotation
    lambdas = Settings.model_fields["source_ref_scope"].annotation

    assert get_args(deployment) == get_args(lambdas) == ("bucket", "project")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("noncurrent_version_expiration_days", 0),
        ("noncurrent_version_expiration_days", True),
        ("noncurrent_version_expiration_days", "thirty"),
        ("source_ref_scope", "everywhere"),
    ],
)
def test_an_invalid_data_hygiene_or_source_ref_setting_fails_synth_naming_the_key(
    key: str, value: object
) -> None:
    with pytest.raises(ContextError) as raised:
        config_from_context({**VALID, key: value})

    assert f"context key '{key}'" in str(raised.value)


def test_noncurrent_versions_must_outlive_the_quota_queue_of_a_job_that_pinned_one() -> None:
    with pytest.raises(ContextError) as raised:
        config_from_context(
            {**VALID, "noncurrent_version_expiration_days": "1", "create_queue_max_hours": "24"}
        )

    assert "noncurrent_version_expiration_days (1 days) must exceed create_queue_max_hours (24 h)" in str(
        raised.value
    )
    assert config_from_context({**VALID, "noncurrent_version_expiration_days": "2"})
