"""INPUT.json for ``validate``, ``start`` and ``doctor``: read it, check it with the model CreateJob (or
PrepareDataset, for ``--experiment``) uses, and count its manifest's objects.

The messages are CreateJob's: the same ``labelchain.core.job_input.parse_job_input`` and
``labelchain.core.experiment.parse_experiment_input`` produce them, and the manifest is scanned by the
same ``labelchain.core.manifest.scan_manifest``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelchain.cli.exits import USAGE, CliError
from labelchain.core.catalog import MIN_OBJECTS_WITH_AUTO_LABELING, spec_for
from labelchain.core.dataset_split import part_sizes
from labelchain.core.experiment import ExperimentInput, parse_experiment_input
from labelchain.core.job_input import JobInput, parse_job_input
from labelchain.core.strict_json import DuplicateKeyError, loads_strict
from labelchain.errors import InvalidJobInput

if TYPE_CHECKING:
    from labelchain.cli.aws import Aws
    from labelchain.core.manifest import ManifestSummary

READ_CHUNK = 1024 * 1024


class InvalidInput(CliError):
    """INPUT.json breaks the model: ``message`` is exactly the cause CreateJob's failure would carry."""

    def __init__(self, path: str, cause: str, kind: str) -> None:
        super().__init__(
            f"{path}: not a valid {kind} input; CreateJob would fail the execution with "
            f"InvalidJobInput: {cause}",
            USAGE,
        )
        self.cause = cause


@dataclass(frozen=True)
class CheckedInput:
    """A valid LabelingJob (or Experiment) input."""

    path: str
    raw: dict[str, Any]
    job: JobInput
    """The LabelingJob input; for an experiment, its job template on the experiment's manifest."""
    experiment: ExperimentInput | None = None

    @property
    def kind(self) -> str:
        return "Experiment" if self.experiment is not None else "LabelingJob"

    @property
    def checked_by(self) -> str:
        return "PrepareDataset's model" if self.experiment is not None else "CreateJob's model"

    @property
    def project(self) -> str:
        return self.job.project

    @property
    def manifest(self) -> str:
        return self.job.manifest


