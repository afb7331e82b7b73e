"""Argument pieces the subcommands share: the AWS options, number types, the help layout."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from typing import Any

from labelchain.cli.exits import EXIT_CODES_HELP

HELP_WIDTH = 100
Subparsers = Any
"""``argparse._SubParsersAction`` (private in typeshed's eyes)."""


def aws_options(stack: bool = True) -> argparse.ArgumentParser:
    """``--region`` and (for every subcommand that talks to the deployed stack) ``--stack``."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("AWS")
    group.add_argument("--region", metavar="R", help="AWS region (default: boto3's configuration)")
    if not stack:
        return parent
    group.add_argument(
        "--stack",
        metavar="NAME",
        help="CloudFormation stack of the deployment (default: LABELCHAIN_STACK, else the name cdk.json's "
        "resource_prefix gives: LabelChain)",
    )
    return parent


def add_command(
    subparsers: Subparsers,
    name: str,
    *,
    summary: str,
    description: str,
    examples: str,
    run: Callable[[argparse.Namespace], int],
    aws: bool | str = True,
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with its examples and the exit codes; ``aws``: True adds
    ``--region`` and ``--stack``, ``"region"`` only ``--region``, False neither."""
    if "\n" not in description:  # one paragraph: wrap it (the layout of the others is kept as written)
        description = textwrap.fill(description, HELP_WIDTH)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"examples:\n{examples}\n\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[aws_options(stack=aws is True)] if aws else [],
    )
    parser.set_defaults(run=run)
    return parser


def whole_number(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be a whole number {bound}, got {text!r}")
        return value

    return parse


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text!r}")
    return value
