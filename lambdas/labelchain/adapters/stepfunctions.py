"""Step Functions executions: the only module that calls the Step Functions API.

LabelChain's Lambdas resume a waiting LabelingJob execution (``SendTaskSuccess`` with the task token
WaitForJob stored on the job record), read an execution's status, and stop executions (an Experiment's
children when the Experiment ends early).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from labelchain.adapters.aws_errors import aws_call, has_code

STALE_TOKEN_CODES = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
"""What SendTaskSuccess answers when nobody waits on the token any more (the execution ended, or its wait
was re-armed with a new token): a resume that arrives late is a no-op, not an error."""
EXECUTION_MISSING = "ExecutionDoesNotExist"
RUNNING = "RUNNING"


class Executions:
    """Resume, describe and stop executions through an injected boto3 Step Functions client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        return self._client

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        with aws_call("Step Functions", operation):
            return dict(getattr(self._client, operation)(**params))

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """SendTaskSuccess; False when the token is stale (nobody waits on it any more)."""
        try:
            self._call("send_task_success", taskToken=task_token, output=json.dumps(output))
        except ClientError as exc:
            if has_code(exc, STALE_TOKEN_CODES):
                return False
            raise
        return True

    def status(self, execution_arn: str) -> str | None:
        """The execution's status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED), None if unknown."""
        try:
            return str(self._call("describe_execution", executionArn=execution_arn)["status"])
        except ClientError as exc:
            if has_code(exc, {EXECUTION_MISSING}):
                return None
            raise

    def stop(self, execution_arn: str, error: str, cause: str) -> bool:
        """Stop a running execution; False when it does not exist or has already ended."""
        if self.status(execution_arn) != RUNNING:
            return False
        try:
            self._call("stop_execution", executionArn=execution_arn, error=error, cause=cause[:32768])
        except ClientError as exc:
            if has_code(exc, {EXECUTION_MISSING}):
                return False
            raise
        return True
