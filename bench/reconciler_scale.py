"""One reconciler run over many running jobs: wall time with its thread pool against one worker.

``labelchain.services.reconcile.reconcile`` reads every job that is not final from the sparse
active-jobs index and, for each running job, calls DescribeLabelingJob, writes a progress snapshot and
the record's counters and running cost, and checks that the job's execution still runs
(DescribeExecution). Here, in one process:

* DynamoDB is moto (``mock_aws``), holding N realistic job records written with ``JobStore.create_job``
  (the bird bounding-box job of AWS's tutorial, 1,250 objects, InProgress, watched by its execution);
* SageMaker is a boto3 client whose DescribeLabelingJob is answered InProgress after a sleep of
  ``--api-latency-ms`` (default 20 ms), standing for the API's round trip;
* Step Functions is a boto3 client whose DescribeExecution is answered RUNNING after the same sleep;
* DynamoDB calls get ``--dynamodb-latency-ms`` (default 5 ms) of sleep before moto answers them, for the
  network round trip moto does not have (moto's own work then runs in this process, holding the GIL).

The baseline, in the same run: the same reconciler with ``max_workers=1`` (for the ``--baseline-jobs``
sizes: at ~70 ms a job it is the slow part). Wall time is measured
without tracing; peak memory is measured in a separate run of the default pool under ``tracemalloc``
(which slows allocation down).

    python bench/reconciler_scale.py [--jobs 500 2000] [--baseline-jobs 500] [--api-latency-ms 20]
                                     [--dynamodb-latency-ms 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]

from benchlib import (  # noqa: E402
    ACCOUNT,
    REGION,
    RunningExecutions,
    ScriptedSageMaker,
    add_latency,
    machine_line,
    markdown_table,
    quiet_lambda_environment,
)

CREATED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LAMBDA_VCPU_AT_1024_MB = 1024 / 1769
"""Lambda gives a function one full vCPU at 1,769 MB; Reconcile has 1,024 MB (infra/functions.py)."""
_WORLD_NUMBERS = itertools.count(1)
"""Each World gets its own table: the warm-up world (20 jobs) and a measured size may hold the same count."""


def create_table(dynamodb: Any, table_name: str) -> None:
    """The LabelChain table's keys and indexes, from the names ``labelchain.core.records`` defines (the
    same names infra/ builds the table from)."""
    from labelchain.core import records  # noqa: PLC0415

    def index(name: str, partition: str, sort: str) -> dict[str, Any]:
        return {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": partition, "KeyType": "HASH"},
                {"AttributeName": sort, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }

    names = (
        records.PARTITION_KEY,
        records.SORT_KEY,
        records.PROJECT_INDEX_PARTITION_KEY,
        records.PROJECT_INDEX_SORT_KEY,
        records.ACTIVE_INDEX_PARTITION_KEY,
        records.ACTIVE_INDEX_SORT_KEY,
    )
    dynamodb.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in names],
        KeySchema=[
            {"AttributeName": records.PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": records.SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            index(records.PROJECT_INDEX, records.PROJECT_INDEX_PARTITION_KEY, records.PROJECT_INDEX_SORT_KEY),
            index(records.ACTIVE_INDEX, records.ACTIVE_INDEX_PARTITION_KEY, records.ACTIVE_INDEX_SORT_KEY),
        ],
    )


def bird_job_record(index: int, settings: Any) -> Any:
    """A running job like AWS's tutorial (bird boxes, 1,250 objects, 3 workers per object), labeled by a
    private work team and watched by its execution's WaitForJob."""
    from labelchain.core.naming import job_name_for_execution  # noqa: PLC0415
    from labelchain.core.prices import DEFAULT_PRICES  # noqa: PLC0415
    from labelchain.core.records import JobRecord  # noqa: PLC0415

    execution_name = f"birds-batch-{index:05d}"
    machine = f"{settings.resource_prefix}-labeling-job"
    execution_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{execution_name}"
    job_name = job_name_for_execution(settings.resource_prefix, execution_name, execution_arn)
    created = CREATED + timedelta(minutes=index % 1440)
    return JobRecord.model_validate(
        {
            "job_name": job_name,
            "project": f"birds-{index % 20}",
            "execution_arn": execution_arn,
            "job_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/{job_name}",
            "task_type": "bounding_box",
            "labels": ["Bird"],
            "label_attribute": "category",
            "manifest_uri": f"s3://{settings.data_bucket}/birds/batch-{index:05d}.manifest",
            "object_count": 1250,
            "auto_labeling": True,
            "workforce": {
                "kind": "private",
                "workteam_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:workteam/private-crowd/bird-team",
                "workers_per_object": 3,
            },
            "prices": DEFAULT_PRICES,
            "initial_model_source": "none",
            "created_at": created,
            "status": "InProgress",
            "watcher": "execution",
            "watch_token": f"token-{index:05d}-" + "x" * 600,  # task tokens are long
        }
    )


