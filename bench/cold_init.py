"""Cold-init cost of every LabelChain Lambda handler, as a ratio against a boto3-only floor.

A Lambda cold start pays for importing the handler module and for the first invocation's set-up
(settings validation, boto3 session, four clients). Absolute milliseconds depend on the machine, so
each handler is compared with a baseline measured in the same run, the same way: a fresh process that
imports boto3 and creates exactly the clients ``get_runtime()`` creates, and nothing else. The ratio is
the number to watch; nothing here asserts a time. The handlers measured are those the stack deploys:
``infra.functions.FUNCTION_SPECS``. A second reference row, the framework floor, adds what any handler
built on Powertools and pydantic pays before its own code runs: importing both, a ``Logger``, and one
small model built and validated.

Every sample is a fresh ``python -c`` child that times itself with ``time.perf_counter`` and reports
its peak RSS, and the CPU time it used over the same span (``time.process_time``): on a shared, loaded
machine the wall-clock time also counts the time spent waiting for a CPU, the CPU time much less, so
both ratios are printed. The child sees a Lambda-like environment with fake credentials (nothing
calls AWS: creating a client makes no request) and imports ``labelchain`` from the code asset as the
stack builds it (``infra.lambda_code``: unchecked-hash bytecode beside the source); one row runs the
source-only asset a synth without a Python 3.13 interpreter would ship. Run it with the Lambda runtime's
Python (``make bench-venv`` builds ``build/venv-lambda``, the default when present): bytecode is only
used by the interpreter version that wrote it.

Models defer building their validators to first use (``core/models.py``), so each handler child then
builds every deferred model it imported and reports the time: the most its first invocations can add.

Usage: ``python bench/cold_init.py [--repeats N] [--python PATH] [--json PATH] [--handlers NAME ...]``
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE = ROOT / "lambdas"
HANDLERS_DIR = LAMBDA_SOURCE / "labelchain" / "handlers"
sys.path[:0] = [str(LAMBDA_SOURCE), str(ROOT)]
REGION = "us-east-1"
VARIANT_HANDLER = "create_job"
ROWS_PER_BASELINE = 2
DEFAULT_PYTHON = ROOT / "build" / "venv-lambda" / "bin" / "python"

FAKE_SETTINGS = {
    "resource_prefix": "labelchain",
    "table_name": "labelchain-jobs",
    "data_bucket": "labelchain-data-123456789012",
    "output_bucket": "labelchain-output-123456789012",
    "kms_key_arn": f"arn:aws:kms:{REGION}:123456789012:key/00000000-0000-4000-8000-000000000000",
    "ground_truth_role_arn": "arn:aws:iam::123456789012:role/labelchain-ground-truth",
}
"""A plausible deployment's values of the required ``Settings`` fields; every other variable of
ENVIRONMENT_VARIABLES gets its field's default (the cold start validates them all, as in Lambda)."""
CLIENT_SERVICES = ("sagemaker", "s3", "dynamodb", "stepfunctions")
"""What ``build_runtime()`` creates (checked on every run: ``check_floor_mirrors``)."""

