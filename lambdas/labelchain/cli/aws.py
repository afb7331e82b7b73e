"""The AWS session every subcommand shares: region, clients, the stack's outputs and the adapters.

Clients come from boto3's default chain (profile, environment, SSO, instance role), so
``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>`` point them elsewhere — the offline stack sets
``AWS_ENDPOINT_URL`` to moto and ``AWS_ENDPOINT_URL_SAGEMAKER`` to the Ground Truth emulator. The
adapters are the Lambdas' own (``labelchain.adapters``): the CLI reads and writes job records exactly as
the stack does. boto3 is imported on first use, so ``--help`` and offline commands never load it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from labelchain.cli.exits import AWS, CliError
from labelchain.cli.project import STACK_ENVIRONMENT_VARIABLE, ProjectFiles, project_files
from labelchain.cli.stack import StackOutputs, read_stack_outputs

if TYPE_CHECKING:
    from labelchain.adapters.sagemaker import LabelingJobs
    from labelchain.adapters.stepfunctions import Executions
    from labelchain.adapters.store import JobStore

USER_AGENT = "labelchain-cli"


class Aws:
    """Lazily created session, clients and stack outputs for one command."""

    def __init__(
        self, region: str | None = None, stack: str | None = None, project: ProjectFiles | None = None
    ) -> None:
        self._region = region
        self._stack = stack
        self._project = project
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._outputs: StackOutputs | None = None

    @classmethod
    def from_args(cls, args: Any) -> Aws:
        return cls(region=getattr(args, "region", None), stack=getattr(args, "stack", None))

    @property
    def project(self) -> ProjectFiles:
        if self._project is None:
            self._project = project_files()
        return self._project

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3  # noqa: PLC0415 - only commands that call AWS pay for the import

            self._session = boto3.session.Session(region_name=self._region)
        return self._session

    @property
    def region(self) -> str:
        region = self.session.region_name or os.environ.get("AWS_REGION")
        if not region:
            raise CliError("no AWS region configured: pass --region or set AWS_REGION", AWS)
        return str(region)

    def has_credentials(self) -> bool:
        return self.session.get_credentials() is not None

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config  # noqa: PLC0415

            config = Config(
                retries={"mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
                user_agent_extra=USER_AGENT,
            )
            self._clients[service] = self.session.client(service, region_name=self.region, config=config)
        return self._clients[service]

    @property
    def stack_name(self) -> str:
        """``--stack``, else ``LABELCHAIN_STACK``, else the name cdk.json's resource_prefix gives."""
        return self._stack or os.environ.get(STACK_ENVIRONMENT_VARIABLE) or self.project.stack_name()

    def outputs(self) -> StackOutputs:
        if self._outputs is None:
            self._outputs = read_stack_outputs(self.client("cloudformation"), self.stack_name, self.region)
        return self._outputs

    def store(self, table_name: str | None = None) -> JobStore:
        from labelchain.adapters.store import JobStore  # noqa: PLC0415

        return JobStore(self.client("dynamodb"), table_name or self.outputs().table_name)

    def executions(self) -> Executions:
        from labelchain.adapters.stepfunctions import Executions  # noqa: PLC0415

        return Executions(self.client("stepfunctions"))

    def labeling_jobs(self) -> LabelingJobs:
        from labelchain.adapters.sagemaker import LabelingJobs  # noqa: PLC0415

        return LabelingJobs(self.client("sagemaker"))


EXPIRED_CREDENTIAL_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException"})
"""What AWS answers for credentials it no longer accepts."""


def describe_aws_error(exc: BaseException) -> str:
    """One line saying what went wrong with AWS and, where it is clear, what to do."""
    from botocore.exceptions import (  # noqa: PLC0415
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    from labelchain.adapters.aws_errors import error_code, error_message  # noqa: PLC0415

    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: configure a profile (aws configure, AWS_PROFILE, aws sso login) "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region configured: pass --region or set AWS_REGION"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS: {exc}"
    if isinstance(exc, ClientError):
        operation = getattr(exc, "operation_name", "the AWS call")
        code, message = error_code(exc, "Error"), error_message(exc)
        if code in EXPIRED_CREDENTIAL_CODES:
            return f"{operation} refused the credentials ({code}): refresh them (aws sso login, new keys)"
        return f"{operation} failed ({code}): {message}"
    return str(exc)
