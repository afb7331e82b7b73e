"""Read the synthesized CloudFormation template back into runnable pieces.

The state machine definition in the template is a ``DefinitionString`` built with ``Fn::Join`` around
references to the Lambda functions (``Fn::GetAtt [<LogicalId>, Arn]``) and pseudo parameters. Tests and
the offline stack need the concrete Amazon States Language document with *their* function ARNs, taken
from this one synthesized source, never from a hand-written copy. This module does only that: pure
functions over the template JSON, no CDK, no AWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

ReferenceResolver = Callable[[str, str | None], str]
"""``(logical_id, attribute)`` → value; ``attribute`` is None for ``Ref``, "Arn" etc. for ``Fn::GetAtt``."""

STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"
LAMBDA_FUNCTION_TYPE = "AWS::Lambda::Function"

DEFAULT_PSEUDO_PARAMETERS: Mapping[str, str] = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "LabelChain",
}


class TemplateReadError(ValueError):
    """The template does not contain what was asked for, or uses an intrinsic this reader cannot resolve."""


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, Mapping[str, Any]]:
    """Every resource of ``resource_type``, by logical id."""
    resources: Mapping[str, Mapping[str, Any]] = template.get("Resources", {})
    return {logical_id: res for logical_id, res in resources.items() if res.get("Type") == resource_type}


def find_state_machine(template: Mapping[str, Any], logical_id_or_name: str) -> tuple[str, Mapping[str, Any]]:
    """The state machine whose logical id or ``StateMachineName`` is ``logical_id_or_name``."""
    machines = resources_of_type(template, STATE_MACHINE_TYPE)
    for logical_id, resource in machines.items():
        if logical_id_or_name in (logical_id, resource.get("Properties", {}).get("StateMachineName")):
            return logical_id, resource
    raise TemplateReadError(
        f"no state machine with logical id or name {logical_id_or_name!r}; template has {sorted(machines)}"
    )


def resolve_intrinsics(
    value: Any,
    resolve_reference: ReferenceResolver,
    pseudo_parameters: Mapping[str, str] = DEFAULT_PSEUDO_PARAMETERS,
    mappings: Mapping[str, Any] | None = None,
) -> Any:
    """``value`` with ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Split``, ``Fn::Select`` and
    ``Fn::FindInMap`` (looked up in the template's ``mappings``) replaced by concrete values."""

    def resolve(item: Any) -> Any:
        return resolve_intrinsics(item, resolve_reference, pseudo_parameters, mappings)

    if isinstance(value, list):
        return [resolve(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            if argument in pseudo_parameters:
                return pseudo_parameters[argument]
            return resolve_reference(argument, None)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return resolve_reference(logical_id, attribute)
        if function == "Fn::Join":
            delimiter, parts = argument
            return delimiter.join(str(part) for part in resolve(parts))
        if function == "Fn::FindInMap":
            mapping, top_key, second_key = resolve(argument)
            try:
                return (mappings or {})[mapping][top_key][second_key]
            except KeyError:
                raise TemplateReadError(f"no mapping value {mapping}.{top_key}.{second_key}") from None
        if function == "Fn::Split":
            delimiter, source = argument
            return str(resolve(source)).split(delimiter)
        if function == "Fn::Select":
            index, items = argument
            return resolve(items)[int(index)]
        if function.startswith("Fn::"):
            raise TemplateReadError(f"cannot resolve intrinsic {function}")
    return {key: resolve(item) for key, item in value.items()}


def state_machine_definition(
    template: Mapping[str, Any],
    logical_id_or_name: str,
    arn_resolver: ReferenceResolver,
    pseudo_parameters: Mapping[str, str] = DEFAULT_PSEUDO_PARAMETERS,
) -> dict[str, Any]:
    """The Amazon States Language document of a state machine, with references resolved by ``arn_resolver``.

    ``arn_resolver(logical_id, attribute)`` supplies each referenced value, typically a Lambda function's
    ARN for ``(<function logical id>, "Arn")``; see ``lambda_arns_by_logical_id`` and ``placeholder_arns``.
    """
    _, resource = find_state_machine(template, logical_id_or_name)
    properties = resource.get("Properties", {})
    mappings = template.get("Mappings")
    if "Definition" in properties:
        definition = resolve_intrinsics(properties["Definition"], arn_resolver, pseudo_parameters, mappings)
        return dict(definition)
    definition_string = resolve_intrinsics(
        properties.get("DefinitionString"), arn_resolver, pseudo_parameters, mappings
    )
    if not isinstance(definition_string, str):
        raise TemplateReadError(f"state machine {logical_id_or_name!r} has no DefinitionString")
    document: dict[str, Any] = json.loads(definition_string)
    return document


def lambda_functions(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``Properties`` of every Lambda function (Handler, FunctionName, Environment, ...), by logical id."""
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in resources_of_type(template, LAMBDA_FUNCTION_TYPE).items()
    }


def lambda_arns_by_logical_id(arns: Mapping[str, str]) -> ReferenceResolver:
    """A resolver that answers ``Fn::GetAtt [<function>, Arn]`` from ``arns`` and rejects anything else."""

    def resolve(logical_id: str, attribute: str | None) -> str:
        if attribute == "Arn" and logical_id in arns:
            return arns[logical_id]
        raise TemplateReadError(f"no value for {logical_id}.{attribute or 'Ref'}")

    return resolve


def placeholder_arns(
    template: Mapping[str, Any], pseudo_parameters: Mapping[str, str] = DEFAULT_PSEUDO_PARAMETERS
) -> ReferenceResolver:
    """Deterministic fake ARNs for every Lambda function in the template, named after the function."""
    arns = {}
    for logical_id, properties in lambda_functions(template).items():
        name = properties.get("FunctionName")
        name = name if isinstance(name, str) else logical_id
        arns[logical_id] = (
            f"arn:{pseudo_parameters['AWS::Partition']}:lambda:{pseudo_parameters['AWS::Region']}:"
            f"{pseudo_parameters['AWS::AccountId']}:function:{name}"
        )
    return lambda_arns_by_logical_id(arns)
