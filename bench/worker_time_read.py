"""Reading worker-response files: one after another (the baseline) and with Finalize's thread pool.

Cost model v2 reads one worker-response file per human-labeled object and iteration; a 100,000-object
job means 100,000+ GetObjects inside one Lambda invocation. This script, in one run:

1. writes ``--files`` worker-response files shaped like the emulator's (3 workers' bounding-box
   answers, ~1.5 KB) to moto's server running in this process, as the offline stack runs it, 8 PUTs at a
   time as the emulator writes — twice: with boto3's default checksums, and with checksums only when
   required (the offline stack's emulator client);
2. writes them again to moto's server started as a **separate process** (so this process's CPU time is
   the client's only: botocore, the stream, the JSON reader) and reads them the old way
   (``WorkerTimeTally.add`` in a loop, the baseline) and with
   ``services.worker_responses.WorkerResponseReader`` (``MAX_READERS`` threads), through one S3 client
   configured as the Lambdas' (``handlers.runtime.build_runtime``), and checks both summaries are equal;
3. projects a 100,000-file job at ``--latency-ms`` per GetObject (AWS's, not moto's): each read waits
   that long without the GIL and costs the client CPU measured here with it, so
   ``time = files × max((latency + cpu) / readers, cpu / vCPUs)`` — a Lambda at 1,024 MB has ~0.58 vCPU
   (1,769 MB is one), and Python's GIL caps useful CPU at one core.

Usage: ``PYTHONPATH=lambdas:. .venv/bin/python bench/worker_time_read.py [--files 2000] [--latency-ms 20]
[--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from bench.benchlib import REGION, machine_line, markdown_table  # noqa: E402
from labelchain.adapters.s3 import ObjectStore  # noqa: E402
from labelchain.core.labor import WorkerTimeSummary, WorkerTimeTally  # noqa: E402
from labelchain.services.worker_responses import MAX_READERS, ReadBudget, WorkerResponseReader  # noqa: E402
from labelchain.settings import (  # noqa: E402
    BOTO_CONNECT_TIMEOUT_SECONDS,
    BOTO_MAX_ATTEMPTS,
    BOTO_MAX_POOL_CONNECTIONS,
    BOTO_READ_TIMEOUT_SECONDS,
)
from local.moto_server import threaded_moto_server  # noqa: E402

BUCKET = "bench-worker-responses"
PROJECTED_FILES = 100_000
LAMBDA_VCPUS = {1024: 1024 / 1769, 1769: 1.0}
"""Lambda's CPU share grows with memory; 1,769 MB is one full vCPU (AWS Lambda developer guide)."""
FINALIZE_TIMEOUT_SECONDS = 300
EMULATOR_PARALLEL_PUTS = 8
ONLY_WHEN_REQUIRED = Config(
    request_checksum_calculation="when_required", response_checksum_validation="when_required"
)
"""The offline stack's emulator client (``local.stack.emulator_s3_client``)."""
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench"}


def worker_response(index: int) -> bytes:
    """A worker-response file shaped like the emulator's: three workers' bounding-box answers."""
    answers = []
    for worker in range(3):
        seconds = 20 + (index * 7 + worker * 13) % 60
        answers.append(
            {
                "workerId": f"private.us-east-1.bench{worker:04d}",
                "acceptanceTime": "2026-11-30T10:00:00.000Z",
                "submissionTime": f"2026-11-30T10:01:{seconds % 60:02d}.000Z",
                "timeSpentInSeconds": seconds,
                "answerContent": {
                    "boundingBox": {
                        "boundingBoxes": [
                            {"label": "Bird", "left": 10 + worker, "top": 20, "width": 120, "height": 80}
                        ],
                        "inputImageProperties": {"width": 640, "height": 480},
                    }
                },
                "workerMetadata": {"identityData": {"identityProviderType": "Simulated", "sub": "bench"}},
            }
        )
    return json.dumps({"answers": answers}).encode()


@contextmanager
def moto_server_process() -> Iterator[str]:
    """moto's server in a child process on a free loopback port; yields its endpoint."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start")
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def lambda_s3_client(endpoint: str) -> Any:
    """An S3 client configured as ``handlers.runtime.build_runtime`` configures the Lambdas'."""
    config = Config(
        retries={"mode": "standard", "max_attempts": BOTO_MAX_ATTEMPTS},
        connect_timeout=BOTO_CONNECT_TIMEOUT_SECONDS,
        read_timeout=BOTO_READ_TIMEOUT_SECONDS,
        max_pool_connections=BOTO_MAX_POOL_CONNECTIONS,
    )
    return boto3.client("s3", region_name=REGION, endpoint_url=endpoint, config=config)


