"""The ARNs an execution input may carry, anchored, and where they must live.

Shape (checked by ``JobInput``, without knowing the stack): every pattern is anchored at both ends, so
trailing text or a second line after an ARN is refused. Place (``check_arns_in_stack``, called by
CreateJob, which knows the stack's partition, region and account):

- a private work team and a model must be in this stack's partition, region **and account**: Ground
  Truth can use only your own private teams, and a model LabelChain seeds a job with is one of yours;
- a vendor work team must be in this stack's partition and region, and its account is the vendor's
  (an AWS Marketplace seller's), not yours. AWS documents vendor teams as
  ``arn:aws:sagemaker:<region>:<vendor account>:workteam/vendor-crowd/<name>``, listed by
  ListSubscribedWorkteams once you subscribe. Any 12-digit account is accepted there; SageMaker refuses
  a team you are not subscribed to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labelchain.errors import InvalidJobInput

if TYPE_CHECKING:
    from labelchain.core.job_input import JobInput

PARTITION = r"aws(?:-[a-z]+)*"
REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]"
ACCOUNT = r"[0-9]{12}"
RESOURCE_NAME = r"[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62}"
"""SageMaker's name rule for work teams and models (1-63 characters)."""

PRIVATE_WORKTEAM_ARN_PATTERN = (
    rf"^arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/{RESOURCE_NAME}$"
)
VENDOR_WORKTEAM_ARN_PATTERN = (
    rf"^arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}:workteam/vendor-crowd/{RESOURCE_NAME}$"
)
MODEL_ARN_PATTERN = rf"^arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}:model/{RESOURCE_NAME}$"

_ARN_PARTS = re.compile(
    rf"arn:(?P<partition>{PARTITION}):sagemaker:(?P<region>{REGION}):(?P<account>{ACCOUNT}):"
)


@dataclass(frozen=True)
class Arn:
    """Any ARN, cut into its parts (``arn:<partition>:<service>:<region>:<account>:<resource>``); the
    resource keeps its own colons (``execution:<machine>:<name>``)."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def with_resource(self, resource: str) -> str:
        """The ARN of another resource of the same service, partition, region and account."""
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{resource}"


def parse_arn(arn: str) -> Arn:
    """The parts of an ARN; ``ValueError`` when ``arn`` does not have the six parts of one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn[:200]!r}")
    return Arn(*parts[1:])


def arn_region(arn: str) -> str:
    """The region part of an ARN."""
    return parse_arn(arn).region


@dataclass(frozen=True)
class ArnPlace:
    """Where an ARN lives."""

    partition: str
    region: str
    account: str


def arn_place(arn: str) -> ArnPlace:
    """Partition, region and account of a SageMaker ARN that matched one of the patterns above."""
    match = _ARN_PARTS.match(arn)
    if match is None:
        raise ValueError(f"not a SageMaker ARN: {arn!r}")
    return ArnPlace(match["partition"], match["region"], match["account"])


def _misplaced(field: str, arn: str, stack: ArnPlace, *, own_account: bool) -> str | None:
    place = arn_place(arn)
    wrong = [
        f"{what} {got!r} (this stack: {want!r})"
        for what, got, want in (
            ("partition", place.partition, stack.partition),
            ("region", place.region, stack.region),
            *((("account", place.account, stack.account),) if own_account else ()),
        )
        if got != want
    ]
    if not wrong:
        return None
    scope = "partition, region and account" if own_account else "partition and region"
    return f"{field}: must be in this stack's {scope}; has " + ", ".join(wrong)


def check_arns_in_stack(job_input: JobInput, partition: str, region: str, account: str) -> None:
    """Refuse ARNs of the input that point outside this stack (InvalidJobInput names each field).

    Pure: CreateJob passes the stack's partition, region and account (from its own ARN or settings).
    """
    stack = ArnPlace(partition, region, account)
    problems: list[str] = []
    workforce = job_input.workforce
    problem = _misplaced(
        "workforce.workteam_arn", workforce.workteam_arn, stack, own_account=workforce.kind == "private"
    )
    if problem:
        problems.append(problem)
    model = job_input.initial_model
    arn = getattr(model, "arn", None)
    if isinstance(arn, str):
        problem = _misplaced("initial_model.arn", arn, stack, own_account=True)
        if problem:
            problems.append(problem)
    if problems:
        raise InvalidJobInput("; ".join(problems))
