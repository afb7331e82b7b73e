"""cdk-nag wiring, and how an accepted finding is recorded on the construct it concerns.

cdk-nag 3.x runs as a CDK policy-validation plugin, not as an Aspect (``Aspects.of(app).add(...)`` fails
with "aspect.visit is not a function" on 3.x): ``Validations.of(app).add_plugins(AwsSolutionsChecks(app))``.
Any unacknowledged finding then fails ``synth`` with a validation report (``validation-report.json`` in
the output directory), so ``cdk synth``/``cdk deploy`` cannot ship a template with open findings.

There is no central list of accepted findings: each one is acknowledged where the construct that causes
it is made, with the reason beside it (``infra.permissions.allow`` for the statements LabelChain writes,
``acknowledge`` for what CDK adds on its own: X-Ray, state machine logging, Lambda task versions). An
acknowledgment sits on the role, function or queue that carries the finding (never on the stack or app)
and names one exact finding, e.g. ``AwsSolutions-IAM5[Resource::<DataBucket.Arn>/*]``, so a new wildcard
elsewhere in the same policy is still reported. cdk-nag records each acknowledgment and its reason in the
cloud assembly metadata (``aws:cdk:acknowledged-rules``), which the infra tests audit.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

RULE_PACK = "AwsSolutions"
WILDCARD_RULE = "AwsSolutions-IAM5"
"""IAM entities with wildcard permissions: one finding per wildcard action or resource."""


def apply_cdk_nag(app: App) -> None:
    """Run the AwsSolutions checks at synth; every construct acknowledges its own accepted findings."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(construct: IConstruct, finding: str, why: str) -> None:
    """Accept one cdk-nag ``finding`` on ``construct`` because ``why``.

    ``finding`` is what cdk-nag reports: a rule (``AwsSolutions-L1``) or a rule and its detail
    (``AwsSolutions-IAM5[Resource::*]``, see ``wildcard_finding``).
    """
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{RULE_PACK}::{finding}", reason=why))


def wildcard_finding(detail: str) -> str:
    """``Action::s3:GetObject*`` / ``Resource::<arn>`` → the IAM5 finding cdk-nag reports for it."""
    return f"{WILDCARD_RULE}[{detail}]"


def nag_text(value: Any) -> str:
    """A resolved CloudFormation value as cdk-nag prints it in a finding: ``Fn::Join`` joined,
    ``Fn::GetAtt`` as ``<LogicalId.Attribute>``, ``Ref`` as ``<LogicalId>`` (``<AWS::Region>``), any
    other intrinsic (``Fn::FindInMap``, ``Fn::Select``) as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(nag_text(item) for item in items)
        if "Fn::Sub" in value:
            return nag_text(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{nag_text(resource)}.{nag_text(attribute)}>"
        if "Fn::ImportValue" in value:
            return nag_text(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{nag_text(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def wildcard_details(resolved_statement: dict[str, Any]) -> list[str]:
    """The IAM5 details (``Action::…``, ``Resource::…``) of one resolved Allow statement, in order."""
    if resolved_statement.get("Effect") != "Allow":
        return []
    details = [f"Action::{action}" for action in _as_list(resolved_statement.get("Action")) if "*" in action]
    for resource in _as_list(resolved_statement.get("Resource")):
        text = nag_text(resource)
        if "*" in text:
            details.append(f"Resource::{text}")
    return list(dict.fromkeys(details))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
