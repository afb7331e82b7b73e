"""Run CreateJob and ResolveTrigger on hostile input and prove the refusal cost nothing.

One moto account (S3 + DynamoDB, versioned buckets) is shared by a test module and emptied between
cases; SageMaker is a real client behind a Stubber with nothing queued, so any SageMaker call fails the
test. Every S3 and SageMaker operation the services make is recorded, so a test can say "refused before
any CreateLabelingJob" and "refused on HeadObject, before reading" exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from botocore.stub import Stubber

from labelchain.core.naming import job_name_for_execution
from labelchain.core.s3_layout import LABELCHAIN_PREFIX
from labelchain.errors import LabelChainError
from labelchain.services.create_job import create_labeling_job
from labelchain.services.events import CreateJobEvent, ExecutionRef
from labelchain.services.resolve_trigger import ResolveTriggerEvent, resolve_trigger
from labelchain.services.runtime import Runtime
from labelchain.settings import Settings
from tests.conftest import ACCOUNT, REGION, TEST_SETTINGS
from tests.support.aws import FixedClock, empty_account, make_runtime

DATA = TEST_SETTINGS.data_bucket
EXECUTION = ExecutionRef(
    id=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:LabelingJob:hostile", name="hostile"
)
JOB_NAME = job_name_for_execution(TEST_SETTINGS.resource_prefix, EXECUTION.name, EXECUTION.id)
S3_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "DeleteObject"})


@dataclass
class RefusalWorld:
    """The shared account, seen by one case: its clients, the Runtime, and every call made through them."""

    runtime: Runtime
    s3: Any
    dynamodb: Any
    sagemaker_calls: list[str] = field(default_factory=list)
    s3_calls: list[str] = field(default_factory=list)

    def put_object(self, key: str, body: bytes) -> str:
        """Write ``body`` at ``key`` of the data bucket (as an uploader would); its version id."""
        return str(self.s3.put_object(Bucket=DATA, Key=key, Body=body)["VersionId"])

    def job_files(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=DATA, Prefix=LABELCHAIN_PREFIX)
        return [item["Key"] for item in listed.get("Contents", [])]

    def table_items(self) -> list[dict[str, Any]]:
        items = self.dynamodb.scan(TableName=TEST_SETTINGS.table_name)["Items"]
        return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))

    def _refused(self, call: Any) -> LabelChainError:
        """Run ``call``; it must raise a LabelChain error and write nothing anywhere."""
        table_before = self.table_items()
        self.s3_calls.clear()
        with pytest.raises(LabelChainError) as refused:
            call()
        assert "CreateLabelingJob" not in self.sagemaker_calls
        assert not S3_WRITES & set(self.s3_calls), self.s3_calls
        assert self.job_files() == []
        assert self.table_items() == table_before
        message = str(refused.value)
        assert "Traceback" not in message
        assert "pydantic" not in message
        return refused.value

    def refuse_create(self, raw: Any, settings: Settings = TEST_SETTINGS) -> LabelChainError:
        """CreateJob on execution input ``raw``: the refusal, after checking that nothing was created."""
        runtime = replace(self.runtime, settings=settings)
        refusal = self._refused(
            lambda: create_labeling_job(CreateJobEvent(input=raw, execution=EXECUTION), runtime)
        )
        assert runtime.store.get_job(JOB_NAME) is None
        return refusal

    def refuse_trigger(self, trigger: dict[str, Any]) -> LabelChainError:
        """ResolveTrigger on ``$.trigger`` = ``trigger``: the refusal, after checking nothing was claimed."""
        event = ResolveTriggerEvent.model_validate({"trigger": trigger, "execution": EXECUTION})
        refusal = self._refused(lambda: resolve_trigger(event, self.runtime))
        assert not [item for item in self.table_items() if item["pk"]["S"].startswith("TRIGGER#")]
        return refusal


@contextmanager
def refusal_world(account: tuple[Any, Any, Any]) -> Iterator[RefusalWorld]:
    """A clean view of a shared ``moto_account()`` ``(s3, dynamodb, sagemaker)`` for one case."""
    s3, dynamodb, sagemaker = account
    empty_account(s3, dynamodb)
    world = RefusalWorld(make_runtime(sagemaker, FixedClock(), s3=s3, dynamodb=dynamodb), s3, dynamodb)

    def record_sagemaker(model: Any, **_: Any) -> None:
        world.sagemaker_calls.append(model.name)

    def record_s3(model: Any, **_: Any) -> None:
        world.s3_calls.append(model.name)

    hooks = (
        (sagemaker, "provide-client-params.sagemaker.*", record_sagemaker),
        (s3, "provide-client-params.s3.*", record_s3),
    )
    for client, event, hook in hooks:
        client.meta.events.register(event, hook)
    try:
        with Stubber(sagemaker) as stub:
            yield world
            stub.assert_no_pending_responses()
    finally:
        for client, event, hook in hooks:
            client.meta.events.unregister(event, hook)
