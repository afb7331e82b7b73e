"""The ten Lambdas: one factory, so every function shares runtime, layer, logging, tracing and env."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.functions import (
    FUNCTION_SPECS,
    LAMBDA_DEPS_DIR,
    POWERTOOLS_ENVIRONMENT,
    FunctionSpec,
    LambdaDependenciesMissing,
    lambda_dependencies_code,
    powertools_ssm_parameter,
    powertools_version,
)
from labelchain.settings import ENVIRONMENT_VARIABLES
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra

FUNCTION_NAMES = [f"labelchain-{spec.name_suffix}" for spec in FUNCTION_SPECS]


def _spec(name: str) -> FunctionSpec:
    return next(spec for spec in FUNCTION_SPECS if f"labelchain-{spec.name_suffix}" == name)


def test_there_are_exactly_the_ten_labelchain_functions(assembly: CloudAssembly) -> None:
    names = sorted(
        p["Properties"]["FunctionName"] for p in assembly.resources("AWS::Lambda::Function").values()
    )

    assert names == sorted(FUNCTION_NAMES)
    assert set(names) == {
        f"labelchain-{suffix}"
        for suffix in (
            "create-job",
            "watch-job",
            "finalize-job",
            "job-events",
            "execution-ended",
            "reconcile",
            "record-failure",
            "resolve-trigger",
            "prepare-dataset",
            "compare-jobs",
        )
    }


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_runs_python_313_on_arm_with_its_handler_module(template: Template, name: str) -> None:
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": name,
            "Runtime": "python3.13",
            "Architectures": ["arm64"],
            "Handler": f"labelchain.handlers.{_spec(name).module}.handler",
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
        },
    )


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_uses_the_powertools_layer_resolved_from_awss_ssm_parameter_at_deploy(
    assembly: CloudAssembly, name: str
) -> None:
    _, properties = assembly.function(name)
    parameters = assembly.template["Parameters"]

    (parameter,) = [parameters[layer["Ref"]] for layer in properties["Layers"] if layer["Ref"] in parameters]
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": powertools_ssm_parameter(powertools_version()),
    }


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_uses_labelchains_dependency_layer_built_for_its_runtime_and_architecture(
    assembly: CloudAssembly, name: str
) -> None:
    _, properties = assembly.function(name)
    layers = assembly.resources("AWS::Lambda::LayerVersion")

    (layer,) = [layers[ref["Ref"]]["Properties"] for ref in properties["Layers"] if ref["Ref"] in layers]
    assert len(properties["Layers"]) == 2  # with the Powertools layer
    assert layer["CompatibleRuntimes"] == ["python3.13"]
    assert layer["CompatibleArchitectures"] == ["arm64"]


def test_synth_without_the_built_dependency_layer_says_to_run_make_setup(tmp_path: Path) -> None:
    with pytest.raises(LambdaDependenciesMissing, match="run make setup"):
        lambda_dependencies_code(tmp_path / "lambda-deps")


def test_the_dependency_layer_build_directory_is_never_committed() -> None:
    assert "build/" in (LAMBDA_DEPS_DIR.parent.parent / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_environment_carries_the_settings_contract_and_powertools_settings(
    assembly: CloudAssembly, name: str
) -> None:
    _, properties = assembly.function(name)
    variables: dict[str, Any] = properties["Environment"]["Variables"]

    assert set(variables) == set(ENVIRONMENT_VARIABLES.values()) | set(POWERTOOLS_ENVIRONMENT) | {
        "PYDANTIC_DISABLE_PLUGINS"
    }
    assert variables["PYDANTIC_DISABLE_PLUGINS"] == "__all__"  # no plugin scan on a cold start
    assert {key: variables[key] for key in POWERTOOLS_ENVIRONMENT} == {
        "POWERTOOLS_SERVICE_NAME": "labelchain",
        "POWERTOOLS_METRICS_NAMESPACE": "LabelChain",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


@pytest.mark.parametrize("name", ["labelchain-watch-job", "labelchain-reconcile"])
def test_environment_values_point_at_this_stacks_resources(assembly: CloudAssembly, name: str) -> None:
    _, properties = assembly.function(name)
    variables = properties["Environment"]["Variables"]
    (table_id,) = assembly.resources("AWS::DynamoDB::Table")
    (key_id,) = assembly.resources("AWS::KMS::Key")
    buckets = assembly.resources("AWS::S3::Bucket")
    data_id = next(b for b in buckets if b.startswith("StorageDataBucket"))
    output_id = next(b for b in buckets if b.startswith("StorageOutputBucket"))
    role_id = next(r for r in assembly.resources("AWS::IAM::Role") if r.startswith("GroundTruthRole"))

    assert variables[ENVIRONMENT_VARIABLES["resource_prefix"]] == "labelchain"
    assert variables[ENVIRONMENT_VARIABLES["table_name"]] == {"Ref": table_id}
    assert variables[ENVIRONMENT_VARIABLES["data_bucket"]] == {"Ref": data_id}
    assert variables[ENVIRONMENT_VARIABLES["output_bucket"]] == {"Ref": output_id}
    assert variables[ENVIRONMENT_VARIABLES["kms_key_arn"]] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert variables[ENVIRONMENT_VARIABLES["ground_truth_role_arn"]] == {"Fn::GetAtt": [role_id, "Arn"]}
    assert variables[ENVIRONMENT_VARIABLES["default_prices"]] == "{}"
    assert variables[ENVIRONMENT_VARIABLES["on_execution_failure"]] == "stop"
    assert variables[ENVIRONMENT_VARIABLES["reconcile_interval_minutes"]] == "15"
    assert variables[ENVIRONMENT_VARIABLES["source_ref_scope"]] == "bucket"


@pytest.mark.parametrize(
    ("name", "memory_mb", "timeout_s"),
    [
        ("labelchain-create-job", 512, 60),
        ("labelchain-watch-job", 256, 60),
        ("labelchain-finalize-job", 1024, 300),
        ("labelchain-job-events", 1024, 300),
        ("labelchain-execution-ended", 1024, 300),
        ("labelchain-reconcile", 1024, 600),
        ("labelchain-record-failure", 256, 60),
        ("labelchain-resolve-trigger", 256, 60),
        ("labelchain-prepare-dataset", 1024, 900),
        ("labelchain-compare-jobs", 512, 120),
    ],
)
def test_functions_that_may_finalize_get_the_memory_and_time_to_read_a_large_output(
    assembly: CloudAssembly, name: str, memory_mb: int, timeout_s: int
) -> None:
    _, properties = assembly.function(name)

    assert (properties["MemorySize"], properties["Timeout"]) == (memory_mb, timeout_s)


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_function_logs_to_its_own_retained_log_group_encrypted_with_the_stack_key(
    assembly: CloudAssembly, name: str
) -> None:
    _, properties = assembly.function(name)
    log_group_id = properties["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = assembly.template["Resources"][log_group_id]

    (key_id,) = assembly.resources("AWS::KMS::Key")

    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 90
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert log_group["DeletionPolicy"] == "Retain"


def test_each_function_has_its_own_log_group_and_role(assembly: CloudAssembly) -> None:
    functions = [assembly.function(name)[1] for name in FUNCTION_NAMES]

    assert len({f["LoggingConfig"]["LogGroup"]["Ref"] for f in functions}) == len(FUNCTION_NAMES)
    assert len({f["Role"]["Fn::GetAtt"][0] for f in functions}) == len(FUNCTION_NAMES)


def test_functions_use_no_aws_managed_policies(assembly: CloudAssembly) -> None:
    for name in FUNCTION_NAMES:
        _, properties = assembly.function(name)
        role = assembly.template["Resources"][properties["Role"]["Fn::GetAtt"][0]]
        assert "ManagedPolicyArns" not in role["Properties"]


def test_the_asset_is_the_labelchain_package_without_tests_or_foreign_caches(assembly: CloudAssembly) -> None:
    (_, create_job) = assembly.function("labelchain-create-job")
    asset_dir = assembly.directory / f"asset.{create_job['Code']['S3Key'].removesuffix('.zip')}"
    files = [path.relative_to(asset_dir).as_posix() for path in asset_dir.rglob("*") if path.is_file()]

    assert "labelchain/settings.py" in files
    assert all(path.startswith("labelchain/") for path in files)
    # Only the runtime's own bytecode (test_lambda_code.py checks every module has it), nothing else cached.
    foreign = [path for path in files if path.endswith(".pyc") and not path.endswith(".cpython-313.pyc")]
    assert not foreign
    assert not [path for path in files if "/tests/" in path or ".pytest_cache" in path]


def test_functions_wait_for_their_permissions_but_not_redundantly_for_their_role(
    assembly: CloudAssembly,
) -> None:
    policies = assembly.resources("AWS::IAM::Policy")
    for name in FUNCTION_NAMES:
        logical_id, properties = assembly.function(name)
        role = properties["Role"]["Fn::GetAtt"][0]
        (role_policy,) = [pid for pid, p in policies.items() if {"Ref": role} in p["Properties"]["Roles"]]

        assert assembly.template["Resources"][logical_id]["DependsOn"] == [role_policy]