class MotoCpu:
    """CPU seconds this process spends inside moto (the stand-in for DynamoDB's servers), summed over
    threads: each call's ``time.thread_time`` is measured on the thread that makes it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def counting(self) -> Iterator[None]:
        from moto.core.botocore_stubber import BotocoreStubber  # noqa: PLC0415

        original = BotocoreStubber.process_request

        def process_request(stubber: Any, request: Any) -> Any:
            began = time.thread_time()
            try:
                return original(stubber, request)
            finally:
                spent = time.thread_time() - began
                with self._lock:
                    self.seconds += spent

        with mock.patch.object(BotocoreStubber, "process_request", process_request):
            yield


class World:
    """moto DynamoDB with ``jobs`` running job records; SageMaker and Step Functions answered here."""

    def __init__(self, jobs: int, api_latency: float, dynamodb_latency: float) -> None:
        import boto3  # noqa: PLC0415

        from labelchain.adapters.s3 import ObjectStore  # noqa: PLC0415
        from labelchain.adapters.sagemaker import LabelingJobs  # noqa: PLC0415
        from labelchain.adapters.stepfunctions import Executions  # noqa: PLC0415
        from labelchain.adapters.store import JobStore  # noqa: PLC0415
        from labelchain.services.runtime import Runtime  # noqa: PLC0415
        from labelchain.settings import Settings  # noqa: PLC0415

        self.settings = Settings(
            resource_prefix="labelchain",
            table_name=f"labelchain-jobs-{next(_WORLD_NUMBERS)}-{jobs}",
            data_bucket="labelchain-data-123456789012",
            output_bucket="labelchain-output-123456789012",
            kms_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000",
            ground_truth_role_arn=f"arn:aws:iam::{ACCOUNT}:role/labelchain-ground-truth",
            region=REGION,
        )
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_table(dynamodb, self.settings.table_name)
        store = JobStore(dynamodb, self.settings.table_name)
        self.sagemaker = ScriptedSageMaker(latency_seconds=api_latency)
        for index in range(jobs):
            record = bird_job_record(index, self.settings)
            if not store.create_job(record):
                raise RuntimeError(f"{record.job_name} was already recorded")
            self.sagemaker.add_running_job(record.job_name, record.created_at)
        add_latency(dynamodb, "dynamodb", dynamodb_latency)  # after the set-up: only the reconciler waits
        self.executions = RunningExecutions(latency_seconds=api_latency)
        self.runtime = Runtime(
            settings=self.settings,
            jobs=LabelingJobs(self.sagemaker.client),
            objects=ObjectStore(boto3.client("s3", region_name=REGION)),
            store=store,
            clock=lambda: CREATED + timedelta(days=2),
            executions_adapter=Executions(self.executions.client),
        )
        self.jobs = jobs


def timed_run(world: World, workers: int) -> dict[str, Any]:
    from labelchain.services.reconcile import reconcile  # noqa: PLC0415

    wall = time.perf_counter()
    listed = len(list(world.runtime.store.active_jobs()))
    listing = time.perf_counter() - wall
    moto = MotoCpu()
    with moto.counting():
        wall, cpu = time.perf_counter(), time.process_time()
        run = reconcile(world.runtime, max_workers=workers)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {
        "workers": workers,
        "wall_s": wall,
        "cpu_s": cpu,
        "moto_cpu_s": moto.seconds,
        "listing_s": listing,
        "listed": listed,
        "outcomes": run.report.outcomes,
        "errors": run.report.errors,
    }
    if run.report.jobs != world.jobs or run.report.outcomes != {"progress": world.jobs}:
        raise RuntimeError(f"reconciler saw {run.report.jobs} jobs, outcomes {run.report.outcomes}")
    return result


def traced_run(world: World, workers: int) -> float:
    """Peak bytes Python allocated during one reconciler run (tracemalloc; moto's allocations included)."""
    from labelchain.services.reconcile import reconcile  # noqa: PLC0415

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        reconcile(world.runtime, max_workers=workers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return float(peak - before)


def measure(
    sizes: list[int], baseline_sizes: set[int], api_latency_ms: float, dynamodb_latency_ms: float
) -> dict[str, Any]:
    from moto import mock_aws  # noqa: PLC0415

    results = []
    with quiet_lambda_environment(), mock_aws():
        from infra.functions import RECONCILE  # noqa: PLC0415
        from labelchain.services.reconcile import MAX_WORKERS  # noqa: PLC0415

        warm = World(20, api_latency_ms / 1000, dynamodb_latency_ms / 1000)
        timed_run(warm, MAX_WORKERS)  # first calls of each client and code path; not recorded
        for jobs in sizes:
            started = time.perf_counter()
            world = World(jobs, api_latency_ms / 1000, dynamodb_latency_ms / 1000)
            setup = time.perf_counter() - started
            single = timed_run(world, 1) if jobs in baseline_sizes else None
            pooled = timed_run(world, MAX_WORKERS)
            peak = traced_run(world, MAX_WORKERS)
            results.append(
                {
                    "jobs": jobs,
                    "setup_s": setup,
                    "pooled": pooled,
                    "single": single,
                    "peak_bytes": peak,
                    "sagemaker_calls": world.sagemaker.calls.get("DescribeLabelingJob", 0),
                    "stepfunctions_calls": world.executions.calls,
                }
            )
    return {
        "max_workers": MAX_WORKERS,
        "timeout_s": RECONCILE.timeout.to_seconds(),
        "memory_mb": RECONCILE.memory_mb,
        "api_latency_ms": api_latency_ms,
        "dynamodb_latency_ms": dynamodb_latency_ms,
        "sizes": results,
    }


def print_report(result: dict[str, Any]) -> bool:
    print(result["machine"])
    workers, timeout = result["max_workers"], result["timeout_s"]
    print(
        f"labelchain.services.reconcile.reconcile, MAX_WORKERS = {workers} against max_workers = 1, "
        "same run. Modelled latency: DescribeLabelingJob and DescribeExecution "
        f"{result['api_latency_ms']:g} ms each "
        f"(a sleep in the boto3 call), DynamoDB {result['dynamodb_latency_ms']:g} ms + moto's own work "
        f"in-process. Reconcile's timeout: {timeout:.0f} s, {result['memory_mb']} MB "
        f"(≈ {LAMBDA_VCPU_AT_1024_MB:.2f} vCPU).\n"
    )
    rows, fits = [], True
    for size in result["sizes"]:
        pooled, single = size["pooled"], size["single"]
        # On Lambda the CPU-bound part runs on a fraction of a vCPU. Upper estimate: all CPU measured here,
        # moto's included (on AWS that work is DynamoDB's, not the function's).
        lambda_estimate = max(pooled["wall_s"], pooled["cpu_s"] / LAMBDA_VCPU_AT_1024_MB)
        fits = fits and lambda_estimate < timeout / 2
        rows.append(
            [
                f"{size['jobs']:,}",
                f"{pooled['wall_s']:.2f}",
                "—" if single is None else f"{single['wall_s']:.2f}",
                "—"
                if single is None
                else f"{pooled['wall_s'] / single['wall_s']:.2f}x the time of one worker",
                f"{pooled['cpu_s']:.2f} ({pooled['moto_cpu_s']:.2f} in moto)",
                f"{(pooled['cpu_s'] - pooled['moto_cpu_s']) / size['jobs'] * 1000:.1f}",
                f"{pooled['listing_s']:.2f}",
                f"{size['peak_bytes'] / 2**20:.1f}",
                f"{lambda_estimate:.1f} s = {lambda_estimate / timeout:.3f}x the timeout",
            ]
        )
    print(
        markdown_table(
            [
                "running jobs",
                f"{workers} workers: wall s",
                "1 worker: wall s",
                f"{workers} workers vs 1",
                f"CPU s, {workers} workers (of which moto)",
                "CPU outside moto, ms per job",
                "listing the active index, s",
                "peak traced MiB",
                f"upper estimate on Lambda (CPU ÷ {LAMBDA_VCPU_AT_1024_MB:.2f} vCPU)",
            ],
            rows,
        )
    )
    print()
    verdict = "PASS" if fits else "FAIL"
    print(
        f"{verdict}: every size fits Reconcile's {timeout:.0f} s timeout with at least 2x margin "
        "(upper estimate)"
    )
    return fits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, nargs="+", default=[500, 2000], help="sizes (default 500 2000)")
    parser.add_argument(
        "--baseline-jobs",
        type=int,
        nargs="*",
        default=[500],
        help="sizes that also run the one-worker baseline (default 500; it takes ~70 ms a job)",
    )
    parser.add_argument("--api-latency-ms", type=float, default=20.0)
    parser.add_argument("--dynamodb-latency-ms", type=float, default=5.0)
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    machine = machine_line()  # the load average before the run
    result = measure(args.jobs, set(args.baseline_jobs), args.api_latency_ms, args.dynamodb_latency_ms)
    result["machine"] = machine
    passed = print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
