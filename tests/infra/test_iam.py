"""Least privilege: what each role may do, on which resources, and what it may not do.

Policies are read with references rendered as text (``<LogicalId.Arn>``, pseudo parameters as
``aws``/``us-east-1``/``123456789012``), so each assertion compares the exact resource a permission is on.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.functions import (
    FUNCTION_SPECS,
    RECONCILE,
    TABLE_ACTIONS,
    FunctionSpec,
)
from labelchain.core.regions import GROUND_TRUTH_LAMBDA_ACCOUNTS
from labelchain.core.s3_layout import JOB_FILE_NAMES
from tests.infra.conftest import CloudAssembly, as_list

pytestmark = pytest.mark.infra

LABELING_JOBS = "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/labelchain-*"
LABELING_JOB_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:labelchain-labeling-job"
LABELING_JOB_EXECUTIONS = "arn:aws:states:us-east-1:123456789012:execution:labelchain-labeling-job:*"
JOB_FUNCTIONS = [
    "labelchain-create-job",
    "labelchain-watch-job",
    "labelchain-finalize-job",
    "labelchain-job-events",
    "labelchain-execution-ended",
    "labelchain-reconcile",
    "labelchain-record-failure",
]
"""The functions that look at labeling jobs: the LabelingJob state machine's and the lifecycle's."""
FUNCTIONS = [
    *JOB_FUNCTIONS,
    "labelchain-resolve-trigger",
    "labelchain-prepare-dataset",
    "labelchain-compare-jobs",
]
STOPPING_FUNCTIONS = {
    # execution-ended and reconcile stop jobs whose execution is gone (or whose budget is spent);
    # create-job stops a job that got its quota slot only after its execution had ended.
    "labelchain-create-job",
    "labelchain-execution-ended",
    "labelchain-reconcile",
}
FINALIZING_FUNCTIONS = [
    "labelchain-finalize-job",
    "labelchain-job-events",
    "labelchain-execution-ended",
    "labelchain-reconcile",
]
WRITING_FUNCTIONS = {"labelchain-create-job", "labelchain-prepare-dataset", "labelchain-compare-jobs"}
PASSED_TO_SAGEMAKER = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def _granting(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [statement for statement in statements if action in as_list(statement["Action"])]


def _logical_id(assembly: CloudAssembly, resource_type: str, prefix: str) -> str:
    (logical_id,) = [lid for lid in assembly.resources(resource_type) if lid.startswith(prefix)]
    return logical_id


def _ground_truth_role(assembly: CloudAssembly) -> str:
    return _logical_id(assembly, "AWS::IAM::Role", "GroundTruthRole")


def test_no_policy_statement_denies_or_allows_beyond_allow(assembly: CloudAssembly) -> None:
    for policy in assembly.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert "NotAction" not in statement
            assert "NotResource" not in statement


@pytest.mark.parametrize("name", JOB_FUNCTIONS)
def test_function_sagemaker_permissions_are_only_on_this_prefixs_labeling_jobs(
    assembly: CloudAssembly, name: str
) -> None:
    statements = assembly.function_role_statements(name)
    sagemaker = [s for s in statements if any(a.startswith("sagemaker:") for a in as_list(s["Action"]))]

    assert sagemaker, f"{name} cannot describe its labeling job"
    for statement in sagemaker:
        assert as_list(statement["Resource"]) == [LABELING_JOBS]
    assert "sagemaker:DescribeLabelingJob" in _actions(sagemaker)


def test_only_create_job_creates_and_tags_labeling_jobs(assembly: CloudAssembly) -> None:
    creating = {"sagemaker:CreateLabelingJob", "sagemaker:AddTags"}
    granted = {name: _actions(assembly.function_role_statements(name)) & creating for name in FUNCTIONS}

    assert granted == {name: creating if name == "labelchain-create-job" else set() for name in FUNCTIONS}


@pytest.mark.parametrize("name", sorted(set(FUNCTIONS) - set(JOB_FUNCTIONS)))
def test_functions_outside_the_job_lifecycle_call_no_sagemaker(assembly: CloudAssembly, name: str) -> None:
    actions = _actions(assembly.function_role_statements(name))

    assert not {a for a in actions if a.startswith("sagemaker:")}


def test_only_the_stopping_functions_may_stop_labeling_jobs_and_nothing_may_delete(
    assembly: CloudAssembly,
) -> None:
    stopping: dict[str, set[str]] = {}
    for name in FUNCTIONS:
        statements = assembly.function_role_statements(name)
        actions = _actions(statements)
        stopping[name] = {a for a in actions if a.startswith("sagemaker:Stop")}
        assert not {a for a in actions if a.startswith("sagemaker:Delete")}, name
        for statement in _granting(statements, "sagemaker:StopLabelingJob"):
            assert as_list(statement["Resource"]) == [LABELING_JOBS], name

    assert stopping == {
        name: {"sagemaker:StopLabelingJob"} if name in STOPPING_FUNCTIONS else set() for name in FUNCTIONS
    }


def test_each_function_may_call_only_the_step_functions_actions_it_uses(assembly: CloudAssembly) -> None:
    resume = ("states:SendTaskSuccess", LABELING_JOB_MACHINE)
    describe = ("states:DescribeExecution", LABELING_JOB_EXECUTIONS)
    stop = ("states:StopExecution", LABELING_JOB_EXECUTIONS)
    expected = {
        "labelchain-watch-job": {resume},
        "labelchain-job-events": {resume, describe},
        "labelchain-execution-ended": {resume, describe, stop},
        "labelchain-reconcile": {resume, describe},
    }

    granted = {
        name: {
            (action, resource)
            for statement in assembly.function_role_statements(name)
            for action in as_list(statement["Action"])
            if action.startswith("states:")
            for resource in as_list(statement["Resource"])
        }
        for name in FUNCTIONS
    }
    assert granted == {name: expected.get(name, set()) for name in FUNCTIONS}


def test_create_job_passes_only_the_ground_truth_role_and_only_to_sagemaker(assembly: CloudAssembly) -> None:
    statements = _granting(assembly.function_role_statements("labelchain-create-job"), "iam:PassRole")

    (statement,) = statements
    assert as_list(statement["Resource"]) == [f"<{_ground_truth_role(assembly)}.Arn>"]
    assert statement["Condition"] == PASSED_TO_SAGEMAKER


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n not in WRITING_FUNCTIONS])
def test_other_functions_cannot_pass_roles_or_write_s3(assembly: CloudAssembly, name: str) -> None:
    actions = _actions(assembly.function_role_statements(name))

    assert "iam:PassRole" not in actions
    assert not {a for a in actions if a.startswith("s3:Put") or a.startswith("s3:Delete")}


def test_create_job_reads_the_data_bucket_and_writes_only_its_job_files(assembly: CloudAssembly) -> None:
    data = f"<{_logical_id(assembly, 'AWS::S3::Bucket', 'StorageDataBucket')}.Arn>"
    statements = assembly.function_role_statements("labelchain-create-job")

    (write,) = _granting(statements, "s3:PutObject")
    (read,) = _granting(statements, "s3:GetObject*")
    assert set(as_list(write["Resource"])) == {f"{data}/labelchain/*/{name}" for name in JOB_FILE_NAMES}
    assert set(as_list(read["Resource"])) == {data, f"{data}/*"}
    assert not {a for a in _actions(statements) if a.startswith("s3:Delete")}


@pytest.mark.parametrize(
    ("name", "bucket", "prefix"),
    [
        ("labelchain-prepare-dataset", "StorageDataBucket", "labelchain/experiments/"),
        ("labelchain-compare-jobs", "StorageOutputBucket", "experiments/"),
    ],
)
def test_experiment_functions_write_only_under_their_experiments_prefix(
    assembly: CloudAssembly, name: str, bucket: str, prefix: str
) -> None:
    arn = f"<{_logical_id(assembly, 'AWS::S3::Bucket', bucket)}.Arn>"
    statements = assembly.function_role_statements(name)
    writing = [
        s
        for s in statements
        if any(a.startswith(("s3:Put", "s3:Delete", "s3:Abort")) for a in as_list(s["Action"]))
    ]

    assert writing
    assert {r for s in writing for r in as_list(s["Resource"])} == {f"{arn}/{prefix}*"}
    assert "iam:PassRole" not in _actions(statements)


@pytest.mark.parametrize("name", FINALIZING_FUNCTIONS)
def test_finalizing_functions_list_and_read_only_job_output_and_never_write(
    assembly: CloudAssembly, name: str
) -> None:
    output = f"<{_logical_id(assembly, 'AWS::S3::Bucket', 'StorageOutputBucket')}.Arn>"
    statements = assembly.function_role_statements(name)

    s3 = [s for s in statements if any(a.startswith("s3:") for a in as_list(s["Action"]))]
    assert sorted((s["Action"], s["Resource"], s.get("Condition")) for s in s3) == [
        ("s3:GetObject", f"{output}/jobs/*", None),
        ("s3:ListBucket", output, {"StringLike": {"s3:prefix": ["jobs/*"]}}),
    ]


@pytest.mark.parametrize(
    ("name", "buckets"),
    [
        ("labelchain-create-job", {"StorageDataBucket"}),
        ("labelchain-watch-job", set()),
        ("labelchain-finalize-job", {"StorageOutputBucket"}),
        ("labelchain-job-events", {"StorageOutputBucket"}),
        ("labelchain-execution-ended", {"StorageOutputBucket"}),
        ("labelchain-reconcile", {"StorageOutputBucket"}),
        ("labelchain-record-failure", set()),
        ("labelchain-resolve-trigger", set()),
        ("labelchain-prepare-dataset", {"StorageDataBucket"}),
        ("labelchain-compare-jobs", {"StorageOutputBucket"}),
    ],
)
def test_each_function_reaches_only_the_buckets_it_reads(
    assembly: CloudAssembly, name: str, buckets: set[str]
) -> None:
    statements = assembly.function_role_statements(name)
    s3_resources = {
        resource
        for statement in statements
        if any(action.startswith("s3:") for action in as_list(statement["Action"]))
        for resource in as_list(statement["Resource"])
    }

    all_buckets = ("StorageDataBucket", "StorageOutputBucket", "StorageAccessLogBucket")
    assert {b for b in all_buckets if any(r.startswith(f"<{b}") for r in s3_resources)} == buckets


@pytest.mark.parametrize("spec", FUNCTION_SPECS, ids=lambda spec: spec.module)
def test_each_function_may_call_only_the_table_actions_it_uses(
    assembly: CloudAssembly, spec: FunctionSpec
) -> None:
    table = f"<{_logical_id(assembly, 'AWS::DynamoDB::Table', 'JobsTable')}.Arn>"
    statements = assembly.function_role_statements(f"labelchain-{spec.name_suffix}")

    granted = {a for s in statements for a in as_list(s["Action"]) if a.startswith("dynamodb:")}
    assert granted == set(TABLE_ACTIONS.get(spec.construct_id, ()))
    assert not {a for a in granted if a.startswith(("dynamodb:Scan", "dynamodb:Delete", "dynamodb:Batch"))}
    # Only the reconciler queries (the sparse active-jobs index); nobody reads the table wholesale.
    assert ("dynamodb:Query" in granted) == (spec.construct_id == RECONCILE.construct_id)
    for statement in statements:
        if any(a.startswith("dynamodb:") for a in as_list(statement["Action"])):
            assert set(as_list(statement["Resource"])) <= {table, f"{table}/index/*"}


def test_the_reconciler_may_query_the_tables_indexes(assembly: CloudAssembly) -> None:
    table = f"<{_logical_id(assembly, 'AWS::DynamoDB::Table', 'JobsTable')}.Arn>"

    (query,) = _granting(assembly.function_role_statements("labelchain-reconcile"), "dynamodb:Query")
    assert f"{table}/index/*" in as_list(query["Resource"])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_uses_only_the_stack_key(assembly: CloudAssembly, name: str) -> None:
    key = f"<{_logical_id(assembly, 'AWS::KMS::Key', 'StorageKey')}.Arn>"
    statements = assembly.function_role_statements(name)

    kms = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert kms
    assert {resource for s in kms for resource in as_list(s["Resource"])} == {key}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_writes_logs_only_to_its_own_log_group(assembly: CloudAssembly, name: str) -> None:
    _, properties = assembly.function(name)
    statements = assembly.function_role_statements(name)

    (logs,) = _granting(statements, "logs:PutLogEvents")
    assert as_list(logs["Resource"]) == [f"<{properties['LoggingConfig']['LogGroup']['Ref']}.Arn>"]


def test_only_x_ray_is_granted_on_every_resource_to_functions(assembly: CloudAssembly) -> None:
    for name in FUNCTIONS:
        unscoped = [s for s in assembly.function_role_statements(name) if "*" in as_list(s["Resource"])]
        assert _actions(unscoped) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, name


def test_ground_truth_role_trusts_only_sagemaker_acting_for_this_account(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "Description": Match.string_like_regexp("Ground Truth"),
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )


def test_ground_truth_role_reads_data_and_only_its_own_jobs_output_and_deletes_nothing(
    assembly: CloudAssembly,
) -> None:
    data = f"<{_logical_id(assembly, 'AWS::S3::Bucket', 'StorageDataBucket')}.Arn>"
    output = f"<{_logical_id(assembly, 'AWS::S3::Bucket', 'StorageOutputBucket')}.Arn>"
    statements = assembly.role_statements(_ground_truth_role(assembly))

    s3 = {
        (action, resource)
        for statement in statements
        for action in as_list(statement["Action"])
        if action.startswith("s3:")
        for resource in as_list(statement["Resource"])
    }
    job_output = f"{output}/jobs/*/labelchain-*/*"
    assert s3 == {
        ("s3:ListBucket", data),
        ("s3:GetBucketLocation", data),
        ("s3:ListBucket", output),
        ("s3:GetBucketLocation", output),
        ("s3:GetObject", f"{data}/*"),
        ("s3:GetObject", job_output),
        ("s3:PutObject", job_output),
        ("s3:AbortMultipartUpload", job_output),
    }


def test_ground_truth_role_holds_no_sagemaker_action_as_aws_documents_for_automated_labeling(
    assembly: CloudAssembly,
) -> None:
    # AWS's execution-role guide asks only for iam:PassRole of the role to SageMaker (tested below) for
    # the training and inference jobs of automated data labeling; its managed policy has no sagemaker:.
    statements = assembly.role_statements(_ground_truth_role(assembly))

    assert not {a for a in _actions(statements) if a.startswith("sagemaker:")}


def test_ground_truth_role_uses_only_the_stack_key_without_re_encrypt(assembly: CloudAssembly) -> None:
    key = f"<{_logical_id(assembly, 'AWS::KMS::Key', 'StorageKey')}.Arn>"
    statements = assembly.role_statements(_ground_truth_role(assembly))

    (kms,) = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert as_list(kms["Resource"]) == [key]
    assert set(as_list(kms["Action"])) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    }


UNUSED_ACTIONS = ("kms:ReEncrypt", "s3:PutObjectLegalHold", "s3:PutObjectRetention", "s3:BypassGovernance")
"""Actions no LabelChain role uses: CDK's grant helpers would add them (key re-encryption, object lock)."""
ABORTING_ROLES = {"labelchain-prepare-dataset"}
"""Only PrepareDataset uploads in parts (its manifest parts); the Ground Truth role aborts its own."""


