"""The offline stack: the synthesized LabelChain stack running on one machine, no AWS account.

- moto's server on 127.0.0.1 (real HTTP, real boto3) for S3, DynamoDB, IAM, KMS, Lambda and Step
  Functions, executing the synthesized state machine definitions;
- every Lambda invocation dispatched in-process to the handler module the template names, with the
  function's environment from the template and a compressed clock;
- LabelChain's Ground Truth emulator (``local.ground_truth``) serving the labeling-job API, reached by
  the handlers' unchanged boto3 code through ``AWS_ENDPOINT_URL_SAGEMAKER``.
Everything is started and stopped here: free ports, clean shutdown, no process left behind.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config

from labelchain.core.s3_layout import MANIFEST_SUFFIX, incoming_prefix
from local.clock import CompressedClock
from local.event_bus import LocalEventBus
from local.faults import Throttling
from local.ground_truth import FaultInjection, GroundTruthEmulator, SimulationParams
from local.lambda_dispatch import dispatch_to_handler
from local.moto_engine import EngineHandle, in_process_engine
from local.moto_server import threaded_moto_server
from local.outputs import register_stack_outputs
from local.resources import ACCOUNT, REGION, DeployedStack, deploy_template

SERVICES = (
    "s3",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "stepfunctions",
    "events",
    "sqs",
    "sns",
    "cloudformation",
)
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "LabelChain",
}


@dataclass(frozen=True)
class LocalOptions:
    """How the offline stack behaves: clock speed, emulator model and faults."""

    scale: float = 1800.0
    """Simulated seconds per real second (1,800: a 4-hour job takes 8 s)."""
    seed: int = 7
    simulation: SimulationParams | None = None
    ground_truth_faults: FaultInjection | None = None
    dynamodb_throttle_rate: float = 0.0
    """Share of the Lambdas' DynamoDB requests answered with ThrottlingException."""
    log_level: str = "WARNING"
    """Powertools log level of the handlers, overriding the template's INFO (their JSON logs go to
    stdout, as in Lambda; WARNING keeps the demo's output readable)."""
    min_schedule_real_seconds: float = 1.0
    """Schedules (the reconciler's 15 minutes) fire at most once per this many real seconds: at the
    demo's scale 15 simulated minutes are 0.3 real s, and a reconciler run takes about 0.2 s offline."""
    emit_metrics: bool = False
    """Print the handlers' CloudWatch EMF metric documents (off: the demo's output stays readable)."""


