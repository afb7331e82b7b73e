"""A second deployment from the same code: every context value reaches the resources it governs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.definitions import placeholder_arns, state_machine_definition
from infra.labeling_job_workflow import LabelingJobStates, quota_retry_attempts
from labelchain.settings import ENVIRONMENT_VARIABLES
from tests.infra.conftest import CloudAssembly, as_list, render, synthesize

pytestmark = pytest.mark.infra

OVERRIDES: dict[str, Any] = {
    "resource_prefix": "team-b",
    "powertools_layer_version": "40",
    "default_prices": '{"task_price_usd": 0.048, "object_fee_usd": 0.08}',
    "removal_policy": "destroy",
    "log_retention_days": 30,
    # As `cdk deploy -c key=value` delivers them: strings.
    "reconcile_interval_minutes": "5",
    "on_execution_failure": "adopt",
    "create_queue_max_hours": "2",
    "wait_rearm_hours": "6",
    "notification_emails": "ops@example.com, ml-team@example.com",
    "noncurrent_version_expiration_days": "7",
    "source_ref_scope": "project",
}
TEAM_B_LABELING_JOBS = "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/team-b-*"
TEAM_B_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:team-b-labeling-job"
TEAM_B_EXECUTIONS = "arn:aws:states:us-east-1:123456789012:execution:team-b-labeling-job:*"


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


@pytest.mark.parametrize(
    "name",
    [
        "team-b-create-job",
        "team-b-watch-job",
        "team-b-job-events",
        "team-b-execution-ended",
        "team-b-reconcile",
    ],
)
def test_the_prefix_scopes_every_labeling_job_and_execution_permission(
    variant: CloudAssembly, name: str
) -> None:
    scoped = {"sagemaker:": {TEAM_B_LABELING_JOBS}, "states:": {TEAM_B_MACHINE, TEAM_B_EXECUTIONS}}
    seen: set[str] = set()
    for statement in variant.function_role_statements(name):
        for service, allowed in scoped.items():
            if any(action.startswith(service) for action in as_list(statement["Action"])):
                seen.add(service)
                assert set(as_list(statement["Resource"])) <= allowed, statement
    assert "sagemaker:" in seen


def test_layer_prices_and_prefix_reach_the_functions(variant: CloudAssembly) -> None:
    _, properties = variant.function("team-b-reconcile")
    variables = properties["Environment"]["Variables"]

    assert [layer for layer in render(properties["Layers"]) if layer.startswith("arn:")] == [
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:40"
    ]
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
    # cdk destroy may delete the table only if it is not protected.
    (table,) = variant.resources("AWS::DynamoDB::Table").values()
    assert table["Properties"].get("DeletionProtectionEnabled", False) is False


def test_noncurrent_versions_expire_after_the_configured_days_and_the_source_ref_scope_reaches_the_functions(
    variant: CloudAssembly,
) -> None:
    for logical_id, bucket in variant.resources("AWS::S3::Bucket").items():
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert [r["NoncurrentVersionExpiration"] for r in rules if "NoncurrentVersionExpiration" in r] == [
            {"NoncurrentDays": 7}
        ], logical_id
    for properties in (p["Properties"] for p in variant.resources("AWS::Lambda::Function").values()):
        assert properties["Environment"]["Variables"][ENVIRONMENT_VARIABLES["source_ref_scope"]] == "project"


def test_the_variant_passes_cdk_nag_too(variant: CloudAssembly) -> None:
    for report in variant.validation_report["pluginReports"]:
        assert report["violations"] == []


def _variant_labeling_job_states(variant: CloudAssembly) -> dict[str, dict[str, Any]]:
    definition = state_machine_definition(
        variant.template, "team-b-labeling-job", placeholder_arns(variant.template)
    )
    states: dict[str, dict[str, Any]] = definition["States"]
    return states


def test_the_reconcile_interval_sets_the_schedule_and_reaches_the_functions(variant: CloudAssembly) -> None:
    (schedule,) = [
        rule["Properties"]["ScheduleExpression"]
        for rule in variant.resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in rule["Properties"]
    ]
    _, properties = variant.function("team-b-reconcile")

    assert schedule == "rate(5 minutes)"
    assert properties["Environment"]["Variables"][ENVIRONMENT_VARIABLES["reconcile_interval_minutes"]] == "5"


def test_the_execution_failure_policy_reaches_the_functions_that_apply_it(variant: CloudAssembly) -> None:
    for name in ("team-b-execution-ended", "team-b-reconcile"):
        _, properties = variant.function(name)
        assert (
            properties["Environment"]["Variables"][ENVIRONMENT_VARIABLES["on_execution_failure"]] == "adopt"
        )


def test_the_rearm_and_queue_limits_shape_the_labeling_job_waits(variant: CloudAssembly) -> None:
    states = _variant_labeling_job_states(variant)
    wait = states[LabelingJobStates.WAIT_FOR_JOB]
    (quota,) = [
        retry
        for retry in states[LabelingJobStates.CREATE_JOB]["Retry"]
        if retry["ErrorEquals"] == ["LabelingJobQuotaExceeded"]
    ]

    assert wait["TimeoutSeconds"] == 6 * 3600
    assert wait["Retry"][0]["MaxAttempts"] * wait["TimeoutSeconds"] > 31 * 24 * 3600
    assert quota["MaxAttempts"] == quota_retry_attempts(2)


def test_notification_emails_subscribe_to_the_deployments_topic_and_the_alarms_follow_the_settings(
    variant: CloudAssembly,
) -> None:
    ((topic_id, topic),) = variant.resources("AWS::SNS::Topic").items()
    subscriptions = sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"], s["Properties"]["TopicArn"]["Ref"])
        for s in variant.resources("AWS::SNS::Subscription").values()
    )
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in variant.resources("AWS::CloudWatch::Alarm").values()
    }
    (dashboard,) = variant.resources("AWS::CloudWatch::Dashboard").values()
    (key,) = variant.resources("AWS::KMS::Key").values()
    (alarms_may_encrypt,) = [
        statement["Condition"]["ArnLike"]["aws:SourceArn"]
        for statement in render(key["Properties"]["KeyPolicy"]["Statement"])
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]

    assert topic["Properties"]["TopicName"] == "team-b-notifications"
    assert alarms_may_encrypt == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:team-b-*"
    assert subscriptions == [
        ("email", "ml-team@example.com", topic_id),
        ("email", "ops@example.com", topic_id),
    ]
    assert dashboard["Properties"]["DashboardName"] == "team-b"
    assert all(name.startswith("team-b-") for name in alarms)
    # The stalled-job and budget alarms read one reconciler run per period: the 5-minute interval.
    for name in ("team-b-stalled-jobs", "team-b-budget-exceeded"):
        assert {query["MetricStat"]["Period"] for query in alarms[name]["Metrics"]} == {300}


def test_the_ground_truth_role_writes_only_under_this_prefixs_job_folders(variant: CloudAssembly) -> None:
    (role_id,) = [r for r in variant.resources("AWS::IAM::Role") if r.startswith("GroundTruthRole")]

    (write,) = [s for s in variant.role_statements(role_id) if "s3:PutObject" in as_list(s["Action"])]
    (resource,) = as_list(write["Resource"])
    assert resource.endswith("/*/team-b-*/*")
