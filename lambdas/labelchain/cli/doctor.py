"""``labelchain doctor [INPUT.json]``: preflight before a deploy or a run — each check PASS, FAIL or
SKIP, with what it found and how to fix it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from labelchain.cli import output
from labelchain.cli.exits import NOT_COMPLETED, OK, CliError
from labelchain.cli.inputs import CheckedInput, InvalidInput, load_input
from labelchain.cli.options import Subparsers, add_command
from labelchain.cli.project import cdk_bootstrap_parameter, powertools_ssm_parameter
from labelchain.core.arns import arn_region
from labelchain.core.regions import SUPPORTED_REGIONS

if TYPE_CHECKING:
    from labelchain.cli.aws import Aws

NAME = "doctor"
MIN_BOOTSTRAP_VERSION = 6
"""The oldest CDK bootstrap stack the synthesized template accepts (its CheckBootstrapVersion rule)."""
CLOSED_TO_NEW_CUSTOMERS = (
    "Ground Truth is no longer open to new customers (AWS's developer guide; existing customers continue "
    "to use it): use an account that has used Ground Truth before, or ask AWS Support. If it is IAM, allow "
    "sagemaker:ListLabelingJobs and sagemaker:CreateLabelingJob"
)
DESCRIPTION = """\
Preflight checks, each printed as a line
  PASS|FAIL|SKIP  name — what was found — how to fix it
