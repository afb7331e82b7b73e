"""``labelchain project-settings put|show|list``: the operator's only way to write a project's settings.

A project's settings (what every triggered job of the project uses, and the ceilings no input of the
project may exceed) live in the stack's table, not in the data bucket: whoever may upload batches under
``incoming/<project>/`` cannot change them (docs/TRIGGERS.md). ``put`` validates the file exactly as
ResolveTrigger will use it, then writes a new version conditionally on the version it read, with the
caller's identity and the time.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelchain.cli import output
from labelchain.cli.exits import AWS, OK, USAGE, CliError
from labelchain.cli.options import Subparsers, add_command, aws_options
from labelchain.core.project_settings import (
    CEILINGS_FIELD,
    ProjectSettings,
    ProjectSettingsRecord,
    parse_project_settings,
    settings_record,
)
from labelchain.core.strict_json import loads_strict
from labelchain.errors import InvalidJobInput

if TYPE_CHECKING:
    from labelchain.cli.aws import Aws

NAME = "project-settings"
DESCRIPTION = """\
Write, show and list the settings of projects whose jobs start when a manifest is uploaded to
incoming/<project>/ (docs/TRIGGERS.md). The settings live in the stack's table, written only here:
an upload to the data bucket (a project.json included) cannot change them.
  put PROJECT --file SETTINGS.json  validate the file as ResolveTrigger will use it, then write it
                                    as the project's next version (who and when recorded)
  show PROJECT                      the current version, who wrote it and when, and the document
  list                              every project with settings"""
EXAMPLES = """\
  labelchain project-settings put birds --file examples/project.json --check   # validate only
  labelchain project-settings put birds --file examples/project.json
  labelchain project-settings show birds
  labelchain project-settings list --json"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="write, show or list a project's settings (triggered jobs; ceilings)",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=_no_action,
        aws=False,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, summary: str, run: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(
            name, help=summary, description=summary, parents=[aws_options()]
        )
        sub.set_defaults(run=run)
        return sub

    put = action("put", "validate a settings file and write it as the project's next version", run_put)
    put.add_argument("project", metavar="PROJECT", help="the project: the folder name under incoming/")
    put.add_argument(
        "--file", required=True, metavar="SETTINGS.json", help="the settings document (-: standard input)"
    )
    put.add_argument(
        "--check", action="store_true", help="validate only: write nothing, need no AWS credentials"
    )
    put.add_argument(
        "--expect-version",
        type=int,
        metavar="N",
        help="write only if the stored version is N (0: the project has no settings yet)",
    )
    show = action("show", "the project's current settings, who wrote them and when", run_show)
    show.add_argument("project", metavar="PROJECT")
    show.add_argument("--json", action="store_true", help="print JSON")
    listing = action("list", "every project that has settings", run_list)
    listing.add_argument("--json", action="store_true", help="print JSON")


def _no_action(_args: argparse.Namespace) -> int:  # argparse requires ACTION before this could run
    raise CliError("name an ACTION: put, show or list", USAGE)


def _read(path: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc})") from None


def check_settings_file(path: str, project: str) -> tuple[ProjectSettings, str]:
    """The validated settings and the document text to store; ``CliError`` (exit 2) with the cause
    every triggered execution of the project would fail with."""
    data = _read(path)
    try:
        settings = parse_project_settings(data, project)
    except InvalidJobInput as exc:
        raise CliError(
            f"{path}: not valid project settings; every triggered job of {project!r} would fail with "
            f"InvalidJobInput: {exc}"
        ) from None
    return settings, data.decode("utf-8-sig")


