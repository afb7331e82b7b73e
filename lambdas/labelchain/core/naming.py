"""Deterministic names: the same execution always maps to the same labeling job.

A Lambda retried after CreateLabelingJob succeeded must find *its own* job instead of creating a
second one, so the job name is a pure function of the execution. Names carry the deployment's
resource prefix because IAM scopes every SageMaker permission to ``labeling-job/<prefix>-*``.
"""

from __future__ import annotations

import hashlib
import re

from labelchain.core.arns import parse_arn

MAX_JOB_NAME_LENGTH = 63
HASH_LENGTH = 8
EXECUTION_TAG = "labelchain:execution"
"""Tag on every job holding ``execution_fingerprint`` of the execution that created it: how a retried
create recognises its own job. A fingerprint, not the ARN, because execution names may contain
characters (``( ) ! '``) that SageMaker tag values refuse."""
PROJECT_TAG = "labelchain:project"
SIMULATED_TAG = "labelchain:simulated"
"""Set to ``true`` on every job LabelChain's Ground Truth emulator runs: its results are simulated."""


def job_name_for_execution(prefix: str, execution_name: str, execution_arn: str) -> str:
    """``<prefix>-<readable part of the execution name>-<hash of the execution ARN>``, ≤ 63 chars.

    Lower case because SageMaker job names are unique case-insensitively; the hash keeps two
    executions whose names sanitise to the same text apart.
    """
    digest = execution_fingerprint(execution_arn)[:HASH_LENGTH]
    readable = re.sub(r"[^a-z0-9]+", "-", execution_name.lower()).strip("-")
    room = MAX_JOB_NAME_LENGTH - len(prefix) - len(digest) - 2
    readable = readable[: max(room, 0)].rstrip("-")
    parts = [prefix, readable, digest] if readable else [prefix, digest]
    return "-".join(parts)


def execution_fingerprint(execution_arn: str) -> str:
    """A tag-safe, fixed-length identity of an execution (sha256 of its ARN, hex)."""
    return hashlib.sha256(execution_arn.encode()).hexdigest()


def labeling_job_arn(region: str, account: str, job_name: str, partition: str = "aws") -> str:
    """The ARN SageMaker gives a labeling job (lower-cased name, as SageMaker reports it)."""
    return f"arn:{partition}:sagemaker:{region}:{account}:labeling-job/{job_name.lower()}"


LABELING_JOB_STATE_MACHINE_SUFFIX = "labeling-job"
EXPERIMENT_STATE_MACHINE_SUFFIX = "experiment"
"""State machines are named ``<prefix>-<suffix>`` (infra/ names them from these), so a Lambda can
build their ARNs from its settings without an environment variable that would make the template
circular (the state machines already depend on the functions)."""


def state_machine_name(prefix: str, suffix: str) -> str:
    """``<prefix>-<suffix>``: the name infra/ gives a LabelChain state machine."""
    return f"{prefix}-{suffix}"


LABELING_JOB_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:(?P<region>[a-z0-9-]{1,30}):(?P<account>\d{12}):"
    r"labeling-job/(?P<name>[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})$"
)
"""A labeling-job ARN, anchored: partition, region, account and a valid job name (the one rule)."""


def job_name_from_arn(job_arn: str) -> str:
    """The job name in a labeling-job ARN (``…:labeling-job/<name>``)."""
    match = LABELING_JOB_ARN.match(job_arn)
    if match is None:
        raise ValueError(f"not a labeling-job ARN: {job_arn[:200]!r}")
    return match["name"]


def sibling_execution_arn(execution_arn: str, state_machine: str, execution_name: str) -> str:
    """The ARN of execution ``execution_name`` of ``state_machine`` in the same account and region as
    ``execution_arn`` (``arn:<partition>:states:<region>:<account>:execution:<machine>:<name>``)."""
    try:
        arn = parse_arn(execution_arn)
    except ValueError:
        arn = None
    if (
        arn is None
        or arn.service != "states"
        or len(arn.resource.split(":")) < 3
        or not arn.resource.startswith("execution:")
    ):
        raise ValueError(f"not a Step Functions execution ARN: {execution_arn!r}")
    return arn.with_resource(f"execution:{state_machine}:{execution_name}")