def read_input_file(path: str) -> dict[str, Any]:
    """The JSON object in ``path`` (``-``: standard input); ``CliError`` (exit 2) saying what is wrong,
    a key repeated in one object included (``loads_strict``: never silently last-wins)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read it ({exc})") from None
    try:
        raw = loads_strict(text, document=path)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except DuplicateKeyError as exc:
        raise CliError(str(exc)) from None
    if not isinstance(raw, dict):
        raise InvalidInput(path, f"input: expected a JSON object, got {type(raw).__name__}", "LabelingJob")
    return raw


def check_input(path: str, raw: dict[str, Any], experiment: bool = False) -> CheckedInput:
    """Validate with CreateJob's model (PrepareDataset's for an experiment); ``InvalidInput`` otherwise."""
    try:
        if experiment:
            parsed = parse_experiment_input(raw)
            return CheckedInput(path, raw, parsed.job_input(parsed.manifest), parsed)
        return CheckedInput(path, raw, parse_job_input(raw))
    except InvalidJobInput as exc:
        raise InvalidInput(path, str(exc), "Experiment" if experiment else "LabelingJob") from None


def load_input(path: str, experiment: bool = False) -> CheckedInput:
    return check_input(path, read_input_file(path), experiment)


# --- object count --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectCount:
    objects: int
    source: str
    """How the count was found: ``--objects``, the local manifest file, or the manifest in S3."""


def count_problem(checked: CheckedInput, objects: int, where: str) -> str | None:
    """CreateJob's (and PrepareDataset's) object-count rules, worded as CreateJob words them."""
    if objects == 0:
        return f"manifest: {where} holds no objects"
    job = checked.job
    if not job.auto_labeling:
        return None
    spec = spec_for(job.task.type)
    if checked.experiment is not None:
        sizes = part_sizes(objects, checked.experiment.split.parts)
        if min(sizes) < MIN_OBJECTS_WITH_AUTO_LABELING:
            return (
                f"manifest: split into {len(sizes)} parts, {where}'s {objects:,} objects give parts of "
                f"{min(sizes):,}; automated data labeling needs at least {MIN_OBJECTS_WITH_AUTO_LABELING:,} "
                "objects per part"
            )
        objects = max(sizes)
    if objects < MIN_OBJECTS_WITH_AUTO_LABELING:
        return (
            f"manifest: automated data labeling needs at least {MIN_OBJECTS_WITH_AUTO_LABELING:,} "
            f"objects; {where} has {objects:,} (add objects or set auto_labeling to false)"
        )
    if objects > spec.max_objects_with_auto_labeling:
        return (
            f"manifest: automated data labeling takes at most {spec.max_objects_with_auto_labeling:,} "
            f"objects for {spec.task_type.value}; {where} has {objects:,}"
        )
    return None


def _summary_problem(summary: ManifestSummary, where: str) -> str | None:
    if not summary.problem_count:
        return None
    shown = "; ".join(f"line {p.line}: {p.problem}" for p in summary.problems)
    return f"manifest: {summary.problem_count} bad line(s) in {where}; first: {shown}"


def _file_chunks(path: Path) -> Any:
    with path.open("rb") as stream:
        while chunk := stream.read(READ_CHUNK):
            yield chunk


def _scan(chunks: Any, checked: CheckedInput, where: str) -> int:
    from labelchain.core.json_stream import MalformedJsonStreamError  # noqa: PLC0415
    from labelchain.core.manifest import scan_manifest  # noqa: PLC0415

    try:
        summary = scan_manifest(chunks, spec_for(checked.job.task.type).source_field)
    except MalformedJsonStreamError as exc:
        raise CliError(f"manifest: {where} is not a JSON-lines manifest ({exc})") from None
    problem = _summary_problem(summary, where)
    if problem:
        raise CliError(problem)
    return summary.objects


ASK_FOR_COUNT = "pass --objects N (or --manifest-file PATH, a local copy of the manifest)"


def count_objects(
    checked: CheckedInput, *, objects: int | None, manifest_file: str | None, aws: Aws | None
) -> ObjectCount:
    """The manifest's object count: ``--objects``, else the local ``--manifest-file`` scanned line by line,
    else the manifest read from S3 when credentials are available; ``CliError`` (exit 2) asking for
    ``--objects`` when none of these works."""
    where = checked.manifest
    if objects is not None:
        found = ObjectCount(objects, "--objects")
    elif manifest_file is not None:
        path = Path(manifest_file)
        if not path.is_file():
            raise CliError(f"--manifest-file {manifest_file}: no such file")
        where = manifest_file
        found = ObjectCount(_scan(_file_chunks(path), checked, where), f"counted in {manifest_file}")
    else:
        found = ObjectCount(_count_in_s3(checked, aws), f"counted in {checked.manifest}")
    problem = count_problem(checked, found.objects, where)
    if problem:
        raise CliError(problem)
    return found


def _count_in_s3(checked: CheckedInput, aws: Aws | None) -> int:
    uri = checked.manifest
    if aws is None or not aws.has_credentials():
        raise CliError(f"cannot count the objects of {uri}: no AWS credentials to read it; {ASK_FOR_COUNT}")
    from labelchain.adapters.aws_errors import AWS_FAILURES  # noqa: PLC0415
    from labelchain.adapters.s3 import ObjectMissing, ObjectStore  # noqa: PLC0415
    from labelchain.cli.aws import describe_aws_error  # noqa: PLC0415
    from labelchain.core.s3_layout import split_s3_uri  # noqa: PLC0415

    bucket, key = split_s3_uri(uri)
    try:
        client = aws.client("s3")
    except CliError as exc:  # no region
        raise CliError(f"cannot count the objects of {uri}: {exc}; {ASK_FOR_COUNT}") from None
    try:
        return _scan(ObjectStore(client).iter_chunks(bucket, key), checked, uri)
    except ObjectMissing as exc:
        raise CliError(f"cannot read the manifest {uri} ({exc}); {ASK_FOR_COUNT}") from None
    except AWS_FAILURES as exc:
        raise CliError(
            f"cannot read the manifest {uri} ({describe_aws_error(exc)}); {ASK_FOR_COUNT}"
        ) from None