credentials (STS GetCallerIdentity) · region (in LabelChain's Ground Truth region table) · the
labeling API answers (ListLabelingJobs; Ground Truth is closed to new accounts) · with INPUT.json:
the input is valid and its work team exists in that region · the Powertools layer's public SSM
parameter for the version requirements.txt pins · CDK bootstrap (/cdk-bootstrap/hnb659fds/version)
· the LabelChain stack is deployed with all its outputs. A check that needs an earlier one that
failed is skipped. Exits 1 if any check FAILs."""
EXAMPLES = """\
  labelchain doctor
  labelchain doctor examples/image-classification-private.json --region us-east-1
  labelchain doctor --before-deploy       # the stack is not expected yet
  labelchain doctor --json"""

Status = Literal["PASS", "FAIL", "SKIP"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status} {self.name} — {self.detail}"
        return f"{text} — {self.fix}" if self.fix and self.status != "PASS" else text


def passed(name: str, detail: str) -> Check:
    return Check(name, "PASS", detail)


def failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)


def skipped(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "SKIP", detail, fix)


def _code_and_message(exc: BaseException) -> tuple[str, str]:
    from labelchain.adapters.aws_errors import error_code, error_message  # noqa: PLC0415

    return error_code(exc, type(exc).__name__), error_message(exc)


def _aws_errors() -> tuple[type[BaseException], ...]:
    from labelchain.adapters.aws_errors import AWS_ERRORS  # noqa: PLC0415

    return AWS_ERRORS


@dataclass
class Doctor:
    """Runs the checks in order; later checks look at what earlier ones found."""

    aws: Aws
    checked_input: CheckedInput | None = None
    input_problem: str | None = None
    before_deploy: bool = False
    account: str | None = None
    region: str | None = None
    checks: list[Check] = field(default_factory=list)

    def run(self) -> list[Check]:
        steps: list[Callable[[], Check]] = [
            self.credentials,
            self.region_supported,
            self.labeling_api,
            self.workteam,
            self.powertools_parameter,
            self.cdk_bootstrap,
            self.stack,
        ]
        for step in steps:
            try:
                check = step()
            except _aws_errors() as exc:  # a check that did not foresee an error still reports it
                code, message = _code_and_message(exc)
                check = failed(step.__name__.replace("_", " "), f"{code}: {message}", "see the AWS error")
            self.checks.append(check)
        return self.checks

    def _client(self, service: str) -> Any:
        return self.aws.client(service)

    # --- the checks ------------------------------------------------------------------------------

    def credentials(self) -> Check:
        name = "credentials"
        try:
            self.region = self.aws.region
        except CliError as exc:
            return failed(name, str(exc), "pass --region or set AWS_REGION")
        try:
            identity = self._client("sts").get_caller_identity()
        except _aws_errors() as exc:
            code, message = _code_and_message(exc)
            return failed(
                name,
                f"STS GetCallerIdentity failed ({code}): {message}",
                "configure credentials: aws configure, AWS_PROFILE, or aws sso login",
            )
        self.account = str(identity["Account"])
        return passed(name, f"account {self.account} as {identity['Arn']}")

    def region_supported(self) -> Check:
        name = "region"
        if self.region is None:
            return skipped(name, "no region configured", "pass --region or set AWS_REGION")
        if self.region not in SUPPORTED_REGIONS:
            return failed(
                name,
                f"{self.region} has no Ground Truth built-in task Lambdas in LabelChain's region table",
                f"deploy to one of {', '.join(SUPPORTED_REGIONS)} (--region / AWS_REGION)",
            )
        return passed(name, f"{self.region} is in LabelChain's Ground Truth region table")

    def labeling_api(self) -> Check:
        name = "labeling API"
        if self.account is None:
            return skipped(name, "needs working credentials")
        try:
            listed = self._client("sagemaker").list_labeling_jobs(MaxResults=1)
        except _aws_errors() as exc:
            code, message = _code_and_message(exc)
            refused = "AccessDenied" in code or any(
                hint in message.lower() for hint in ("not authorized", "new customers", "not available")
            )
            fix = (
                CLOSED_TO_NEW_CUSTOMERS
                if refused
                else "check that SageMaker is available to this account in this region"
            )
            return failed(name, f"SageMaker ListLabelingJobs failed ({code}): {message}", fix)
        jobs = len(listed.get("LabelingJobSummaryList", []))
        return passed(
            name, f"SageMaker ListLabelingJobs answers in {self.region} ({jobs} job(s) on the first page)"
        )

    def workteam(self) -> Check:
        name = "work team"
        if self.input_problem is not None:
            return failed(name, self.input_problem, "fix the input: labelchain validate INPUT.json")
        if self.checked_input is None:
            return skipped(name, "no INPUT.json given")
        if self.region is None or self.region not in SUPPORTED_REGIONS:
            return skipped(name, "needs a supported region")
        workforce = self.checked_input.job.workforce
        arn = workforce.workteam_arn
        team_region = arn_region(arn)
        if team_region != self.region:
            return failed(
                name,
                f"{arn} is in {team_region}, the jobs run in {self.region} (CreateJob refuses it)",
                f"use a {workforce.kind} workteam of {self.region}, or run in {team_region} (--region)",
            )
        if self.account is None:
            return skipped(name, "needs working credentials")
        sagemaker = self._client("sagemaker")
        try:
            if workforce.kind == "private":
                sagemaker.describe_workteam(WorkteamName=arn.split("/")[-1])
            else:
                sagemaker.describe_subscribed_workteam(WorkteamArn=arn)
        except _aws_errors() as exc:
            code, message = _code_and_message(exc)
            operation = "DescribeWorkteam" if workforce.kind == "private" else "DescribeSubscribedWorkteam"
            return failed(
                name,
                f"{operation} of {arn} failed ({code}): {message}",
                "create the team (SageMaker console > Labeling workforces) or subscribe to the vendor, "
                "or correct workforce.workteam_arn",
            )
        return passed(name, f"{workforce.kind} workteam {arn} exists in {self.region}")

    def powertools_parameter(self) -> Check:
        name = "Powertools layer"
        project = self.aws.project
        setting = project.powertools_layer_setting()
        if isinstance(setting, int):
            return skipped(name, f"cdk.json pins layer version {setting}: no SSM parameter is resolved")
        version = project.powertools_version()
        if version is None:
            return skipped(
                name, "requirements.txt not found", "run doctor from the LabelChain checkout to check this"
            )
        if self.account is None:
            return skipped(name, "needs working credentials")
        parameter = powertools_ssm_parameter(version)
        try:
            value = self._client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
        except _aws_errors() as exc:
            code, message = _code_and_message(exc)
            detail = f"{parameter} cannot be read in {self.region} ({code})"
            if code == "ParameterNotFound":
                return failed(
                    name,
                    f"{parameter} does not exist in {self.region}: AWS publishes no Powertools {version} "
                    "layer (python3.13, arm64) here",
                    "set cdk.json powertools_layer_version to a layer number of "
                    f"AWSLambdaPowertoolsPythonV3-python313-arm64 published in {self.region}",
                )
            return failed(name, f"{detail}: {message}", "allow ssm:GetParameter on /aws/service/powertools/*")
        return passed(name, f"{parameter} = {value}")

    def cdk_bootstrap(self) -> Check:
        name = "CDK bootstrap"
        if self.account is None:
            return skipped(name, "needs working credentials")
        bootstrap = f"npx cdk bootstrap aws://{self.account}/{self.region}"
        parameter = cdk_bootstrap_parameter()
        try:
            value = self._client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
        except _aws_errors() as exc:
            code, message = _code_and_message(exc)
            if code == "ParameterNotFound":
                return failed(
                    name, f"{parameter} does not exist: this environment is not bootstrapped", bootstrap
                )
            return failed(name, f"{parameter} cannot be read ({code}): {message}", "allow ssm:GetParameter")
        try:
            version = int(value)
        except ValueError:
            return failed(name, f"{parameter} = {value!r} is not a version number", bootstrap)
        if version < MIN_BOOTSTRAP_VERSION:
            return failed(
                name, f"bootstrap version {version} is older than {MIN_BOOTSTRAP_VERSION}", bootstrap
            )
        return passed(name, f"bootstrap version {version} in {self.account}/{self.region}")

    def stack(self) -> Check:
        name = "stack"
        stack_name = self.aws.stack_name
        if self.before_deploy:
            return skipped(name, f"--before-deploy: {stack_name} is not expected yet")
        if self.account is None:
            return skipped(name, "needs working credentials")
        try:
            outputs = self.aws.outputs()
        except CliError as exc:
            return failed(name, str(exc).split(": deploy", 1)[0], "make deploy (or --stack NAME)")
        if outputs.missing:
            return failed(
                name,
                f"{stack_name} ({outputs.status}) lacks the outputs {', '.join(outputs.missing)}",
                "make deploy (this checkout's stack)",
            )
        return passed(name, f"{stack_name} is {outputs.status} with its {len(outputs.values)} outputs")


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers,
        NAME,
        summary="preflight: credentials, region, Ground Truth access, work team, layer, bootstrap, stack",
        description=DESCRIPTION,
        examples=EXAMPLES,
        run=run,
    )
    parser.add_argument("input", nargs="?", metavar="INPUT.json", help="also check this input's work team")
    parser.add_argument(
        "--experiment", action="store_true", help="INPUT.json is an Experiment input (docs/EXPERIMENT.md)"
    )
    parser.add_argument(
        "--before-deploy", action="store_true", help="skip the stack check (nothing is deployed yet)"
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def run(args: argparse.Namespace) -> int:
    from labelchain.cli.aws import Aws  # noqa: PLC0415

    doctor = Doctor(Aws.from_args(args), before_deploy=args.before_deploy)
    if args.input is not None:
        try:
            doctor.checked_input = load_input(args.input, args.experiment)
        except InvalidInput as exc:
            doctor.input_problem = f"{args.input} is invalid: {exc.cause}"
    checks = doctor.run()
    failures = sum(1 for check in checks if check.status == "FAIL")
    if args.json:
        output.emit_json([asdict(check) for check in checks])
    else:
        output.emit("\n".join(check.line() for check in checks))
        counts = {status: sum(1 for c in checks if c.status == status) for status in ("PASS", "FAIL", "SKIP")}
        output.emit(f"\ndoctor: {counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['SKIP']} SKIP")
    return NOT_COMPLETED if failures else OK