def timed(action: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall s, this process's CPU s, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def write_files(client: Any, keys: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=EMULATOR_PARALLEL_PUTS) as pool:
        for future in [
            pool.submit(client.put_object, Bucket=BUCKET, Key=key, Body=worker_response(index))
            for index, key in enumerate(keys)
        ]:
            future.result()


def compare_writes(endpoint: str, keys: list[str]) -> dict[str, tuple[float, float]]:
    """(wall s, CPU s of this process — client and server) of writing ``keys`` with each writer."""
    writers = {
        "default checksums": boto3.client("s3", region_name=REGION, endpoint_url=endpoint),
        "checksums when required": boto3.client(
            "s3", region_name=REGION, endpoint_url=endpoint, config=ONLY_WHEN_REQUIRED
        ),
    }
    writers["default checksums"].create_bucket(Bucket=BUCKET)
    results = {}
    for name, client in writers.items():
        wall, cpu, _ = timed(partial(write_files, client, keys))
        results[name] = (wall, cpu)
    return results


def read_sequentially(objects: ObjectStore, keys: list[str]) -> WorkerTimeSummary:
    """The baseline: what Finalize did before the pool, one file after another."""
    tally = WorkerTimeTally()
    for key in keys:
        tally.add(key, 1, objects.iter_chunks(BUCKET, key))
    return tally.summary()


def read_with_pool(objects: ObjectStore, keys: list[str]) -> WorkerTimeSummary:
    tally = WorkerTimeTally()
    with WorkerResponseReader(objects, BUCKET, tally, ReadBudget.seconds_from_now(3600)) as reader:
        for key in keys:
            reader.read(key, 1)
    return tally.summary()


def projection(latency: float, cpu: float, readers: int, vcpus: float, files: int = PROJECTED_FILES) -> float:
    return files * max((latency + cpu) / readers, cpu / min(vcpus, 1.0))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="per-GetObject latency on AWS")
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(variable, None)
    print(machine_line())
    keys = [
        f"job/annotations/worker-response/iteration-1/{i}/2026-11-30_10:01:00.json" for i in range(args.files)
    ]
    with threaded_moto_server() as endpoint:  # as the offline stack runs it: the emulator writes here
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        writes = compare_writes(endpoint, keys)
    with moto_server_process() as endpoint:
        fast_writer = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, config=ONLY_WHEN_REQUIRED)
        fast_writer.create_bucket(Bucket=BUCKET)
        write_files(fast_writer, keys)
        objects = ObjectStore(lambda_s3_client(endpoint))
        read_sequentially(objects, keys[:50])  # warm the client (endpoint resolution, connections)
        sequential = timed(lambda: read_sequentially(objects, keys))
        pooled = timed(lambda: read_with_pool(objects, keys))
    if sequential[2] != pooled[2]:
        print("FAIL: the pool's summary differs from the sequential one")
        return 1
    files = args.files
    default_write = writes["default checksums"]
    print(
        f"\nWriting {files:,} worker-response files to moto in this process (as the offline stack runs it), "
        f"{EMULATOR_PARALLEL_PUTS} PUTs at a time:"
    )
    print(
        markdown_table(
            ["client", "wall s", "client CPU s", "vs default"],
            [
                [name, f"{wall:.2f}", f"{cpu:.2f}", f"{wall / default_write[0]:.2f}x"]
                for name, (wall, cpu) in writes.items()
            ],
            "lrrr",
        )
    )
    print(f"\nReading them (moto in another process), summaries equal: {sequential[2] == pooled[2]}:")
    rows = [
        [
            "one after another (baseline)",
            f"{sequential[0]:.2f}",
            f"{sequential[1]:.2f}",
            f"{sequential[0] / files * 1000:.1f}",
            f"{sequential[1] / files * 1000:.2f}",
            "1.00x",
        ],
        [
            f"pool of {MAX_READERS}",
            f"{pooled[0]:.2f}",
            f"{pooled[1]:.2f}",
            f"{pooled[0] / files * 1000:.1f}",
            f"{pooled[1] / files * 1000:.2f}",
            f"{pooled[0] / sequential[0]:.2f}x",
        ],
    ]
    print(
        markdown_table(
            ["reader", "wall s", "client CPU s", "ms/file", "CPU ms/file", "time vs baseline"], rows, "lrrrrr"
        )
    )
    print(f"\nThe pool took {pooled[0] / sequential[0]:.2f}x the time of the baseline.")

    latency, cpu = args.latency_ms / 1000, max(sequential[1], pooled[1]) / files
    print(
        f"\nProjection, {PROJECTED_FILES:,} files at {args.latency_ms:g} ms per GetObject and "
        f"{cpu * 1000:.2f} ms client CPU per file (the larger of the two measured above, on this "
        f"machine's core); FinalizeJob's timeout is {FINALIZE_TIMEOUT_SECONDS} s:"
    )
    projected = []
    for memory, vcpus in LAMBDA_VCPUS.items():
        for readers in (1, MAX_READERS):
            seconds = projection(latency, cpu, readers, vcpus)
            projected.append(
                [f"{memory:,} MB ({vcpus:.2f} vCPU)", readers, f"{seconds:,.0f}", f"{seconds / 60:.1f}"]
            )
    print(markdown_table(["Lambda memory", "readers", "projected s", "min"], projected, "lrrr"))
    if args.json:
        raw = {
            "files": files,
            "writes": writes,
            "sequential": sequential[:2],
            "pooled": pooled[:2],
            "latency_ms": args.latency_ms,
            "cpu_ms_per_file": cpu * 1000,
            "projection": projected,
        }
        args.json.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
