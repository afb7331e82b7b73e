"""The stack's CloudFormation outputs, offline: a stand-in stack in moto's CloudFormation.

The offline stack creates the template's resources one by one (``local/resources.py``), not through
CloudFormation, so nothing would answer ``DescribeStacks``. This registers a stand-in stack under the
name a deployment of this template gets (``LabelChain`` for the default resource prefix) whose
Outputs are the template's outputs resolved to the offline resources' real names and ARNs — the
table, the state machines, the buckets — so the ``labelchain`` CLI finds them exactly as on AWS.
Its only resource is an ``AWS::CloudFormation::WaitConditionHandle``, which moto accepts and creates
nothing for. Outputs naming something the offline stack does not create are left out.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from labelchain.cli.project import stack_name_for
from local.resources import DeployedStack

PLACEHOLDER = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
MOTO_UNSUPPORTED_WARNING = r"Tried to parse AWS::CloudFormation::WaitConditionHandle"


def resolved_outputs(template: Mapping[str, Any], deployed: DeployedStack) -> dict[str, str]:
    """The template's outputs with their values resolved against the offline resources; an output that
    names a resource the offline stack does not create (a dashboard, an alarm) is left out."""
    resolved = {}
    for key, output in template.get("Outputs", {}).items():
        try:
            resolved[key] = str(deployed.resolve(output["Value"]))
        except KeyError:
            continue
    return resolved


def stand_in_template(template: Mapping[str, Any], deployed: DeployedStack) -> dict[str, Any]:
    """A template moto can create: one placeholder resource and the outputs as literal values."""
    outputs = resolved_outputs(template, deployed)
    described = template.get("Outputs", {})
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Offline stand-in: the outputs of the LabelChain stack the offline stack runs",
        "Resources": {"OfflineStackOutputs": PLACEHOLDER},
        "Outputs": {
            key: {"Value": value, "Description": str(described[key].get("Description", ""))}
            for key, value in outputs.items()
        },
    }


def register_stack_outputs(
    template: Mapping[str, Any], deployed: DeployedStack, cloudformation: Any, resource_prefix: str
) -> str:
    """Create the stand-in stack (named as a deployment with ``resource_prefix`` is); returns its name."""
    name = stack_name_for(resource_prefix)
    with warnings.catch_warnings():  # moto notes that it creates nothing for the placeholder
        warnings.filterwarnings("ignore", message=MOTO_UNSUPPORTED_WARNING, category=UserWarning)
        body = json.dumps(stand_in_template(template, deployed))
        cloudformation.create_stack(StackName=name, TemplateBody=body)
    return name