CHILD = """
import sys, time
start, cpu_start = time.perf_counter(), time.process_time()
if sys.argv[1] in ("baseline", "framework"):
    import boto3
    from botocore.config import Config
    if sys.argv[1] == "framework":  # what any Powertools + pydantic handler pays, LabelChain or not
        from aws_lambda_powertools import Logger
        from pydantic import BaseModel, ConfigDict, Field
        Logger()
    imported = time.perf_counter()
    session = boto3.session.Session(region_name=sys.argv[2])
    attempts, connect, read, pool = (int(value) for value in sys.argv[3:7])
    config = Config(
        retries={"mode": "standard", "max_attempts": attempts},
        connect_timeout=connect,
        read_timeout=read,
        max_pool_connections=pool,
        user_agent_extra="labelchain",
    )
    clients = [session.client(name, config=config) for name in sys.argv[7:]]
    if sys.argv[1] == "framework":
        class Event(BaseModel):
            model_config = ConfigDict(frozen=True, extra="forbid")
            name: str = Field(pattern="^[a-z]+$", max_length=63)
            attempt: int = Field(default=0, ge=0)
        Event.model_validate({"name": "cold", "attempt": 1})
else:
    __import__("labelchain.handlers." + sys.argv[2])
    imported = time.perf_counter()
    from labelchain.handlers.runtime import get_runtime
    runtime = get_runtime()
    clients = [runtime.jobs._client, runtime.objects._client, runtime.store._client,
               runtime.executions.client]
ready, cpu_ready = time.perf_counter(), time.process_time()
deferred = []
# What the first invocations may add: every model whose build was deferred (not in instruction counts)
if sys.argv[1] == "handler" and __import__("os").environ.get("BUILD_DEFERRED_MODELS") == "1":
    from pydantic import BaseModel
    deferred = [
        value for name, module in list(sys.modules.items()) if name.startswith("labelchain.")
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == name
        and not value.__pydantic_complete__
    ]
    for model in deferred:
        model.model_rebuild()
    if not all(model.__pydantic_complete__ for model in deferred):
        raise SystemExit("model_rebuild() left a deferred model unbuilt")
built = time.perf_counter()
import json, resource
try:  # this process's own high-water mark; ru_maxrss would also count the parent it was forked from
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
print(json.dumps({
    "import_s": imported - start,
    "setup_s": ready - imported,
    "cpu_s": cpu_ready - cpu_start,
    "deferred_models": len(deferred),
    "deferred_build_s": built - ready,
    "peak_rss_bytes": peak,
    "modules": len(sys.modules),
    "xray_loaded": "aws_xray_sdk.core" in sys.modules,
    "clients": sorted(
        [c.meta.service_model.service_name, c.meta.region_name, c.meta.config.retries,
         c.meta.config.connect_timeout, c.meta.config.read_timeout, c.meta.config.max_pool_connections,
         c.meta.config.user_agent_extra]
        for c in clients
    ),
}))
"""
"""Runs in the child: ``sys.argv[1:]`` is ``baseline <region> <max attempts> <connect s> <read s>
<max pool connections> <service> …`` (``framework``: the same arguments) or ``handler <module name>``."""


@dataclass(frozen=True)
class Target:
    """One row of the table: what the child imports and how its environment differs from Lambda's."""

    label: str
    mode: str  # "baseline" or "handler"
    argument: str  # region for the baseline, module name for a handler
    extra: tuple[str, ...] = ()  # the baseline's Config values and services
    tracing: bool = False
    in_lambda: bool = True
    bytecode: bool = True  # False: the asset a synth without a Python 3.13 interpreter ships


@dataclass(frozen=True)
class Context:
    """Where and how children run: the interpreter, the Lambda-like environment, and the two stagings of
    the code asset (with bytecode, as ``infra.lambda_code`` builds it, and source only)."""

    python: Path
    env: dict[str, str]
    workdir: Path
    with_bytecode: Path
    source_only: Path


@dataclass
class Samples:
    """A row's runs, each with the baseline run made just before it (its pair)."""

    target: Target
    runs: list[dict[str, Any]] = field(default_factory=list)
    paired_floor: list[dict[str, Any]] = field(default_factory=list)

    def series(self, key: str, *, floor: bool = False) -> list[float]:
        return [run[key] for run in (self.paired_floor if floor else self.runs)]


def discover_handlers() -> list[str]:
    """The handler modules of the functions the stack deploys (``infra.functions.FUNCTION_SPECS``), each
    checked to define a top-level ``handler``; a handler module no function uses is named on stderr."""
    from infra.functions import FUNCTION_SPECS  # noqa: PLC0415 - starts jsii (a few seconds), parent only

    names = [spec.module for spec in FUNCTION_SPECS]
    defined = set()
    for path in sorted(HANDLERS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        if any(isinstance(node, ast.FunctionDef) and node.name == "handler" for node in tree.body):
            defined.add(path.stem)
    missing = [name for name in names if name not in defined]
    if missing:
        raise SystemExit(f"FUNCTION_SPECS names handler modules without a handler(): {missing}")
    unused = sorted(defined - set(names))
    if unused:
        print(f"note: handler modules no deployed function uses: {unused}", file=sys.stderr)
    return names


def stage_asset(destination: Path, python: Path | None) -> Path:
    """The code asset as the stack builds it (``infra.lambda_code.build_lambda_code``): ``lambdas/`` without
    the developer's caches, compiled to unchecked-hash bytecode by ``python`` (None: source only)."""
    from infra.lambda_code import build_lambda_code  # noqa: PLC0415

    build = build_lambda_code(build_root=destination, python=python)
    if build.bytecode != (python is not None):
        raise SystemExit(f"asked for bytecode={python is not None}, the build has bytecode={build.bytecode}")
    return build.path


def lambda_environment(workdir: Path) -> dict[str, str]:
    """A Lambda-like environment built from scratch, so the developer's AWS profile cannot leak in."""
    from infra.functions import POWERTOOLS_ENVIRONMENT, PYTHON_ENVIRONMENT  # noqa: PLC0415
    from labelchain.settings import ENVIRONMENT_VARIABLES as variables  # noqa: N811, PLC0415
    from labelchain.settings import Settings  # noqa: PLC0415

    fields = Settings.model_fields
    required = {name for name in variables if fields[name].is_required()}
    if FAKE_SETTINGS.keys() - variables.keys() or required - FAKE_SETTINGS.keys():
        raise SystemExit(
            f"FAKE_SETTINGS is out of step with ENVIRONMENT_VARIABLES: it needs exactly {sorted(required)} "
            f"(optional: {sorted(variables.keys() - required)})"
        )
    settings = {name: FAKE_SETTINGS.get(name, str(fields[name].default)) for name in variables}
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL") if key in os.environ}
    env.update({variables[key]: value for key, value in settings.items()})
    env.update(POWERTOOLS_ENVIRONMENT)
    env.update(PYTHON_ENVIRONMENT)
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "TZ": ":UTC",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_SESSION_TOKEN": "fake-session-token",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(workdir / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "no-aws-credentials"),
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        }
    )
    return env


