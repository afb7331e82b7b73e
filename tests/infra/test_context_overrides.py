"""A second deployment from the same code: every context value reaches the resources it governs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labelchain.settings import ENVIRONMENT_VARIABLES
from tests.infra.conftest import CloudAssembly, as_list, render, synthesize

pytestmark = pytest.mark.infra

OVERRIDES: dict[str, Any] = {
    "resource_prefix": "team-b",
    "powertools_layer_version": "40",
    "default_prices": '{"task_price_usd": 0.048, "object_fee_usd": 0.08}',
    "removal_policy": "destroy",
    "log_retention_days": 30,
}


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> CloudAssembly:
    return synthesize(tmp_path_factory.mktemp("variant.out"), OVERRIDES)


def test_the_prefix_names_the_stack_functions_and_state_machine(variant: CloudAssembly) -> None:
    manifest = json.loads((variant.directory / "manifest.json").read_text())
    names = {p["Properties"]["FunctionName"] for p in variant.resources("AWS::Lambda::Function").values()}
    machines = {
        m["Properties"]["StateMachineName"]
        for m in variant.resources("AWS::StepFunctions::StateMachine").values()
    }

    assert manifest["artifacts"]["LabelChain"]["properties"]["stackName"] == "LabelChain-team-b"
    assert all(name.startswith("team-b-") for name in names)
    assert machines == {"team-b-labeling-job", "team-b-experiment"}


def test_the_prefix_scopes_every_labeling_job_permission(variant: CloudAssembly) -> None:
    for name in ("team-b-create-job", "team-b-poll-job", "team-b-record-metrics"):
        for statement in variant.function_role_statements(name):
            if any(action.startswith("sagemaker:") for action in as_list(statement["Action"])):
                assert as_list(statement["Resource"]) == [
                    "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/team-b-*"
                ]


def test_layer_prices_and_prefix_reach_the_functions(variant: CloudAssembly) -> None:
    _, properties = variant.function("team-b-poll-job")
    variables = properties["Environment"]["Variables"]

    assert render(properties["Layers"])[0].endswith("AWSLambdaPowertoolsPythonV3-python313-arm64:40")
    assert json.loads(variables[ENVIRONMENT_VARIABLES["default_prices"]]) == {
        "task_price_usd": 0.048,
        "object_fee_usd": 0.08,
    }
    assert variables[ENVIRONMENT_VARIABLES["resource_prefix"]] == "team-b"


def test_destroy_and_retention_apply_to_the_data_and_the_logs(variant: CloudAssembly) -> None:
    for resource_type in ("AWS::KMS::Key", "AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::Logs::LogGroup"):
        for logical_id, resource in variant.resources(resource_type).items():
            assert resource["DeletionPolicy"] == "Delete", logical_id
    for log_group in variant.resources("AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == 30


def test_the_variant_passes_cdk_nag_too(variant: CloudAssembly) -> None:
    for report in variant.validation_report["pluginReports"]:
        assert report["violations"] == []