def test_no_role_holds_re_encrypt_or_object_lock_actions_and_only_multipart_writers_may_abort(
    assembly: CloudAssembly,
) -> None:
    roles = {name: assembly.function_role_statements(name) for name in FUNCTIONS}
    for role_id in assembly.resources("AWS::IAM::Role"):
        if not role_id.startswith("Functions"):
            roles[role_id] = assembly.role_statements(role_id)

    for name, statements in roles.items():
        actions = _actions(statements)
        assert not {a for a in actions if a.startswith(UNUSED_ACTIONS)}, name
        aborts = {a for a in actions if a.startswith("s3:Abort")}
        if name in ABORTING_ROLES or name.startswith("GroundTruthRole"):
            assert aborts == {"s3:AbortMultipartUpload"}, name
        else:
            assert not aborts, name


def test_resolve_trigger_reads_project_settings_from_the_table_not_from_s3(assembly: CloudAssembly) -> None:
    table = f"<{_logical_id(assembly, 'AWS::DynamoDB::Table', 'JobsTable')}.Arn>"
    statements = assembly.function_role_statements("labelchain-resolve-trigger")

    (get_item,) = _granting(statements, "dynamodb:GetItem")
    assert table in as_list(get_item["Resource"])
    assert not {a for a in _actions(statements) if a.startswith("s3:")}


