"""Every S3 prefix a role is granted comes from ``labelchain.core.s3_layout``, the module the services
build their keys with, and each writer's grant covers the keys it builds and no other writer's.

IAM's ``*`` matches any characters, ``/`` included, as ``fnmatch.fnmatchcase`` does (no key here holds
``?`` or ``[``).
"""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from infra.application import PROJECT_ROOT
from infra.functions import FINALIZING_SPECS, FunctionSpec
from labelchain.adapters.sagemaker import LabelingJobDescription
from labelchain.core import s3_layout
from labelchain.core.records import JobRecord
from labelchain.services.record_metrics import output_key_prefix_of
from tests.infra.conftest import CloudAssembly, as_list

pytestmark = pytest.mark.infra

LAYOUT_PREFIXES = (
    s3_layout.INCOMING_PREFIX,
    s3_layout.LABELCHAIN_PREFIX,
    s3_layout.EXPERIMENT_PARTS_PREFIX,
    s3_layout.JOB_OUTPUT_PREFIX,
    s3_layout.REPORTS_PREFIX,
)
OBJECT_RESOURCE = re.compile(r"^<(?P<bucket>Storage\w+Bucket[0-9A-F]+)\.Arn>/(?P<pattern>.+)$")
WRITES = ("s3:Put", "s3:Delete", "s3:Abort")
PROJECT = EXECUTION = "labelchain-x"
"""Names that start with the resource prefix: the hardest case for the Ground Truth role's grant."""
JOB_NAME = "labelchain-x-initial"
OUTPUT_BUCKET_NAME = "labelchain-output"


def _role_ids(assembly: CloudAssembly) -> dict[str, str]:
    """Role logical id by a readable name: the function's name, or the role's logical id."""
    names = {}
    for properties in (r["Properties"] for r in assembly.resources("AWS::Lambda::Function").values()):
        names[properties["Role"]["Fn::GetAtt"][0]] = properties["FunctionName"]
    return {names.get(role_id, role_id): role_id for role_id in assembly.resources("AWS::IAM::Role")}


def _object_grants(statements: list[dict[str, Any]]) -> list[tuple[set[str], str, str]]:
    """``(S3 actions, bucket logical id, key pattern)`` of every object-level S3 statement."""
    grants = []
    for statement in statements:
        actions = {a for a in as_list(statement["Action"]) if a.startswith("s3:")}
        for resource in as_list(statement["Resource"]):
            match = OBJECT_RESOURCE.match(resource)
            if actions and match:
                grants.append((actions, match["bucket"], match["pattern"]))
    return grants


def _write_patterns(assembly: CloudAssembly, role_name: str) -> set[tuple[str, str]]:
    statements = assembly.role_statements(_role_ids(assembly)[role_name])
    return {
        (bucket, pattern)
        for actions, bucket, pattern in _object_grants(statements)
        if any(a.startswith(WRITES) for a in actions)
    }


def _bucket(assembly: CloudAssembly, prefix: str) -> str:
    (logical_id,) = [lid for lid in assembly.resources("AWS::S3::Bucket") if lid.startswith(prefix)]
    return logical_id


def test_every_object_grant_is_under_a_layout_prefix_or_a_whole_bucket_read(assembly: CloudAssembly) -> None:
    grants = [
        (role, grant)
        for role, role_id in _role_ids(assembly).items()
        for grant in _object_grants(assembly.role_statements(role_id))
    ]

    assert grants
    for role, (actions, _, pattern) in grants:
        if pattern == "*":
            assert not {a for a in actions if a.startswith(WRITES)}, (role, actions)
        else:
            assert pattern.startswith(LAYOUT_PREFIXES), (role, pattern)


def test_the_only_listing_condition_is_the_job_output_prefix(assembly: CloudAssembly) -> None:
    prefixes = {
        value
        for role_id in _role_ids(assembly).values()
        for statement in assembly.role_statements(role_id)
        for condition in statement.get("Condition", {}).values()
        for value in as_list(condition.get("s3:prefix", []))
    }

    assert prefixes == {f"{s3_layout.JOB_OUTPUT_PREFIX}*"}


