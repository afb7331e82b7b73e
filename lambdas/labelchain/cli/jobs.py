"""``labelchain jobs --project P``: a project's job history and model chain (the lineage).

Answers "which job's model seeded which, and what did each job cost and save?" from the job records
in the stack's table, oldest job first, plus the project's latest-model pointer (what the next
triggered job starts from)::

    labelchain jobs --project birds [--json]
    python -m labelchain.lineage --table <TableName> --project birds [--json]   # the older form

A job was seeded by an earlier job when its initial model ARN is that job's final model ARN.
``labelchain jobs`` finds the table in the stack's outputs (``--table`` overrides it); the older form
needs ``--table``. Uses boto3's default credentials and region; ``AWS_ENDPOINT_URL`` points it at the
offline stack. Bad arguments exit with status 2; a missing table or an AWS error exits with 3
(``labelchain jobs``) or 1 (``python -m labelchain.lineage``, as before).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labelchain.cli import output
from labelchain.cli.exits import AWS, OK, CliError
from labelchain.cli.options import Subparsers, add_command
from labelchain.core.cost import percent_of
from labelchain.core.job_input import PATTERN_MEANINGS, JobInput
from labelchain.core.records import ENDED_STATUSES, JobRecord, ModelPointer

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_PROJECT_PATTERN = str(JobInput.model_json_schema()["properties"]["project"]["pattern"])
NO_VALUE = output.NO_VALUE


@dataclass
class LineageRow:
    """One job in the lineage, numbered in creation order (1 = oldest)."""

    number: int
    record: JobRecord
    seeded_by: LineageRow | None = None
    seeded: list[LineageRow] = field(default_factory=list)


@dataclass(frozen=True)
class Lineage:
    project: str
    rows: list[LineageRow]
    latest_model: ModelPointer | None

    def chains(self) -> list[list[LineageRow]]:
        """Every root-to-leaf path of seeding (only jobs that seeded or were seeded by another)."""
        paths: list[list[LineageRow]] = []

        def walk(path: list[LineageRow]) -> None:
            children = path[-1].seeded
            if not children:
                paths.append(path)
            for child in children:
                walk([*path, child])

        for row in self.rows:
            if row.seeded_by is None and row.seeded:
                walk([row])
        return paths


def build_lineage(project: str, records: Sequence[JobRecord], latest: ModelPointer | None) -> Lineage:
    """Number the jobs oldest first and link each to the earlier job whose final model seeded it."""
    ordered = sorted(records, key=lambda r: (r.created_at, r.job_name))
    rows = [LineageRow(number, record) for number, record in enumerate(ordered, start=1)]
    producer: dict[str, LineageRow] = {}
    for row in rows:
        seed = row.record.initial_model_arn
        if seed is not None and seed in producer:
            row.seeded_by = producer[seed]
            producer[seed].seeded.append(row)
        if row.record.final_model_arn is not None:
            producer.setdefault(row.record.final_model_arn, row)
    return Lineage(project, rows, latest)


def short_model(arn: str | None) -> str:
    """``arn:…:model/<name>`` → ``<name>`` (the ARN itself when it has no ``model/`` part)."""
    if arn is None:
        return "none"
    return arn.partition(":model/")[2] or arn


def _initial_text(row: LineageRow) -> str:
    record = row.record
    if row.seeded_by is not None:
        return f"#{row.seeded_by.number} {short_model(record.initial_model_arn)}"
    if record.initial_model_arn is None:
        return "none"
    return f"{short_model(record.initial_model_arn)} (not from a job listed here)"


def _final_text(record: JobRecord) -> str:
    if record.final_model_arn is not None:
        return short_model(record.final_model_arn)
    return {"pending": "(pending)", "no-model": "no model"}.get(record.model_outcome, record.model_outcome)


def machine_labeled_percent(record: JobRecord) -> str | None:
    """Share of the job's objects the machine labeled (None before anything is labeled)."""
    if record.counters.total_labeled == 0 and record.status not in ENDED_STATUSES:
        return None
    return str(percent_of(record.counters.machine_labeled, record.object_count))


def _cost_total(record: JobRecord) -> str:
    return NO_VALUE if record.cost is None else f"{record.cost.total_cost_usd:,.2f}"


def format_lineage(lineage: Lineage, table: str) -> str:
    """The lineage as an aligned plain-text table, the seeding chains and the latest-model pointer."""
    header = (
        "#",
        "created (UTC)",
        "job",
        "status",
        "objects",
        "machine %",
        "cost USD",
        "model: initial → final",
    )
    cells = [
        (
            f"{row.number}",
            row.record.created_at.strftime("%Y-%m-%d %H:%M"),
            row.record.job_name,
            row.record.status,
            f"{row.record.object_count:,}",
            machine_labeled_percent(row.record) or NO_VALUE,
            _cost_total(row.record),
            f"{_initial_text(row)} → {_final_text(row.record)}",
        )
        for row in lineage.rows
    ]
    lines = [
        f"Project {lineage.project!r}: {len(lineage.rows)} job{'s' if len(lineage.rows) != 1 else ''}, "
        f"oldest first (table {table})",
        "",
        output.table(header, cells, "rlllrrrl"),
    ]
    lines += ["", "Chains (a job's initial model is an earlier job's final model):"]
    chains = lineage.chains()
    lines += [f"  {' → '.join(f'#{row.number}' for row in chain)}" for chain in chains] or ["  none yet"]
    unchained = [row for row in lineage.rows if row.seeded_by is None and not row.seeded]
    if unchained:
        lines.append(f"  not chained: {', '.join(f'#{row.number}' for row in unchained)}")
    lines += ["", _pointer_text(lineage)]
    return "\n".join(lines)