def test_ground_truth_role_passes_only_itself_and_only_to_sagemaker(assembly: CloudAssembly) -> None:
    role = _ground_truth_role(assembly)

    (statement,) = _granting(assembly.role_statements(role), "iam:PassRole")
    assert as_list(statement["Resource"]) == [f"<{role}.Arn>"]
    assert statement["Condition"] == PASSED_TO_SAGEMAKER


def test_ground_truth_role_invokes_only_the_built_in_lambdas_of_this_regions_aws_account(
    assembly: CloudAssembly,
) -> None:
    statements = assembly.role_statements(_ground_truth_role(assembly))

    (invoke,) = _granting(statements, "lambda:InvokeFunction")
    # us-east-1's Ground Truth account, looked up from labelchain.core.regions through a template mapping
    assert set(as_list(invoke["Resource"])) == {
        "arn:aws:lambda:us-east-1:432418664414:function:PRE-*",
        "arn:aws:lambda:us-east-1:432418664414:function:ACS-*",
    }


def test_the_region_mapping_is_labelchains_region_table(assembly: CloudAssembly) -> None:
    (mapping,) = assembly.template["Mappings"].values()

    assert mapping == {
        region: {"account": account} for region, account in GROUND_TRUTH_LAMBDA_ACCOUNTS.items()
    }