@dataclass
class LocalStack:
    """A running offline stack: clients to it, its resources and its clock."""

    template: Mapping[str, Any]
    deployed: DeployedStack
    clock: CompressedClock
    engine: EngineHandle
    emulator: GroundTruthEmulator
    endpoint: str
    bus: LocalEventBus
    throttling: list[Throttling] = field(default_factory=list)

    def client(self, service: str) -> Any:
        """A boto3 client of the local stack (moto, or the emulator for ``sagemaker``)."""
        return boto3.client(service, region_name=REGION, config=Config(retries={"mode": "standard"}))

    @property
    def labeling_job_arn(self) -> str:
        return self.deployed.state_machine("LabelingJob")

    @property
    def experiment_arn(self) -> str:
        return self.deployed.state_machine("Experiment")

    @property
    def environment(self) -> dict[str, str]:
        (environment, *_) = self.deployed.function_environments.values()
        return environment

    @property
    def data_bucket(self) -> str:
        return self.environment["LABELCHAIN_DATA_BUCKET"]

    @property
    def output_bucket(self) -> str:
        return self.environment["LABELCHAIN_OUTPUT_BUCKET"]

    @property
    def table_name(self) -> str:
        return self.environment["LABELCHAIN_TABLE_NAME"]

    def start(self, state_machine_arn: str, execution_input: Any, name: str) -> str:
        """Start an execution; returns its ARN."""
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
        )
        return str(response["executionArn"])

    def deliver_s3_event(self, event: Mapping[str, Any]) -> str | None:
        """Put an S3 event on the offline bus (the stack's rules applied as EventBridge would); returns
        the LabelingJob execution the manifest rule started, None when no rule matched."""
        started = [d for d in self.bus.put_event(event) if d.target_arn == self.labeling_job_arn]
        failed = [d for d in started if not d.ok]
        if failed:
            raise RuntimeError(f"the manifest rule could not start the execution: {failed[0].error}")
        return str(started[0].result) if started else None

    def drop_manifest(self, project: str, batch: str, manifest: bytes) -> str | None:
        """Upload ``incoming/<project>/<batch>.manifest`` and deliver S3's "Object Created" event."""
        bucket, key = self.data_bucket, f"{incoming_prefix(project)}{batch}{MANIFEST_SUFFIX}"
        version = self.client("s3").put_object(Bucket=bucket, Key=key, Body=manifest).get("VersionId", "null")
        return self.deliver_s3_event(s3_object_created_event(bucket, key, version, len(manifest)))

    def wait(
        self, execution_arn: str, timeout_seconds: float = 120.0, poll_seconds: float = 0.1
    ) -> dict[str, Any]:
        """Block until the execution ends (bounded); returns DescribeExecution."""
        stepfunctions = self.client("stepfunctions")
        deadline = time.monotonic() + timeout_seconds
        while True:
            described: dict[str, Any] = stepfunctions.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"{execution_arn} still running after {timeout_seconds} s")
            time.sleep(poll_seconds)


def s3_object_created_event(bucket: str, key: str, version_id: str, size: int) -> dict[str, Any]:
    """The event S3 sends to EventBridge for a new object (the shape of the S3 user guide's example)."""
    now = datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": key,
                "size": size,
                "version-id": version_id,
                "sequencer": f"{now.timestamp():.6f}",
            },
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def emulator_s3_client() -> Any:
    """The S3 client the Ground Truth emulator reads its inputs and writes a job's output with.

    It computes and checks checksums only where S3 requires them: by default boto3 adds a CRC32 to every
    PutObject (an ``aws-chunked`` body that moto decodes and verifies) and checks the checksum of every
    GetObject. A job's output is one small PUT per human-labeled object and more, and moto need not
    decode and verify each (``bench/worker_time_read.py`` compares both; on a 2-CPU machine shared with
    other work the difference was within the noise: 0.76x and 1.11x the default's time). The Lambdas'
    clients keep boto3's defaults, as in AWS.
    """
    only_when_required = Config(
        request_checksum_calculation="when_required", response_checksum_validation="when_required"
    )
    return boto3.client("s3", region_name=REGION, config=only_when_required)


class InProcessOutputWrites:
    """The emulator's S3 client, with ``put_object`` stored straight into moto's in-process S3 backend.

    Ground Truth writes a job's output from inside AWS; the emulator's equivalent is writing into the S3
    that moto runs in this process, skipping an HTTP round trip per file. A job writes one
    worker-response file per human-labeled object and iteration (about 1,600 for one of the demo's
    jobs), which over HTTP took 8-11 s per job on the offline pipeline's critical path
    (``bench/worker_time_read.py``). The backend applies the bucket's versioning and default encryption
    itself, as the HTTP path does; every other call (the manifest and label-category reads) goes over
    HTTP as before. Only valid while moto runs in this process (``threaded_moto_server``).
    """

    def __init__(self, client: Any, account: str = ACCOUNT) -> None:
        self._client = client
        self._account = account

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> dict[str, Any]:  # noqa: N803 - boto3's names
        from moto.backends import get_backend  # noqa: PLC0415 - moto internals, offline only

        stored = get_backend("s3")[self._account]["aws"].put_object(Bucket, Key, Body)
        return {"ETag": stored.etag, "VersionId": stored.version_id}