def child_environment(target: Target, context: Context) -> dict[str, str]:
    env = dict(context.env)
    staged = context.with_bytecode if target.bytecode else context.source_only
    env.update({"PYTHONPATH": str(staged), "LAMBDA_TASK_ROOT": str(staged), "BUILD_DEFERRED_MODELS": "1"})
    function = target.argument if target.mode == "handler" else target.mode
    env["AWS_LAMBDA_FUNCTION_NAME"] = f"labelchain-{function.replace('_', '-')}"
    if not target.tracing:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    if not target.in_lambda:
        del env["LAMBDA_TASK_ROOT"]
    return env


def run_child(target: Target, context: Context) -> dict[str, Any]:
    began = time.perf_counter()
    completed = subprocess.run(
        [str(context.python), "-c", CHILD, target.mode, target.argument, *target.extra],
        env=child_environment(target, context),
        cwd=context.workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{target.label}: child failed ({completed.returncode})\n{completed.stderr}")
    sample: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    sample["process_s"] = time.perf_counter() - began
    sample["total_s"] = sample["import_s"] + sample["setup_s"]
    sample["peak_rss_mib"] = sample.pop("peak_rss_bytes") / 2**20
    return sample


def targets_for(handlers: list[str]) -> tuple[Target, list[Target]]:
    from labelchain.settings import (  # noqa: PLC0415
        BOTO_CONNECT_TIMEOUT_SECONDS,
        BOTO_MAX_ATTEMPTS,
        BOTO_MAX_POOL_CONNECTIONS,
        BOTO_READ_TIMEOUT_SECONDS,
    )

    config = (
        BOTO_MAX_ATTEMPTS,
        BOTO_CONNECT_TIMEOUT_SECONDS,
        BOTO_READ_TIMEOUT_SECONDS,
        BOTO_MAX_POOL_CONNECTIONS,
    )
    baseline = Target(
        f"baseline: boto3 + {len(CLIENT_SERVICES)} clients",
        "baseline",
        REGION,
        extra=(*(str(value) for value in config), *CLIENT_SERVICES),
    )
    framework = Target(
        "framework floor: baseline + pydantic, a Powertools Logger, one model validated",
        "framework",
        REGION,
        extra=baseline.extra,
    )
    rows = [framework, *(Target(name, "handler", name) for name in handlers)]
    variant = VARIANT_HANDLER if VARIANT_HANDLER in handlers else handlers[0]
    rows.append(Target(f"{variant}, tracing on", "handler", variant, tracing=True))
    rows.append(Target(f"{variant}, outside Lambda (as in tests)", "handler", variant, in_lambda=False))
    rows.append(
        Target(f"{variant}, source only (no bytecode in the asset)", "handler", variant, bytecode=False)
    )
    return baseline, rows


def measure(
    baseline: Target, rows: list[Target], repeats: int, context: Context
) -> tuple[Samples, list[Samples]]:
    """Alternate baseline and handler runs (B, h1, h2, B, h3, h4, …) so rows share the machine's noise
    with the baseline run next to them; one baseline per ``ROWS_PER_BASELINE`` rows keeps the default
    run under a minute. Each round starts at a different row, so no row keeps the same neighbours.
    """
    for target in (baseline, rows[0]):  # warm the page cache; not recorded
        run_child(target, context)
    floor = Samples(baseline)
    measured = [Samples(row) for row in rows]
    for round_index in range(repeats):
        shift = round_index % len(measured)
        order = measured[shift:] + measured[:shift]
        for first in range(0, len(order), ROWS_PER_BASELINE):
            paired = run_child(baseline, context)
            floor.runs.append(paired)
            for samples in order[first : first + ROWS_PER_BASELINE]:
                samples.paired_floor.append(paired)
                samples.runs.append(run_child(samples.target, context))
                check_floor_mirrors(samples.runs[-1], paired, samples.target.label)
    return floor, measured


def check_floor_mirrors(sample: dict[str, Any], floor: dict[str, Any], label: str) -> None:
    """The baseline is only a floor if it builds the handler's clients (service, region, Config)."""
    if sample["clients"] != floor["clients"]:
        raise SystemExit(
            f"baseline no longer mirrors {label}'s clients:\n"
            f"  handler  {sample['clients']}\n  baseline {floor['clients']}\n"
            "update CHILD's baseline branch to create the same clients with the same Config"
        )


def summarize(samples: Samples) -> dict[str, Any]:
    """Median and min per measure. ``ratio_*`` is the median, over this row's runs, of each run divided by
    the baseline run made just before it (pairs share the machine's state, so slow spells cancel);
    ``ratio_min`` divides the row's fastest run by its paired baselines' fastest (the least disturbed)."""

    def stats(key: str) -> dict[str, float]:
        values = samples.series(key)
        return {"median": statistics.median(values), "min": min(values)}

    keys = ("import_s", "setup_s", "total_s", "cpu_s", "deferred_build_s", "peak_rss_mib", "process_s")
    summary: dict[str, Any] = {key: stats(key) for key in keys}
    floor = samples.paired_floor or samples.runs  # the baseline row is its own floor
    for key in ("total_s", "cpu_s", "peak_rss_mib"):
        ratios = [run[key] / paired[key] for run, paired in zip(samples.runs, floor, strict=True)]
        summary[f"ratio_{key.removesuffix('_s')}"] = statistics.median(ratios)
    summary["ratio_min"] = summary["total_s"]["min"] / min(run["total_s"] for run in floor)
    with_deferred = [
        (run["total_s"] + run["deferred_build_s"]) / paired["total_s"]
        for run, paired in zip(samples.runs, floor, strict=True)
    ]
    summary["ratio_with_deferred"] = statistics.median(with_deferred)
    summary["deferred_models"] = samples.runs[0]["deferred_models"]
    summary["modules"] = samples.runs[0]["modules"]
    summary["xray_loaded"] = any(run["xray_loaded"] for run in samples.runs)
    return summary


def markdown_table(floor: Samples, measured: list[Samples]) -> str:
    def ms(stat: dict[str, float]) -> str:
        return f"{stat['median'] * 1000:.0f} / {stat['min'] * 1000:.0f}"

    lines = [
        "| target | import ms | first `get_runtime()` ms | cold init ms | vs baseline | vs baseline, "
        "fastest runs | vs baseline (CPU) | deferred models: n, ms to build all | vs baseline, all built "
        "| peak RSS MiB | modules | X-Ray SDK |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|",
    ]
    for samples in [floor, *measured]:
        summary = summarize(samples)
        deferred = (
            f"{summary['deferred_models']}, {summary['deferred_build_s']['median'] * 1000:.0f}"
            if samples.target.mode == "handler"
            else "-"
        )
        lines.append(
            f"| {samples.target.label} | {ms(summary['import_s'])} | {ms(summary['setup_s'])} "
            f"| {ms(summary['total_s'])} | {summary['ratio_total']:.2f}x | {summary['ratio_min']:.2f}x "
            f"| {summary['ratio_cpu']:.2f}x | {deferred} | {summary['ratio_with_deferred']:.2f}x "
            f"| {summary['peak_rss_mib']['median']:.0f} | {summary['modules']} "
            f"| {'loaded' if summary['xray_loaded'] else '-'} |"
        )
    return "\n".join(lines)


CALLGRIND_TOTAL = re.compile(r"Collected : (\d+)")


def instructions(target: Target | None, context: Context) -> int:
    """Instructions one child executes, counted by valgrind's callgrind: the same count on every run
    (hash seed fixed), whatever else the machine is doing. ``None`` counts an empty interpreter."""
    argv = ["-c", "pass"] if target is None else ["-c", CHILD, target.mode, target.argument, *target.extra]
    env = child_environment(target or Target("empty", "baseline", REGION), context)
    completed = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={os.devnull}", str(context.python), *argv],
        env={**env, "PYTHONHASHSEED": "0", "BUILD_DEFERRED_MODELS": "0"},
        cwd=context.workdir,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    match = CALLGRIND_TOTAL.search(completed.stderr)
    if completed.returncode != 0 or match is None:
        label = "empty interpreter" if target is None else target.label
        raise SystemExit(
            f"{label}: callgrind run failed ({completed.returncode})\n{completed.stderr[-2000:]}"
        )
    return int(match.group(1))


def instruction_table(baseline: Target, rows: list[Target], context: Context) -> str:
    """One callgrind run per row, a CPU's worth at a time; counts net of the interpreter's own start-up
    and shutdown (an empty ``python -c pass``), so the ratio compares the cold inits alone."""
    targets: list[Target | None] = [None, baseline, *rows]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = list(pool.map(lambda target: instructions(target, context), targets))
    empty, floor = counts[0], counts[1] - counts[0]
    lines = [
        f"| target | instructions, millions (net of the {empty / 1e6:.0f} M of an empty interpreter) "
        "| vs baseline |",
        "|---|--:|--:|",
    ]
    for target, count in zip(targets[1:], counts[1:], strict=True):
        assert target is not None
        lines.append(f"| {target.label} | {(count - empty) / 1e6:,.0f} | {(count - empty) / floor:.2f}x |")
    return "\n".join(lines)


MACHINE_PROBE = """
import json, platform, sys
from importlib import metadata
print(json.dumps({
    "python": platform.python_version(),
    "implementation": platform.python_implementation(),
    "packages": {name: metadata.version(name) for name in sys.argv[1:]},
}))
"""


def machine(python: Path) -> dict[str, Any]:
    """The host, and the interpreter and package versions the children ran (not this process's)."""
    packages = ("boto3", "botocore", "aws-lambda-powertools", "aws-xray-sdk", "pydantic")
    probe = subprocess.run(
        [str(python), "-c", MACHINE_PROBE, *packages], capture_output=True, text=True, check=True
    )
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        **json.loads(probe.stdout),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    available = discover_handlers()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="samples per row (default 7)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every raw sample here")
    parser.add_argument("--handlers", nargs="+", choices=available, default=available, metavar="NAME")
    parser.add_argument(
        "--python",
        type=Path,
        default=DEFAULT_PYTHON if DEFAULT_PYTHON.exists() else Path(sys.executable),
        help="interpreter the children run and the asset is compiled with (default: build/venv-lambda, "
        "the Lambda runtime's Python with the pinned runtime packages: make bench-venv; else this one)",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count each row's instructions under valgrind's callgrind (deterministic; ~4 min)",
    )
    args = parser.parse_args(argv)
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (Debian package valgrind)")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    load_before = os.getloadavg()[0]  # POSIX only, like the child's ``resource``
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labelchain-bench-") as tmp:
        workdir = Path(tmp)
        context = Context(
            python=args.python,
            env=lambda_environment(workdir),
            workdir=workdir,
            with_bytecode=stage_asset(workdir / "bytecode", args.python),
            source_only=stage_asset(workdir / "source", None),
        )
        baseline, rows = targets_for(args.handlers)
        floor, measured = measure(baseline, rows, args.repeats, context)
        counted = instruction_table(baseline, rows, context) if args.instructions else None
    elapsed = time.perf_counter() - started

    host = machine(args.python)
    host["load_1min"] = {"before": load_before, "after": os.getloadavg()[0]}
    when = dt.datetime.now(dt.UTC)
    print(
        f"{when:%Y-%m-%d %H:%M} UTC · {host['nproc']} CPUs · Python {host['python']} "
        f"({host['machine']}) · {', '.join(f'{k} {v}' for k, v in host['packages'].items())}"
    )
    print(
        f"{args.repeats} fresh processes per row, next to a baseline run; cells are median / min; "
        "vs baseline = median over the row's runs of cold init / its paired baseline run; fastest runs = "
        "the row's min / its paired baselines' min; all built = cold init plus building every model whose "
        f"build was deferred (an upper bound of what first invocations add); run took {elapsed:.0f} s; "
        f"1-min load average before the run {load_before:.2f}, after {host['load_1min']['after']:.2f} "
        "(near 0: nothing else was running)\n"
    )
    print(markdown_table(floor, measured))
    if counted is not None:
        print("\nInstructions executed (callgrind; one run per row, repeatable):\n")
        print(counted)

    if args.json:
        report = {
            "date": when.isoformat(timespec="seconds"),
            "machine": host,
            "repeats": args.repeats,
            "elapsed_s": elapsed,
            "rows": [
                {
                    "label": samples.target.label,
                    "target": vars(samples.target),
                    "summary": summarize(samples),
                    "paired_baseline_total_s": samples.series("total_s", floor=True),
                    "samples": samples.runs,
                }
                for samples in [floor, *measured]
            ],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
