"""Fixtures of the infra tests.

Synthesis is the slow part (jsii start-up, then ~2 s per app), so the real app is synthesized once per
test session, the way ``app.py`` does it (cdk.json context, cdk-nag on), and every module reads that one
cloud assembly. Modules that need a variant deployment synthesize it once, module-scoped.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.application import build_app
from infra.definitions import DEFAULT_PSEUDO_PARAMETERS, resolve_intrinsics
from infra.stack import STACK_ID
from tests.support.synth import default_assembly_directory


@dataclass(frozen=True)
class CloudAssembly:
    """What a synth wrote: the template, the construct metadata and cdk-nag's validation report."""

    directory: Path
    template: dict[str, Any]
    metadata: dict[str, list[dict[str, Any]]]
    validation_report: dict[str, Any]

    @classmethod
    def read(cls, directory: Path) -> CloudAssembly:
        def load(name: str) -> Any:
            return json.loads((directory / name).read_text(encoding="utf-8"))

        return cls(
            directory=directory,
            template=load(f"{STACK_ID}.template.json"),
            metadata=load(f"{STACK_ID}.metadata.json"),
            validation_report=load("validation-report.json"),
        )

    @property
    def template_path(self) -> Path:
        return self.directory / f"{STACK_ID}.template.json"

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Resources of one CloudFormation type, by logical id."""
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def function(self, function_name: str) -> tuple[str, dict[str, Any]]:
        """``(logical id, Properties)`` of the Lambda function named ``function_name``."""
        for logical_id, resource in self.resources("AWS::Lambda::Function").items():
            if resource["Properties"].get("FunctionName") == function_name:
                return logical_id, resource["Properties"]
        raise AssertionError(f"no Lambda function named {function_name}")

    def role_statements(self, role_logical_id: str) -> list[dict[str, Any]]:
        """Every statement of every IAM policy attached to the role, intrinsics rendered as text."""
        statements: list[dict[str, Any]] = []
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
                document = policy["Properties"]["PolicyDocument"]
                state_machines = set(self.resources("AWS::StepFunctions::StateMachine"))
                statements.extend(
                    render(document["Statement"], self.template.get("Mappings"), state_machines)
                )
        return statements

    def function_role_statements(self, function_name: str) -> list[dict[str, Any]]:
        _, properties = self.function(function_name)
        return self.role_statements(properties["Role"]["Fn::GetAtt"][0])


def render(
    value: Any, mappings: Mapping[str, Any] | None = None, state_machines: Collection[str] = ()
) -> Any:
    """Template JSON with references written as ``<LogicalId.Attribute>`` / ``<LogicalId>``, the pseudo
    parameters of ``DEFAULT_PSEUDO_PARAMETERS`` (us-east-1), and mapping lookups done, so IAM assertions
    compare plain strings. A ``Ref`` to one of ``state_machines`` renders as an ARN whose name is
    ``<LogicalId>`` (CDK splits that ARN to get the name)."""

    def reference(logical_id: str, attribute: str | None) -> str:
        if attribute is None and logical_id in state_machines:
            return f"arn:aws:states:us-east-1:123456789012:stateMachine:<{logical_id}>"
        return f"<{logical_id}.{attribute}>" if attribute else f"<{logical_id}>"

    return resolve_intrinsics(value, reference, DEFAULT_PSEUDO_PARAMETERS, mappings)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def synthesize(outdir: Path, context_overrides: Mapping[str, Any] | None = None) -> CloudAssembly:
    """Synthesize the app (cdk.json context + overrides, cdk-nag on) into ``outdir``."""
    build_app(context_overrides, outdir=str(outdir)).synth()
    return CloudAssembly.read(outdir)


@pytest.fixture(scope="session")
def assembly() -> CloudAssembly:
    """The default deployment: the session's one synthesis of ``app.py`` (``tests.support.synth``), which
    the workflow and e2e tests read too."""
    return CloudAssembly.read(default_assembly_directory())


@pytest.fixture(scope="session")
def template(assembly: CloudAssembly) -> Template:
    """The default deployment's template for ``aws_cdk.assertions``."""
    return Template.from_json(assembly.template)
