"""The region ARN table: which AWS-owned accounts serve Ground Truth's built-in resources.

The built-in pre-annotation (PRE) and consolidation (ACS) Lambdas live in one AWS account per
region; the algorithm specifications and the public (Mechanical Turk) workteam live in fixed
accounts. A region outside this table is a configuration error, never a guess.
"""

from __future__ import annotations

from labelchain.core.catalog import TaskType, spec_for
from labelchain.errors import ConfigurationError

GROUND_TRUTH_LAMBDA_ACCOUNTS: dict[str, str] = {
    "us-east-1": "432418664414",
    "us-east-2": "266458841044",
    "us-west-2": "081040173940",
    "ca-central-1": "918755190332",
    "eu-west-1": "568282634449",
    "eu-west-2": "487402164563",
    "eu-central-1": "203001061592",
    "ap-northeast-1": "477331159723",
    "ap-northeast-2": "845288260483",
    "ap-south-1": "565803892007",
    "ap-southeast-1": "377565633583",
    "ap-southeast-2": "454466003867",
}
"""Region → account of the built-in PRE-/ACS- Lambdas (the SageMaker developer guide's table)."""

ALGORITHM_SPECIFICATION_ACCOUNT = "027400017018"
PUBLIC_WORKTEAM_ACCOUNT = "394669845002"
SUPPORTED_REGIONS: tuple[str, ...] = tuple(GROUND_TRUTH_LAMBDA_ACCOUNTS)


def _lambda_account(region: str) -> str:
    try:
        return GROUND_TRUTH_LAMBDA_ACCOUNTS[region]
    except KeyError:
        raise ConfigurationError(
            f"region {region!r} has no Ground Truth built-in task Lambdas in LabelChain's ARN table; "
            f"supported regions: {', '.join(SUPPORTED_REGIONS)}"
        ) from None


def pre_human_task_lambda_arn(region: str, task_type: TaskType | str) -> str:
    """ARN of the built-in pre-annotation Lambda for a task type in a region."""
    account = _lambda_account(region)
    return f"arn:aws:lambda:{region}:{account}:function:PRE-{spec_for(task_type).lambda_suffix}"


def annotation_consolidation_lambda_arn(region: str, task_type: TaskType | str) -> str:
    """ARN of the built-in annotation-consolidation Lambda for a task type in a region."""
    account = _lambda_account(region)
    return f"arn:aws:lambda:{region}:{account}:function:ACS-{spec_for(task_type).lambda_suffix}"


def algorithm_specification_arn(region: str, task_type: TaskType | str) -> str:
    """ARN of the automated-labeling algorithm for a task type (must match the PRE/ACS type)."""
    _lambda_account(region)
    return (
        f"arn:aws:sagemaker:{region}:{ALGORITHM_SPECIFICATION_ACCOUNT}:"
        f"labeling-job-algorithm-specification/{spec_for(task_type).algorithm}"
    )


def public_workteam_arn(region: str) -> str:
    """ARN of the public (Amazon Mechanical Turk) workforce in a region."""
    _lambda_account(region)
    return f"arn:aws:sagemaker:{region}:{PUBLIC_WORKTEAM_ACCOUNT}:workteam/public-crowd/default"
