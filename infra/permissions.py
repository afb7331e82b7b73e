"""Grant a permission and acknowledge its cdk-nag findings in one call: why a role may do something is
read where it is granted.

``allow`` adds one statement to a role and, for every wildcard action (``s3:GetObject*``) and wildcard
resource in it, acknowledges the ``AwsSolutions-IAM5`` finding cdk-nag will report, with ``why`` as the
reason. The finding text is derived from the statement itself (its resolved tokens rendered the way
cdk-nag prints them), so it can be neither broader than the statement nor stale. ``acknowledge_grant``
does the same for a grant CDK builds (``table.grant``, ``bucket.grant_read``, ``key.grant``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from infra.nag import acknowledge, wildcard_details, wildcard_finding


def allow(
    role: iam.IRole,
    *,
    actions: Sequence[str],
    resources: Sequence[str],
    why: str,
    sid: str | None = None,
    conditions: Mapping[str, Any] | None = None,
) -> iam.PolicyStatement:
    """Allow ``actions`` on ``resources`` to ``role``; acknowledge each wildcard in them because ``why``."""
    statement = iam.PolicyStatement(
        sid=sid,
        actions=list(actions),
        resources=list(resources),
        conditions=dict(conditions) if conditions is not None else None,
    )
    role.add_to_principal_policy(statement)
    acknowledge_wildcards(role, [statement], why)
    return statement


def acknowledge_grant(role: iam.IRole, grant: iam.Grant, why: str) -> iam.Grant:
    """Acknowledge each wildcard of the statements a CDK ``grant`` added to ``role`` because ``why``."""
    acknowledge_wildcards(role, grant.principal_statements, why)
    return grant


def acknowledge_wildcards(role: iam.IRole, statements: Iterable[iam.PolicyStatement], why: str) -> None:
    """One ``AwsSolutions-IAM5`` acknowledgment on ``role`` per wildcard in ``statements``."""
    stack = Stack.of(role)
    for statement in statements:
        for detail in wildcard_details(stack.resolve(statement.to_statement_json())):
            acknowledge(role, wildcard_finding(detail), why)