def test_deploying_outside_the_ground_truth_regions_stops_with_a_reason(assembly: CloudAssembly) -> None:
    rules = {k: v for k, v in assembly.template["Rules"].items() if k != "CheckBootstrapVersion"}

    ((_, rule),) = rules.items()
    (assertion,) = rule["Assertions"]
    assert "us-east-1" in assertion["Assert"]["Fn::Contains"][0]
    assert "built-in labeling Lambdas" in assertion["AssertDescription"]


def test_ground_truth_role_logs_and_metrics_stay_in_sagemakers_namespace(assembly: CloudAssembly) -> None:
    statements = assembly.role_statements(_ground_truth_role(assembly))

    (logs,) = _granting(statements, "logs:PutLogEvents")
    (metrics,) = _granting(statements, "cloudwatch:PutMetricData")
    assert as_list(logs["Resource"]) == ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*"]
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*"]}}


def test_each_state_machine_may_invoke_only_the_functions_it_runs(assembly: CloudAssembly) -> None:
    functions = assembly.resources("AWS::Lambda::Function")

    def function_ids(*names: str) -> set[str]:
        ids = {fid for fid, fn in functions.items() if fn["Properties"]["FunctionName"] in names}
        assert len(ids) == len(names)
        return ids

    expected = {
        "LabelingJobStateMachineRole": function_ids(
            "labelchain-create-job",
            "labelchain-watch-job",
            "labelchain-finalize-job",
            "labelchain-record-failure",
            "labelchain-resolve-trigger",
        ),
        "ExperimentStateMachineRole": function_ids(
            "labelchain-prepare-dataset", "labelchain-compare-jobs", "labelchain-record-failure"
        ),
    }
    for role_prefix, allowed in expected.items():
        role = _logical_id(assembly, "AWS::IAM::Role", role_prefix)
        (invoke,) = _granting(assembly.role_statements(role), "lambda:InvokeFunction")
        assert set(as_list(invoke["Resource"])) == {
            arn for fid in allowed for arn in (f"<{fid}.Arn>", f"<{fid}.Arn>:*")
        }