def run_put(args: argparse.Namespace) -> int:
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    settings, document = check_settings_file(args.file, args.project)
    if args.check:
        output.emit(
            f"{args.file}: valid settings for project {args.project!r} ({_summary(settings)}); not written"
        )
        return OK
    aws = Aws.from_args(args)
    store = aws.store()
    current = store.project_settings(args.project)
    version = current.version if current is not None else 0
    if args.expect_version is not None and args.expect_version != version:
        raise CliError(
            f"project {args.project!r}: the stored settings are at version {version}, not "
            f"{args.expect_version} (--expect-version); nothing written",
            AWS,
        )
    if current is not None and current.document == document:
        output.emit(f"project {args.project!r}: settings unchanged (version {version}); nothing written")
        return OK
    record = settings_record(
        args.project, document, previous_version=version, updated_by=_caller(aws), at=datetime.now(UTC)
    )
    if not store.put_project_settings(record):
        raise CliError(
            f"project {args.project!r}: someone wrote its settings after version {version} was read; "
            "nothing written (labelchain project-settings show, then put again)",
            AWS,
        )
    output.emit(
        f"project {args.project!r}: settings version {record.version} written ({_summary(settings)}); "
        "the next upload under incoming/ uses them"
    )
    return OK


def _caller(aws: Aws) -> str:
    return str(aws.client("sts").get_caller_identity()["Arn"])


def _summary(settings: ProjectSettings) -> str:
    fields = settings.job_fields
    workforce = fields.get("workforce", {})
    parts = [
        f"{fields.get('task', {}).get('type', '?')}",
        f"{workforce.get('kind', '?')} workforce x{workforce.get('workers_per_object', '?')}",
    ]
    ceilings = settings.ceilings.model_dump(exclude_none=True)
    parts.append(
        "ceilings " + ", ".join(f"{name}={value}" for name, value in ceilings.items())
        if ceilings
        else "no ceilings"
    )
    return "; ".join(parts)


def _load(aws: Aws, project: str) -> ProjectSettingsRecord:
    record = aws.store().project_settings(project)
    if record is None:
        raise CliError(
            f"project {project!r} has no settings (labelchain project-settings put {project} --file …)", AWS
        )
    return record


def _validity(record: ProjectSettingsRecord) -> str:
    """Whether the stored document passes today's rules (the rules may have changed since the put)."""
    try:
        parse_project_settings(record.document, record.project)
    except InvalidJobInput as exc:
        return f"INVALID under this version's rules (triggered jobs fail): {exc}"
    return "valid"


def _as_json(record: ProjectSettingsRecord) -> dict[str, Any]:
    return {
        "project": record.project,
        "version": record.version,
        "updated_by": record.updated_by,
        "updated_at": record.updated_at.isoformat(),
        "sha256": record.sha256,
        "status": _validity(record),
        "settings": loads_strict(record.document, document=f"project settings of {record.project!r}"),
    }


def run_show(args: argparse.Namespace) -> int:
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    record = _load(Aws.from_args(args), args.project)
    if args.json:
        output.emit_json(_as_json(record))
        return OK
    output.emit(
        output.fields(
            [
                ("project", record.project),
                ("version", str(record.version)),
                ("written by", record.updated_by),
                ("written at", output.when(record.updated_at)),
                ("sha256", record.sha256),
                ("status", _validity(record)),
            ]
        )
    )
    output.emit()
    output.emit(record.document.rstrip())
    return OK


def run_list(args: argparse.Namespace) -> int:
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    records = list(Aws.from_args(args).store().all_project_settings())
    if args.json:
        output.emit_json([_as_json(record) for record in records])
        return OK
    if not records:
        output.emit("no project has settings (labelchain project-settings put PROJECT --file SETTINGS.json)")
        return OK
    rows = []
    for record in records:
        document = loads_strict(record.document, document=f"project settings of {record.project!r}")
        ceilings = document.get(CEILINGS_FIELD) if isinstance(document, dict) else None
        rows.append(
            [
                record.project,
                str(record.version),
                output.when(record.updated_at),
                record.updated_by,
                ", ".join(f"{k}={v}" for k, v in ceilings.items()) if isinstance(ceilings, dict) else "-",
            ]
        )
    output.emit(output.table(["project", "version", "written at", "written by", "ceilings"], rows, "lr"))
    return OK
