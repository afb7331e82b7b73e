"""``labelchain start INPUT.json``: start a LabelingJob (or Experiment) execution of the deployed stack."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, datetime

from labelchain.cli import output
from labelchain.cli.exits import OK, USAGE, CliError
from labelchain.cli.inputs import load_input
from labelchain.cli.options import Subparsers, add_command, seconds
from labelchain.cli.watch import Watch, tracked_jobs

NAME = "start"
EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
DEFAULT_INTERVAL_SECONDS = 10.0
DESCRIPTION = """\
Check INPUT.json with CreateJob's model (exit 2 if it is invalid), find the stack's state machine in
its CloudFormation outputs, and start an execution. The execution name becomes part of the labeling
job's name (<prefix>-<name>-<hash>); it defaults to <project>-<UTC time>.

With --wait, follow the execution and its job record(s) until the execution ends: a line whenever
something changes — execution status, job status, human- and machine-labeled objects, % machine,
the running cost (the reconciler's estimate; the final cost once the record is sealed) — then the
outcome. Exits 0 only if the execution SUCCEEDED. Ctrl-C stops watching, not the execution."""
EXAMPLES = """\
  labelchain start examples/bird-bounding-box.json --name birds-half-a
  labelchain start examples/bird-bounding-box.json --name birds-half-a --wait --interval 30
  labelchain start examples/experiment-birds.json --experiment --name birds-exp-1 --wait"""


def execution_name(text: str) -> str:
    if not EXECUTION_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"expected 1-80 letters, digits, '.', '_' or '-' (a Step Functions execution name), got {text!r}"
        )
    return text


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="start a labeling job (or the experiment) and optionally wait for it",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
    )
    parser.add_argument("input", metavar="INPUT.json", help="the execution input ('-': standard input)")
    parser.add_argument("--name", metavar="N", type=execution_name, help="execution name")
    parser.add_argument(
        "--experiment", action="store_true", help="start the Experiment state machine (docs/EXPERIMENT.md)"
    )
    add_wait_arguments(parser, "until the execution ends; exit 0 only if it SUCCEEDED")


def add_wait_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--wait", action="store_true", help=f"print progress {what}")
    parser.add_argument(
        "--interval",
        metavar="S",
        type=seconds,
        default=DEFAULT_INTERVAL_SECONDS,
        help=f"seconds between polls with --wait (default {DEFAULT_INTERVAL_SECONDS:g})",
    )
    parser.add_argument(
        "--timeout", metavar="S", type=seconds, help="stop waiting after S seconds (exit 1; the work goes on)"
    )


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    from labelchain.adapters.aws_errors import has_code  # noqa: PLC0415
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    checked = load_input(args.input, args.experiment)
    aws = Aws.from_args(args)
    outputs = aws.outputs()
    machine = outputs.experiment_arn if args.experiment else outputs.labeling_job_arn
    name = args.name or f"{checked.project}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    stepfunctions = aws.client("stepfunctions")
    try:
        started = stepfunctions.start_execution(
            stateMachineArn=machine, name=name, input=json.dumps(checked.raw)
        )
    except ClientError as exc:
        if has_code(exc, {"ExecutionAlreadyExists"}):
            raise CliError(
                f"an execution named {name!r} already exists (names stay taken for 90 days); "
                "pick another --name",
                USAGE,
            ) from None
        raise
    execution_arn = str(started["executionArn"])
    tracked = tracked_jobs(outputs, execution_arn)
    output.emit(f"started {checked.kind} execution {name} on stack {outputs.stack_name}")
    output.emit(
        output.fields(
            [
                ("execution", execution_arn),
                *((t.label if t.label != "job" else "labeling job", t.job_name) for t in tracked),
                ("follow", f"labelchain status {name}"),
            ],
            "  ",
        )
    )
    if not args.wait:
        return OK
    return Watch(
        execution_arn,
        tracked,
        stepfunctions,
        aws.store(),
        interval=args.interval,
        timeout=args.timeout,
    ).run()
