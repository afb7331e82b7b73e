"""SageMaker answered per job from a script, for workflows that run jobs concurrently.

A botocore Stubber answers calls in one global order, which concurrent branches (the experiment's
second stage) cannot guarantee. This double keeps Stubber's guarantee that matters — every request
is validated against the SageMaker API model (botocore validates before ``before-call``) — and
answers each call from the script of the job it names, whatever the order across jobs.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT, REGION
from tests.support.aws import EXAMPLE_TIME, describe_response


@dataclass
class JobScript:
    """What one job does: the statuses successive polls see, then its final details."""

    statuses: list[str]
    final: dict[str, Any] = field(default_factory=dict)
    on_create: Callable[[str, dict[str, Any]], None] | None = None
    """Called with (job name, request) when the job is created, e.g. to write its S3 output."""


class ScriptedSageMaker:
    """A real SageMaker client whose calls are answered from per-job scripts chosen by job name."""

    def __init__(self, choose_script: Callable[[str], JobScript]) -> None:
        self.client = boto3.client("sagemaker", region_name=REGION)
        self._choose_script = choose_script
        self._lock = threading.Lock()
        self._params = threading.local()
        self.created: dict[str, dict[str, Any]] = {}
        self.describes: dict[str, int] = {}
        self.stops: list[str] = []
        self._forced: dict[str, str] = {}
        self._scripts: dict[str, JobScript] = {}
        events = self.client.meta.events
        events.register("before-parameter-build.sagemaker", self._remember_params)
        events.register("before-call.sagemaker", self._answer)

    def _remember_params(self, params: dict[str, Any], **_: Any) -> None:
        self._params.value = copy.deepcopy(params)

    def _answer(self, model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params: dict[str, Any] = self._params.value
        ok = AWSResponse(None, 200, {}, None)  # type: ignore[arg-type]
        name = params["LabelingJobName"]
        with self._lock:
            if model.name == "CreateLabelingJob":
                if name in self.created:
                    raise ClientError({"Error": {"Code": "ResourceInUse", "Message": name}}, model.name)
                self.created[name] = params
                script = self._scripts[name] = self._choose_script(name)
                if script.on_create is not None:
                    script.on_create(name, params)
                arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{name}"
                return ok, {"LabelingJobArn": arn, "ResponseMetadata": {"HTTPStatusCode": 200}}
            if model.name == "StopLabelingJob":
                if name not in self.created:
                    raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": name}}, model.name)
                if self._current(name, advance=False) in {"Completed", "Failed", "Stopped"}:
                    raise ClientError(
                        {"Error": {"Code": "ValidationException", "Message": "ended"}}, model.name
                    )
                self.stops.append(name)
                self._forced[name] = "Stopped"
                return ok, {"ResponseMetadata": {"HTTPStatusCode": 200}}
            if model.name == "DescribeLabelingJob":
                if name not in self.created:
                    raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": name}}, model.name)
                script = self._scripts[name]
                status = self._current(name, advance=True)
                ended = status in {"Completed", "Failed", "Stopped"}
                details = (
                    {"modified": EXAMPLE_TIME + timedelta(hours=4), **script.final}
                    if ended
                    else {"human": 10}
                )
                tags = {t["Key"]: t["Value"] for t in self.created[name].get("Tags", [])}
                response = describe_response(name, status, extra_tags=tags, **details)
                response["ResponseMetadata"] = {"HTTPStatusCode": 200}
                return ok, response
        raise AssertionError(f"unexpected SageMaker call {model.name}")

    def _current(self, name: str, *, advance: bool) -> str:
        """The job's status now: forced (set_status, a stop) or the next one of its script."""
        if name in self._forced:
            return self._forced[name]
        statuses = self._scripts[name].statuses
        seen = self.describes.get(name, 0)
        if advance:
            self.describes[name] = seen + 1
            return statuses[min(seen, len(statuses) - 1)]
        return statuses[min(max(seen - 1, 0), len(statuses) - 1)]

    def set_status(self, name: str, status: str) -> None:
        """From now on the job reports ``status`` (e.g. it ended, or was stopped in the console)."""
        with self._lock:
            self._forced[name] = status