def _same_environment(deployed: DeployedStack) -> dict[str, str]:
    environments = list(deployed.function_environments.values())
    if any(environment != environments[0] for environment in environments):
        raise ValueError("the local stack runs every handler in one process: their environments must agree")
    return environments[0]


@contextmanager
def local_stack(template: Mapping[str, Any], options: LocalOptions = LocalOptions()) -> Iterator[LocalStack]:
    """Start moto, the emulator and the stack's resources; stop everything on exit."""
    clock = CompressedClock(options.scale)
    with ExitStack() as stack:
        # One patch of the whole environment: everything set below is undone on exit.
        quiet = {"POWERTOOLS_LOG_LEVEL": options.log_level}
        if not options.emit_metrics:
            quiet["POWERTOOLS_METRICS_DISABLED"] = "true"
        stack.enter_context(mock.patch.dict(os.environ, {**FAKE_CREDENTIALS, **quiet}))
        werkzeug = logging.getLogger("werkzeug")  # moto server's request log
        stack.callback(werkzeug.setLevel, werkzeug.level)
        werkzeug.setLevel(logging.ERROR)
        # moto's interpreter logs a path that Choice's IsPresent finds missing, which is normal here.
        interpreter = logging.getLogger("moto.stepfunctions")
        stack.callback(interpreter.setLevel, interpreter.level)
        interpreter.setLevel(logging.CRITICAL)
        # Imported once the environment is set: Powertools reads its log level when the handlers load.
        from labelchain.handlers.runtime import build_runtime, override_runtime  # noqa: PLC0415
        from labelchain.settings import get_settings  # noqa: PLC0415

        for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL_SAGEMAKER"):
            os.environ.pop(variable, None)
        endpoint = stack.enter_context(threaded_moto_server())
        engine = stack.enter_context(
            in_process_engine(dispatch_to_handler, sleeper=clock.sleep, timeout_scale=clock.scale)
        )
        clients = {service: boto3.client(service, region_name=REGION) for service in SERVICES}
        deployed = deploy_template(template, clients)

        # One invocation per delivery: botocore must neither time out on a long handler nor retry it.
        invoker = boto3.client(
            "lambda", region_name=REGION, config=Config(read_timeout=900, retries={"total_max_attempts": 1})
        )
        bus = LocalEventBus(template, deployed, {**clients, "lambda": invoker}, clock=clock)
        emulator = GroundTruthEmulator(
            s3_client=InProcessOutputWrites(emulator_s3_client()),
            clock=clock,
            params=options.simulation or SimulationParams(seed=options.seed),
            faults=options.ground_truth_faults or FaultInjection(),
        )
        sagemaker_endpoint = stack.enter_context(emulator.running())
        os.environ["AWS_ENDPOINT_URL_SAGEMAKER"] = sagemaker_endpoint
        os.environ.update(_same_environment(deployed))
        os.environ.update(quiet)  # the demo's log level and metrics switch win over the template's
        get_settings.cache_clear()
        stack.callback(get_settings.cache_clear)

        runtime = replace(build_runtime(), clock=clock)
        throttling: list[Throttling] = []
        if options.dynamodb_throttle_rate:
            dynamodb_throttling = Throttling(options.dynamodb_throttle_rate, options.seed)
            dynamodb_throttling.attach(runtime.store.client)
            throttling.append(dynamodb_throttling)
        stack.enter_context(override_runtime(runtime))
        # Last in, first out: the bus's threads stop before the runtime, emulator, engine and server.
        stack.callback(setattr, emulator, "event_sink", None)
        emulator.event_sink = bus.put_event
        stack.enter_context(bus.execution_watcher())
        stack.enter_context(bus.schedules(clock, options.min_schedule_real_seconds))
        # The stack's outputs in moto's CloudFormation, as a deployment has them (the labelchain CLI).
        register_stack_outputs(template, deployed, clients["cloudformation"], get_settings().resource_prefix)
        yield LocalStack(template, deployed, clock, engine, emulator, endpoint, bus, throttling)
