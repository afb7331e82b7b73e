"""``labelchain status``: one job in detail, or a table of running (or a project's recent) jobs."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from labelchain.cli import output
from labelchain.cli.exits import OK
from labelchain.cli.options import Subparsers, add_command, whole_number
from labelchain.cli.targets import Target, resolve_target
from labelchain.cli.watch import cost_text, machine_percent, tracked_jobs
from labelchain.core.labor import hours
from labelchain.core.records import JobRecord

NAME = "status"
DEFAULT_LIMIT = 20
DESCRIPTION = """\
Without arguments: every job that is not final yet (running or queued), from the table's
active-jobs index. With --project: the project's jobs, newest first. With a job name or ARN, or
an execution name or ARN: that job in detail — status, who watches it, counters, running or final
cost, budget, how its end was detected, why it was stopped, the reconciler's repairs, the models
(an Experiment execution shows its three jobs)."""
EXAMPLES = """\
  labelchain status                                  # running and queued jobs
  labelchain status --project birds                  # the project's jobs, newest first
  labelchain status birds-half-a                     # by execution name
  labelchain status labelchain-birds-half-a-1a2b3c4d # by job name
  labelchain status birds-half-a --json"""
TABLE_HEADER = ("job", "project", "status", "watcher", "human", "machine", "machine %", "cost USD", "created")
TABLE_ALIGN = "llllrrrrl"


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="one job in detail, or a table of running or recent jobs",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
    )
    parser.add_argument(
        "target", nargs="?", metavar="JOB|EXECUTION", help="job name or ARN, or execution name or ARN"
    )
    parser.add_argument("--project", metavar="P", help="list this project's jobs, newest first")
    parser.add_argument(
        "--limit",
        metavar="N",
        type=whole_number(1),
        default=DEFAULT_LIMIT,
        help=f"rows of --project (default {DEFAULT_LIMIT})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    aws = Aws.from_args(args)
    if args.target is not None:
        return _detail(resolve_target(args.target, aws), aws, args.json)
    store = aws.store()
    if args.project is not None:
        records = _first(store.jobs_of_project(args.project, newest_first=True), args.limit)
        title = f"project {args.project!r}: {output.plural(len(records), 'job')}, newest first"
        empty = f"project {args.project!r} has no jobs in table {aws.outputs().table_name}"
    else:
        records = sorted(store.active_jobs(), key=lambda r: (r.created_at, r.job_name))
        title = f"{output.plural(len(records), 'job')} not final yet (running or queued), oldest first"
        empty = "no running or queued jobs"
    if args.json:
        output.emit_json([record.model_dump(mode="json", exclude={"watch_token"}) for record in records])
    else:
        output.emit(jobs_table(records, title) if records else empty)
    return OK


def _first(records: Iterable[JobRecord], limit: int) -> list[JobRecord]:
    found = []
    for record in records:
        found.append(record)
        if len(found) >= limit:
            break
    return found


def _cost_cell(record: JobRecord) -> str:
    if record.cost is not None and record.finalized_at is not None:
        return f"{record.cost.total_cost_usd:,.2f}"
    if record.running_cost_usd is not None:
        return f"~{float(record.running_cost_usd):,.2f}"
    return output.NO_VALUE


def jobs_table(records: list[JobRecord], title: str) -> str:
    """Running or recent jobs, one per line (a ``~`` cost is the running estimate)."""
    rows = [
        [
            r.job_name,
            r.project,
            r.status + ("" if r.finalized_at is not None or r.status in {"Queued"} else "*"),
            r.watcher,
            f"{r.counters.human_labeled:,}",
            f"{r.counters.machine_labeled:,}",
            machine_percent(r).removesuffix(" %"),
            _cost_cell(r),
            output.when(r.created_at),
        ]
        for r in records
    ]
    note = "* not final yet; ~ running cost estimate"
    return f"{title}\n\n{output.table(TABLE_HEADER, rows, TABLE_ALIGN)}\n\n{note}"


def _detail(target: Target, aws: Any, as_json: bool) -> int:
    stepfunctions = aws.client("stepfunctions")
    described = stepfunctions.describe_execution(executionArn=target.execution_arn)
    store = aws.store()
    if target.record is not None:
        records = [target.record]
    else:
        tracked = tracked_jobs(aws.outputs(), target.execution_arn)
        found = [store.get_job(t.job_name) for t in tracked]
        records = [r for r in found if r is not None]
    if as_json:
        output.emit_json(
            {
                "execution": {
                    "arn": target.execution_arn,
                    "kind": target.kind,
                    "status": described["status"],
                    "error": described.get("error"),
                    "cause": described.get("cause"),
                },
                "jobs": [r.model_dump(mode="json", exclude={"watch_token"}) for r in records],
            }
        )
        return OK
    execution_line = f"{target.execution_name} ({target.kind}): {described['status']}"
    if described.get("error"):
        execution_line += f" — {described['error']}: {str(described.get('cause') or '')[:300]}"
    if target.kind == "experiment":
        output.emit(f"experiment execution {execution_line}")
        output.emit(
            jobs_table(records, f"its jobs ({len(records)} of 3 created)")
            if records
            else "no job created yet"
        )
        return OK
    if not records:
        output.emit(f"execution {execution_line}\nno job record: CreateJob has not recorded a job (yet)")
        return OK
    output.emit(job_detail(records[0], execution_line))
    return OK


def job_detail(record: JobRecord, execution_line: str) -> str:
    """Everything the record says about one job, as ``label: value`` lines."""
    counters = record.counters
    watcher = {
        "execution": "the execution (WaitForJob) waits for the job",
        "reconciler": "the reconciler and the job-event handler (the execution no longer waits)",
    }.get(record.watcher, record.watcher)
    pairs: list[tuple[str, str]] = [
        ("job", record.job_name),
        ("project", record.project),
        ("status", record.status + ("" if record.finalized_at is not None else " (record not final)")),
        ("execution", execution_line),
        ("watcher", watcher),
        (
            "task",
            f"{record.task_type}, {output.plural(len(record.labels), 'label')}, auto-labeling "
            f"{'on' if record.auto_labeling else 'off'}",
        ),
        ("created", output.when(record.created_at)),
        ("ended", output.when(record.ended_at)),
        ("duration", output.elapsed(record.duration_seconds)),
        ("objects", f"{record.object_count:,}"),
        (
            "labeled",
            f"human {counters.human_labeled:,}, machine {counters.machine_labeled:,} "
            f"({machine_percent(record)} machine), total {counters.total_labeled:,}, unlabeled "
            f"{counters.unlabeled:,}, failed {counters.failed_non_retryable_error:,}",
        ),
        ("progress at", output.when(record.progress_at)),
        ("cost", _cost_detail(record)),
        ("budget", _budget_detail(record)),
    ]
    if record.end_detected_by is not None:
        pairs.append(
            ("end detected", f"by {record.end_detected_by} at {output.when(record.end_detected_at)}")
        )
    if record.stop_reason:
        pairs.append(("stop reason", record.stop_reason))
    if record.failure_reason and record.failure_reason != record.stop_reason:
        pairs.append(("failure reason", record.failure_reason))
    if record.execution_error:
        pairs.append(("execution error", record.execution_error))
    if record.queued_since is not None:
        pairs.append(
            ("queued", f"since {output.when(record.queued_since)}, {record.queue_attempts} attempts")
        )
    pairs += [
        (
            "initial model",
            f"{record.initial_model_source}: {record.initial_model_arn or 'none'} "
            f"({record.initial_model_check})",
        ),
        (
            "final model",
            f"{record.final_model_arn or 'none'} ({record.model_outcome}"
            f"{', latest of the project' if record.pointer_moved else ''})",
        ),
        ("finalized", output.when(record.finalized_at) if record.finalized_at else "no"),
    ]
    if record.simulated:
        pairs.append(("simulated", "yes: LabelChain's Ground Truth emulator ran this job, not AWS"))
    lines = [output.fields(pairs)]
    if record.repairs:
        lines.append("repairs:")
        lines += [f"  - {repair}" for repair in record.repairs]
    if record.cross_check:
        lines.append("output cross-check:")
        lines += [f"  - {note}" for note in record.cross_check]
    return "\n".join(lines)


def _cost_detail(record: JobRecord) -> str:
    cost = record.cost
    if cost is None or record.finalized_at is None:
        return cost_text(record).removeprefix("cost ")
    labor = "" if cost.labor_cost_usd is None else f" (labor {output.usd(cost.labor_cost_usd)})"
    text = (
        f"{output.usd(cost.total_cost_usd)} (final; human {output.usd(cost.human_cost_usd)}{labor}, machine "
        f"{output.usd(cost.machine_cost_usd)}, compute {output.usd(cost.compute_cost_usd)}; without "
        f"auto-labeling {output.usd(cost.cost_without_auto_labeling_usd)}, saving {cost.saving_percent} %; "
        f"prices {cost.prices_version})"
    )
    if cost.worker_seconds is not None:
        saved = hours(cost.worker_seconds_saved)
        text += f"; worker hours {hours(cost.worker_seconds)}" + ("" if saved is None else f", {saved} saved")
    return text


def _budget_detail(record: JobRecord) -> str:
    if record.budget_usd is None:
        return "none"
    text = output.usd(record.budget_usd)
    if record.budget_warned_at is not None:
        text += f" (80 % warning sent {output.when(record.budget_warned_at)})"
    return text
