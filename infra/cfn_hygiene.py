"""Keep the synthesized template free of cfn-lint warnings CDK itself would cause.

A Lambda function or state machine created with a role gets ``DependsOn: [<role>, <role default
policy>]`` from CDK, although it already references the role with ``Fn::GetAtt`` (cfn-lint W3005,
"dependency already enforced"). The dependency on the *policy* is the one that matters: the function or
state machine must not be created (Step Functions checks its logging permissions at creation) before its
permissions exist. This helper states exactly that dependency.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct


def depend_on_role_policy_only(resource: IConstruct, role: iam.IRole) -> None:
    """Make ``resource``'s CloudFormation resource depend on ``role``'s default policy and nothing else.

    Call it after the resource is created (the role's default policy then exists); statements added to
    the same policy later are covered, since the dependency is on the policy resource itself.
    """
    cfn_resource = resource.node.default_child
    policy = role.node.try_find_child("DefaultPolicy")
    if not isinstance(cfn_resource, CfnResource) or policy is None:
        raise ValueError(f"{resource.node.path} has no CloudFormation resource or {role.node.path} no policy")
    policy_resource = policy.node.default_child
    if not isinstance(policy_resource, CfnResource):
        raise ValueError(f"{policy.node.path} has no CloudFormation resource")
    cfn_resource.add_override("DependsOn", [Stack.of(resource).get_logical_id(policy_resource)])