def _writers(assembly: CloudAssembly) -> dict[str, tuple[str, list[str]]]:
    """Each writing role → (bucket, the keys its service really builds)."""
    data, output = _bucket(assembly, "StorageDataBucket"), _bucket(assembly, "StorageOutputBucket")
    (ground_truth,) = [name for name in _role_ids(assembly) if name.startswith("GroundTruthRole")]
    return {
        "labelchain-create-job": (
            data,
            [s3_layout.job_file_key(PROJECT, JOB_NAME, name) for name in s3_layout.JOB_FILE_NAMES],
        ),
        "labelchain-prepare-dataset": (data, [s3_layout.experiment_part_key(PROJECT, EXECUTION, 1, 2)]),
        "labelchain-compare-jobs": (output, [f"{s3_layout.report_prefix(PROJECT, EXECUTION)}report.json"]),
        ground_truth: (
            output,
            [f"{s3_layout.job_output_key_prefix(PROJECT, JOB_NAME)}manifests/output/output.manifest"],
        ),
    }


def _granted(patterns: set[tuple[str, str]], bucket: str, key: str) -> bool:
    return any(granted_bucket == bucket and fnmatchcase(key, pattern) for granted_bucket, pattern in patterns)


def test_each_writer_may_write_the_keys_it_builds_and_no_other_writers(assembly: CloudAssembly) -> None:
    writers = _writers(assembly)
    grants = {role: _write_patterns(assembly, role) for role in writers}

    for role, patterns in grants.items():
        assert patterns, role
        for other, (bucket, keys) in writers.items():
            for key in keys:
                assert _granted(patterns, bucket, key) == (other == role), (role, other, key)


def test_only_the_writers_may_write_objects(assembly: CloudAssembly) -> None:
    writers = set(_writers(assembly))

    assert {role for role in _role_ids(assembly) if _write_patterns(assembly, role)} == writers


def _listable_prefixes(statements: list[dict[str, Any]]) -> set[str]:
    return {
        value
        for statement in statements
        if "s3:ListBucket" in as_list(statement["Action"])
        for condition in statement.get("Condition", {}).values()
        for value in as_list(condition.get("s3:prefix", []))
    }


@pytest.mark.parametrize("spec", FINALIZING_SPECS, ids=lambda spec: spec.name_suffix)
def test_every_finalizing_role_may_list_and_read_the_output_prefix_finalize_computes(
    assembly: CloudAssembly, spec: FunctionSpec
) -> None:
    """What ``record_metrics.output_key_prefix_of`` lists for a job of this layout is allowed by each
    finalizing role's ``s3:prefix`` condition and its GetObject grant; a report is not readable, and a
    job from before the ``jobs/`` move may not be listed (Finalize then still seals the record:
    tests/integration/test_finalize_and_failure.py)."""
    output = _bucket(assembly, "StorageOutputBucket")
    statements = assembly.function_role_statements(f"labelchain-{spec.name_suffix}")
    reads = {(bucket, pattern) for _, bucket, pattern in _object_grants(statements)}
    output_manifest = f"{s3_layout.job_output_key_prefix(PROJECT, JOB_NAME)}manifests/output/output.manifest"
    record = JobRecord.model_construct(project=PROJECT, job_name=JOB_NAME)
    described = LabelingJobDescription.model_construct(
        output_manifest_uri=s3_layout.s3_uri(OUTPUT_BUCKET_NAME, output_manifest)
    )
    listed = output_key_prefix_of(record, described, OUTPUT_BUCKET_NAME)
    old_layout = f"{PROJECT}/{JOB_NAME}/"

    assert listed == s3_layout.job_output_key_prefix(PROJECT, JOB_NAME)
    assert any(fnmatchcase(listed, pattern) for pattern in _listable_prefixes(statements))
    assert not any(fnmatchcase(old_layout, pattern) for pattern in _listable_prefixes(statements))
    assert _granted(reads, output, output_manifest)
    assert not _granted(reads, output, f"{s3_layout.report_prefix(PROJECT, EXECUTION)}report.json")


LITERAL_PREFIX = re.compile("|".join(re.escape(prefix) for prefix in LAYOUT_PREFIXES))


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String constants of a module's code, docstrings and other bare string statements left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bare = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in bare
    ]


def test_no_s3_prefix_is_spelled_out_in_infra_code() -> None:
    found = [
        f"{path.name}:{line}: {text!r}"
        for path in sorted((PROJECT_ROOT / "infra").glob("*.py"))
        for line, text in _code_strings(path)
        if LITERAL_PREFIX.search(text)
    ]

    assert found == []
