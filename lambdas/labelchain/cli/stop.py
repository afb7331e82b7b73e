"""``labelchain stop JOB|EXECUTION``: stop a job through the stack's lifecycle, never around it."""

from __future__ import annotations

import argparse
from typing import Any

from labelchain.cli import output
from labelchain.cli.exits import AWS, OK, USAGE, CliError
from labelchain.cli.options import Subparsers, add_command
from labelchain.cli.start import add_wait_arguments
from labelchain.cli.targets import resolve_target
from labelchain.cli.watch import RUNNING, Tracked, Watch, final_text, tracked_jobs

NAME = "stop"
STOP_ERROR = "StoppedWithLabelChainCli"
"""The error StopExecution records on the execution (the job's stop_reason quotes it)."""
DESCRIPTION = """\
Stop a labeling job (or an Experiment) the way the stack stops it, so its record ends final with
its counters and cost:
  * while its execution runs: StopExecution. The stack's ExecutionEnded handler then stops the
    labeling job, records why (stop_reason), and the job's Stopped event (or the reconciler)
    finalizes the record. An Experiment's running jobs are stopped with it.
  * when its execution has already ended (a job adopted by the reconciler): StopLabelingJob, and
    the stop reason is written to the record; the reconciler or the job's Stopped event finalizes it.
With --wait, follow until every job record is final and print the final line(s)."""
EXAMPLES = """\
  labelchain stop birds-half-a                      # by execution name
  labelchain stop labelchain-birds-half-a-1a2b3c4d --reason "wrong manifest" --wait
  labelchain stop arn:aws:states:us-east-1:123456789012:execution:labelchain-experiment:birds-exp-1
  labelchain stop --all --wait                      # every running or queued job (teardown)"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="stop a job or an execution cleanly (the record ends final)",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
    )
    parser.add_argument(
        "target", metavar="JOB|EXECUTION", nargs="?", help="job name or ARN, or execution name or ARN"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="stop every job that is not final (before `make destroy`): each one as if named",
    )
    parser.add_argument(
        "--reason",
        metavar="TEXT",
        help="why: the StopExecution cause of a running execution; the record's stop_reason of a job whose "
        "execution has ended",
    )
    add_wait_arguments(parser, "until every job record of the target is final")


def run(args: argparse.Namespace) -> int:
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    if bool(args.target) == bool(args.all):
        raise CliError("name one JOB|EXECUTION, or --all (not both)", USAGE)
    aws = Aws.from_args(args)
    if not args.all:
        return stop_one(args, aws, args.target)
    names = [record.job_name for record in aws.store().active_jobs()]
    if not names:
        output.emit("no job is running or queued: nothing to stop")
        return OK
    codes = [stop_one(args, aws, name) for name in names]
    return max(codes)


def stop_one(args: argparse.Namespace, aws: Any, target_text: str) -> int:
    """Stop one job or execution (see DESCRIPTION); with --wait, follow it until its records are final."""
    from labelchain.errors import LabelingJobNotFound  # noqa: PLC0415

    target = resolve_target(target_text, aws)
    executions = aws.executions()
    store = aws.store()
    why = f"stopped with `labelchain stop {target_text}`" + (f": {args.reason}" if args.reason else "")
    status = executions.status(target.execution_arn)
    if target.record is not None:
        tracked = [Tracked("job", target.record.job_name, target.execution_arn)]
    else:
        tracked = tracked_jobs(aws.outputs(), target.execution_arn)

    if status == RUNNING:
        executions.stop(target.execution_arn, STOP_ERROR, why)
        output.emit(
            f"stopped execution {target.execution_name} ({target.kind}); the stack's ExecutionEnded handler "
            "stops its labeling job(s) and the records end final with their cost"
        )
    elif target.record is None:
        output.emit(f"execution {target.execution_name} has already ended ({status}); nothing to stop")
        for job in tracked:
            record = store.get_job(job.job_name)
            if record is not None and record.finalized_at is None:
                output.emit(f"  {job.label} {job.job_name} is not final: labelchain stop {job.job_name}")
        return OK
    else:
        record = target.record
        if record.finalized_at is not None:
            output.emit(f"job {record.job_name} is already final: {final_text(record)}")
            return OK
        try:
            asked = aws.labeling_jobs().stop(record.job_name)
        except LabelingJobNotFound:
            raise CliError(
                f"SageMaker has no labeling job {record.job_name!r} in {aws.region} (the reconciler "
                "seals such a record NotFoundInSageMaker)",
                AWS,
            ) from None
        reason = f"{why} (its execution {target.execution_name} was {status or 'gone'})"
        store.update_job(record.job_name, {"stop_reason": reason, "watcher": "reconciler"})
        output.emit(
            f"asked SageMaker to stop job {record.job_name} (its execution has ended: {status}); the job's "
            "Stopped event or the reconciler finalizes the record"
            if asked
            else f"job {record.job_name} has already ended in SageMaker; the reconciler finalizes its record"
        )
    if not args.wait:
        return OK
    return Watch(
        target.execution_arn,
        tracked,
        aws.client("stepfunctions"),
        store,
        interval=args.interval,
        timeout=args.timeout,
        until_final=True,
    ).run()
