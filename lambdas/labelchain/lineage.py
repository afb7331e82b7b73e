"""A project's job history and model chain: ``python -m labelchain.lineage`` (``lambdas/`` on the path).

Answers "which job's model seeded which, and what did each job cost and save?" from the job records
in the stack's table, oldest job first, plus the project's latest-model pointer (what the next
triggered job starts from)::

    python -m labelchain.lineage --table <TableName> --project birds [--json]

A job was seeded by an earlier job when its initial model ARN is that job's final model ARN. Uses
boto3's default credentials and region; ``AWS_ENDPOINT_URL`` points it at the offline stack. Bad
arguments exit with status 2; a missing table or an AWS error exits with 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labelchain.core.cost import percent_of
from labelchain.core.job_input import PATTERN_MEANINGS, JobInput
from labelchain.core.records import ENDED_STATUSES, JobRecord, ModelPointer
from labelchain.errors import TransientServiceError

_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_PROJECT_PATTERN = str(JobInput.model_json_schema()["properties"]["project"]["pattern"])
NO_VALUE = "-"


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
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    right_aligned = {0, 4, 5, 6}
    lines = [
        f"Project {lineage.project!r}: {len(lineage.rows)} job{'s' if len(lineage.rows) != 1 else ''}, "
        f"oldest first (table {table})",
        "",
    ]
    for line in [header, *cells]:
        lines.append(
            "  ".join(
                text.rjust(widths[i]) if i in right_aligned else text.ljust(widths[i])
                for i, text in enumerate(line)
            ).rstrip()
        )
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labelchain.lineage",
        description="A project's labeling jobs oldest first: cost, share machine-labeled, and which "
        "job's model seeded which; plus the project's latest model.",
    )
    parser.add_argument(
        "--table",
        required=True,
        metavar="NAME",
        type=_matching(_TABLE_NAME, "a DynamoDB table name (3-255 letters, digits, '_', '-', '.')"),
        help="the stack's table (stack output TableName)",
    )
    parser.add_argument(
        "--project",
        required=True,
        metavar="P",
        type=_matching(_PROJECT_PATTERN, f"a project name: {PATTERN_MEANINGS['project']}"),
        help="the project whose jobs to show",
    )
    parser.add_argument("--region", metavar="R", help="AWS region (default: boto3's configuration)")
    parser.add_argument("--json", action="store_true", help="print the lineage as JSON")
    return parser


def read_lineage(table: str, project: str, region: str | None) -> Lineage:
    """The project's records and pointer from the table (boto3 default credentials)."""
    import boto3  # noqa: PLC0415 - keeps `--help` and argument errors free of the boto3 import

    from labelchain.adapters.store import JobStore  # noqa: PLC0415

    store = JobStore(boto3.client("dynamodb", region_name=region), table)
    records = list(store.jobs_of_project(project, newest_first=False))
    return build_lineage(project, records, store.latest_model(project))


def _aws_problem(exc: BaseException, table: str) -> str:
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError  # noqa: PLC0415

    if (
        isinstance(exc, ClientError)
        and exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
    ):
        return f"table {table!r} does not exist in this account and region (use the stack output TableName)"
    if isinstance(exc, NoRegionError):
        return "no AWS region configured: pass --region or set AWS_REGION"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found (configure a profile or set AWS_ACCESS_KEY_ID)"
    return f"reading table {table!r} failed: {exc}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; 0 on success, 1 when the table cannot be read (argparse exits 2 on bad args)."""
    args = _parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    try:
        lineage = read_lineage(args.table, args.project, args.region)
    except (BotoCoreError, ClientError, TransientServiceError) as exc:
        print(f"lineage: {_aws_problem(exc, args.table)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(lineage_document(lineage, args.table), indent=2))
    elif not lineage.rows:
        print(
            f"Project {args.project!r} has no jobs in table {args.table!r} yet (check the project "
            "name; jobs appear once an execution has created one)."
        )
        if lineage.latest_model is not None:
            print(_pointer_text(lineage))
    else:
        print(format_lineage(lineage, args.table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
