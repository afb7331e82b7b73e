"""``labelchain``: the parser of every subcommand, and the one place errors become exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from labelchain.cli import (
    cost,
    doctor,
    jobs,
    output,
    project_settings,
    report,
    start,
    status,
    stop,
    validate,
)
from labelchain.cli.exits import AWS, EXIT_CODES_HELP, INTERRUPTED, CliError

COMMANDS = (validate, start, status, stop, jobs, report, cost, doctor, project_settings)
"""In the order ``labelchain --help`` lists them."""
PROG = "labelchain"
DESCRIPTION = """\
LabelChain from the command line: check an input and price it, start a labeling job (or the seed
experiment) and follow it, see and stop running jobs, a project's job history, experiment figures,
a preflight check of the account, and the settings of projects whose jobs start on upload. The
stack is found from its CloudFormation outputs (stack LabelChain unless --stack or LABELCHAIN_STACK
says otherwise); AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SAGEMAKER point it at the offline stack.
Reference: docs/CLI.md."""
EXAMPLES = """\
examples:
  labelchain validate examples/bird-bounding-box.json --objects 1250
  labelchain doctor examples/bird-bounding-box.json
  labelchain start my-job.json --name birds-half-a --wait
  labelchain status
  labelchain stop birds-half-a --wait
  labelchain project-settings put birds --file examples/project.json"""


def version() -> str:
    from importlib.metadata import PackageNotFoundError  # noqa: PLC0415
    from importlib.metadata import version as installed  # noqa: PLC0415

    try:
        return installed("labelchain")
    except PackageNotFoundError:
        return "source checkout (not installed: make setup installs it)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=f"{EXAMPLES}\n\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns its exit code (argparse exits 2 itself on bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from labelchain.adapters.aws_errors import AWS_FAILURES  # noqa: PLC0415
    from labelchain.cli.aws import describe_aws_error  # noqa: PLC0415

    try:
        code: int = args.run(args)
    except CliError as exc:
        output.warn(args.command, str(exc))
        return exc.code
    except AWS_FAILURES as exc:
        output.warn(args.command, describe_aws_error(exc))
        return AWS
    except KeyboardInterrupt:
        output.warn(args.command, "interrupted; whatever was started goes on (labelchain status shows it)")
        return INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
