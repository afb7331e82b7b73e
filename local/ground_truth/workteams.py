"""DescribeWorkteam and DescribeSubscribedWorkteam: the work teams the emulator staffs, as SageMaker
describes them (pure).

The emulator works a job with any private or vendor team its ``WorkteamArn`` names (``workforce.py``
gives it a size), so it answers for every such team of its own account (private) or of any account
(vendor: an AWS Marketplace listing), in the region of the request: ``labelchain doctor`` checks a
team exactly as on AWS. A team of another region, or a vendor ARN that is not a vendor team, does not
exist there (``ValidationException``, AWS's code for a missing work team). Everything is simulated.
"""

from __future__ import annotations

from typing import Any

from local.ground_truth.protocol import ApiError
from local.ground_truth.workforce import work_team

SIMULATED = "simulated by LabelChain's Ground Truth emulator"


def _missing(what: str) -> ApiError:
    return ApiError("ValidationException", f"Workteam {what} does not exist")


def describe_workteam(request: dict[str, Any], region: str, account: str) -> dict[str, Any]:
    """A private team of this account and region, by name."""
    name = str(request["WorkteamName"])
    arn = f"arn:aws:sagemaker:{region}:{account}:workteam/private-crowd/{name}"
    return {
        "Workteam": {
            "WorkteamName": name,
            "WorkteamArn": arn,
            "WorkforceArn": f"arn:aws:sagemaker:{region}:{account}:workforce/default",
            "MemberDefinitions": [],
            "Description": f"private work team {name} ({SIMULATED})",
        }
    }


def describe_subscribed_workteam(request: dict[str, Any], region: str) -> dict[str, Any]:
    """A vendor team of this region the account is subscribed to, by ARN."""
    arn = str(request["WorkteamArn"])
    team = work_team(arn)
    if team.kind != "vendor" or team.region != region or not arn.startswith("arn:aws:sagemaker:"):
        raise _missing(arn)
    return {
        "SubscribedWorkteam": {
            "WorkteamArn": arn,
            "MarketplaceTitle": team.name,
            "SellerName": SIMULATED,
            "MarketplaceDescription": f"vendor work team {team.name} ({SIMULATED})",
        }
    }