def _pointer_text(lineage: Lineage) -> str:
    pointer = lineage.latest_model
    if pointer is None:
        return (
            f"Latest model of {lineage.project!r}: none yet (the next triggered job starts without a model)"
        )
    number = next((f"#{row.number} " for row in lineage.rows if row.record.job_name == pointer.job_name), "")
    return (
        f"Latest model of {lineage.project!r}: {short_model(pointer.model_arn)} "
        f"(from {number}{pointer.job_name}; the next triggered job starts from it)\n  {pointer.model_arn}"
    )


def lineage_document(lineage: Lineage, table: str) -> dict[str, Any]:
    """The lineage as JSON-ready data (the ``--json`` output)."""
    return {
        "project": lineage.project,
        "table": table,
        "jobs": [
            {
                "number": row.number,
                "job_name": row.record.job_name,
                "created_at": row.record.created_at.isoformat(),
                "status": row.record.status,
                "objects": row.record.object_count,
                "machine_labeled_percent": machine_labeled_percent(row.record),
                "cost_total_usd": None if row.record.cost is None else str(row.record.cost.total_cost_usd),
                "initial_model_source": row.record.initial_model_source,
                "initial_model_arn": row.record.initial_model_arn,
                "final_model_arn": row.record.final_model_arn,
                "model_outcome": row.record.model_outcome,
                "seeded_by": None if row.seeded_by is None else row.seeded_by.record.job_name,
                "seeded": [child.record.job_name for child in row.seeded],
            }
            for row in lineage.rows
        ],
        "chains": [[row.record.job_name for row in chain] for chain in lineage.chains()],
        "latest_model": None
        if lineage.latest_model is None
        else lineage.latest_model.model_dump(mode="json"),
    }


def _matching(pattern: re.Pattern[str] | str, meaning: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not re.fullmatch(pattern, text):
            raise argparse.ArgumentTypeError(f"expected {meaning}, got {text!r}")
        return text

    return parse


NAME = "jobs"
DESCRIPTION = (
    "A project's labeling jobs oldest first: cost, share machine-labeled, and which job's model seeded "
    "which; plus the project's latest model (what the next triggered job starts from)."
)
EXAMPLES = """\
  labelchain jobs --project birds
  labelchain jobs --project birds --json
  labelchain jobs --project birds --table labelchain-jobs-table   # a table other than the stack's"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="a project's jobs oldest first and which model seeded which (lineage)",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
    )
    add_arguments(parser, table_required=False)


def add_arguments(parser: argparse.ArgumentParser, *, table_required: bool) -> None:
    parser.add_argument(
        "--table",
        required=table_required,
        metavar="NAME",
        type=_matching(_TABLE_NAME, "a DynamoDB table name (3-255 letters, digits, '_', '-', '.')"),
        help="the stack's table (stack output TableName)"
        + ("" if table_required else "; default: read from the stack's outputs"),
    )
    parser.add_argument(
        "--project",
        required=True,
        metavar="P",
        type=_matching(_PROJECT_PATTERN, f"a project name: {PATTERN_MEANINGS['project']}"),
        help="the project whose jobs to show",
    )
    if table_required:
        parser.add_argument("--region", metavar="R", help="AWS region (default: boto3's configuration)")
    parser.add_argument("--json", action="store_true", help="print the lineage as JSON")


def read_lineage(
    table: str | None, project: str, region: str | None, stack: str | None = None
) -> tuple[Lineage, str]:
    """The project's records and pointer (the table: ``table``, else the stack's output TableName)."""
    from labelchain.cli.aws import Aws  # noqa: PLC0415 - keeps `--help` and argument errors free of boto3

    aws = Aws(region=region, stack=stack)
    store = aws.store(table)
    name = table or aws.outputs().table_name
    records = list(store.jobs_of_project(project, newest_first=False))
    return build_lineage(project, records, store.latest_model(project)), name


def _aws_problem(exc: BaseException, table: str | None) -> str:
    from labelchain.adapters.aws_errors import has_code  # noqa: PLC0415
    from labelchain.cli.aws import describe_aws_error  # noqa: PLC0415

    if has_code(exc, {"ResourceNotFoundException"}):
        return f"table {table!r} does not exist in this account and region (use the stack output TableName)"
    if table is None:
        return describe_aws_error(exc)
    return f"reading table {table!r} failed: {describe_aws_error(exc)}"


def run(args: argparse.Namespace, aws_failure: int = AWS) -> int:
    """Print the lineage; ``aws_failure`` when the table cannot be read (argparse exits 2 on bad args)."""
    from labelchain.adapters.aws_errors import AWS_FAILURES  # noqa: PLC0415

    try:
        lineage, table = read_lineage(args.table, args.project, args.region, getattr(args, "stack", None))
    except AWS_FAILURES as exc:
        output.warn(NAME, _aws_problem(exc, args.table))
        return aws_failure
    except CliError as exc:
        output.warn(NAME, str(exc))
        return aws_failure
    if args.json:
        output.emit_json(lineage_document(lineage, table))
    elif not lineage.rows:
        output.emit(
            f"Project {args.project!r} has no jobs in table {table!r} yet (check the project "
            "name; jobs appear once an execution has created one)."
        )
        if lineage.latest_model is not None:
            output.emit(_pointer_text(lineage))
    else:
        output.emit(format_lineage(lineage, table))
    return OK


def main(argv: list[str] | None = None, prog: str = "python -m labelchain.lineage") -> int:
    """The older standalone form: ``--table`` required; 1 when the table cannot be read."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser, table_required=True)
    return run(parser.parse_args(argv), aws_failure=1)
