"""Where LabelChain reads and writes in S3: the one source of every key prefix and key it builds.

Services build keys with these functions, and ``infra/`` grants IAM on these prefixes, so what a
function writes and what its role allows come from the same constants (``tests/infra/test_s3_layout.py``
ties each prefix grant in the template to this module).

Data bucket (the customer's inputs, and the files LabelChain writes for its jobs)::

    incoming/<project>/<batch>.manifest                    uploads that start a job (the trigger)
    <anything else>                                        manifests and images the customer places
    labelchain/<project>/<job name>/input.manifest         the job's pinned copy of its manifest
    labelchain/<project>/<job name>/label-categories.json  the job's label categories
    labelchain/<project>/<job name>/worker-template.liquid.html
    labelchain/experiments/<project>/<execution>/part-<i>-of-<n>.manifest   an experiment's parts

Output bucket (Ground Truth's output, LabelChain's reports)::

    jobs/<project>/<job name>/...                          Ground Truth's output of one job
    experiments/<project>/<execution>/report.json|.md|.png an experiment's report

Ground Truth's output lives under ``jobs/`` so that no key LabelChain writes (reports) can fall under the
Ground Truth role's write grant ``jobs/*/<resource prefix>-*/*``, whatever the project or execution is
called. Project settings are not in S3: they are items in the table (``core.project_settings``), so an
upload under ``incoming/`` cannot change them.
"""

from __future__ import annotations

import re

# --- data bucket -------------------------------------------------------------------------------------
INCOMING_PREFIX = "incoming/"
"""Uploads under ``incoming/<project>/`` ending in ``MANIFEST_SUFFIX`` start a LabelingJob."""
MANIFEST_SUFFIX = ".manifest"
INCOMING_MANIFEST_PATTERN = f"{INCOMING_PREFIX}*/*{MANIFEST_SUFFIX}"
"""The EventBridge rule's key wildcard for trigger uploads (``*`` matches any run of characters, ``/``
too)."""
LABELCHAIN_PREFIX = "labelchain/"
"""Everything LabelChain writes in the data bucket. No manifest line may point into it."""
EXPERIMENT_PARTS_PREFIX = f"{LABELCHAIN_PREFIX}experiments/"
"""An experiment's manifest parts (PrepareDataset writes them; they are the one input allowed under
``labelchain/``)."""
PINNED_MANIFEST_NAME = "input.manifest"
LABEL_CATEGORIES_NAME = "label-categories.json"
WORKER_TEMPLATE_NAME = "worker-template.liquid.html"
JOB_FILE_NAMES = (PINNED_MANIFEST_NAME, LABEL_CATEGORIES_NAME, WORKER_TEMPLATE_NAME)
"""The files CreateJob writes under ``job_files_prefix``."""

# --- output bucket -----------------------------------------------------------------------------------
JOB_OUTPUT_PREFIX = "jobs/"
"""Ground Truth's output: ``S3OutputPath`` is ``jobs/<project>/`` and Ground Truth appends the job name."""
REPORTS_PREFIX = "experiments/"
"""Experiment reports (CompareJobs writes them)."""

RESERVED_PROJECT_NAMES: dict[str, str] = {
    "experiments": "LabelChain keeps experiment manifest parts under labelchain/experiments/ in the data "
    "bucket, beside each project's job files under labelchain/<project>/",
}
"""Project names that would share a prefix LabelChain writes to, with why (refused on every path that
names a project: job inputs, experiment inputs, trigger keys, project settings, through
``reserved_project_problem``)."""

_S3_URI = re.compile(r"s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?", re.DOTALL)
"""Any key, control characters included: what a key may hold is the caller's rule, not this parser's."""


def reserved_project_problem(project: str) -> str | None:
    """Why ``project`` may not name a project (it is in ``RESERVED_PROJECT_NAMES``), or None."""
    why = RESERVED_PROJECT_NAMES.get(project)
    return None if why is None else f"{project!r} is reserved: {why}; choose another project name"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)`` (``key`` is empty for ``s3://bucket``); ``ValueError`` for
    anything else."""
    match = _S3_URI.fullmatch(uri)
    if match is None:
        raise ValueError(f"not an s3:// URI: {uri[:200]!r}")
    return match["bucket"], match["key"] or ""


def incoming_prefix(project: str) -> str:
    """``incoming/<project>/``: where a project's trigger uploads land."""
    return f"{INCOMING_PREFIX}{project}/"


def job_files_prefix(project: str, job_name: str) -> str:
    """``labelchain/<project>/<job name>/``: the job's own files in the data bucket."""
    return f"{LABELCHAIN_PREFIX}{project}/{job_name}/"


def job_file_key(project: str, job_name: str, name: str) -> str:
    """Data-bucket key of one of the job's files (``name`` in ``JOB_FILE_NAMES``)."""
    if name not in JOB_FILE_NAMES:
        raise ValueError(f"not a job file: {name!r}; expected one of {', '.join(JOB_FILE_NAMES)}")
    return f"{job_files_prefix(project, job_name)}{name}"


def experiment_parts_prefix(project: str, execution_name: str) -> str:
    """``labelchain/experiments/<project>/<execution>/``."""
    return f"{EXPERIMENT_PARTS_PREFIX}{project}/{execution_name}/"


def experiment_part_key(project: str, execution_name: str, part: int, parts: int) -> str:
    """Data-bucket key of part ``part`` (1-based) of ``parts`` of an experiment's manifest."""
    return f"{experiment_parts_prefix(project, execution_name)}part-{part}-of-{parts}{MANIFEST_SUFFIX}"


EXPERIMENT_PART_KEY = re.compile(
    rf"^{re.escape(EXPERIMENT_PARTS_PREFIX)}[^/]+/[^/]+/part-\d+-of-\d+{re.escape(MANIFEST_SUFFIX)}$"
)
"""What ``experiment_part_key`` builds."""


def job_output_prefix(project: str) -> str:
    """Output-bucket key prefix given to Ground Truth as ``S3OutputPath`` (it appends ``<job name>/``)."""
    return f"{JOB_OUTPUT_PREFIX}{project}/"


def job_output_key_prefix(project: str, job_name: str) -> str:
    """``jobs/<project>/<job name>/``: everything Ground Truth writes for one job."""
    return f"{job_output_prefix(project)}{job_name}/"


def ground_truth_output_pattern(resource_prefix: str) -> str:
    """The output-bucket key pattern the Ground Truth role may write: any project's job output, for job
    names LabelChain gives (``<resource prefix>-…``)."""
    return f"{JOB_OUTPUT_PREFIX}*/{resource_prefix}-*/*"


def report_prefix(project: str, execution_name: str) -> str:
    """``experiments/<project>/<execution>/``: an experiment's report in the output bucket."""
    return f"{REPORTS_PREFIX}{project}/{execution_name}/"
