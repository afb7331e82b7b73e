"""What a cold start loads, and that tracing still records when it is on.

Each case runs in a fresh interpreter with a Lambda-like environment built from scratch, so nothing this
test process already imported (or its environment) counts. Whether tracing is on is decided once, when
``labelchain.handlers.runtime`` is imported, by Powertools' own rule.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
HANDLER_MODULES = sorted(path.stem for path in (LAMBDAS / "labelchain" / "handlers").glob("*.py"))
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _run_in_lambda_like_process(code: str, *, tracing: bool) -> list[object]:
    """Run ``code`` as Lambda would import our package; its last stdout line is JSON."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(LAMBDAS),
        "LAMBDA_TASK_ROOT": str(LAMBDAS),
        "AWS_LAMBDA_FUNCTION_NAME": "labelchain-cold-imports",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "labelchain",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    if tracing:
        env["_X_AMZN_TRACE_ID"] = TRACE_HEADER  # what Lambda sets for a sampled invocation
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, completed.stderr
    result: list[object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def test_with_tracing_off_no_handler_import_loads_the_xray_sdk() -> None:
    # Given tracing disabled, When every handler module is imported
    code = f"""
import importlib, json, sys
for name in {HANDLER_MODULES!r}:
    importlib.import_module("labelchain.handlers." + name)
from labelchain.handlers import runtime
print(json.dumps([runtime.tracer is None, sorted(m for m in sys.modules if m.startswith("aws_xray_sdk"))]))
"""
    tracer_is_none, xray_modules = _run_in_lambda_like_process(code, tracing=False)

    # Then no Tracer exists and the X-Ray SDK (a third of a cold import) was never loaded
    assert tracer_is_none is True
    assert xray_modules == []


def test_with_tracing_on_a_handler_records_its_subsegment_and_its_aws_calls() -> None:
    # Given tracing on (in Lambda, not disabled) and an emitter that keeps what it would send the daemon
    code = """
import json
from aws_xray_sdk.core import xray_recorder

sent = []


class KeepingEmitter:
    def send_entity(self, entity):
        sent.append(entity.to_dict())

    def set_daemon_address(self, address):
        pass


xray_recorder.configure(emitter=KeepingEmitter())

import boto3
from botocore.stub import Stubber

from labelchain.handlers.runtime import lambda_handler

client = boto3.client("s3", region_name="us-east-1")
stubber = Stubber(client)
stubber.add_response("list_buckets", {"Buckets": []})
stubber.activate()


@lambda_handler
def handler(event, context):
    client.list_buckets()
    return {}


class Context:
    function_name = "labelchain-cold-imports"
    memory_limit_in_mb = 128
    aws_request_id = "request-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:labelchain-cold-imports"


handler({}, Context())


def names(entity):
    yield entity["name"]
    for child in entity.get("subsegments", []):
        yield from names(child)


print(json.dumps(sorted(name for entity in sent for name in names(entity))))
"""
    # When a decorated handler runs and makes one (stubbed) AWS call
    recorded = _run_in_lambda_like_process(code, tracing=True)

    # Then the Tracer recorded the handler (Powertools' "## <function>") and patched botocore's call
    assert recorded == ["## handler", "s3"]


def test_importing_every_handler_builds_no_model_validator_but_those_its_module_level_values_need() -> None:
    # Given every handler module imported as a cold start does (core/models.py defers every build)
    code = f"""
import importlib, json, sys
from pydantic import BaseModel
for name in {HANDLER_MODULES!r}:
    importlib.import_module("labelchain.handlers." + name)
models = [
    value for name, module in list(sys.modules.items()) if name.startswith("labelchain")
    for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == name
]
built = sorted(model.__qualname__ for model in models if model.__pydantic_complete__)
print(json.dumps([len(models), built]))
"""
    count, built = _run_in_lambda_like_process(code, tracing=False)

    # Then only PriceTable is built (core/prices.py validates the built-in price table at import); every
    # other model waits for its first use, so a cold start pays only for what its invocation validates
    assert isinstance(count, int)
    assert count > 50
    assert built == ["PriceTable"]


def test_many_threads_first_using_one_deferred_model_all_get_its_own_validator() -> None:
    # Given a fresh process (nothing built yet) and 32 threads released together onto one deferred model
    code = """
import json, threading
from concurrent.futures import ThreadPoolExecutor
from pydantic import ValidationError
from labelchain.core.job_input import TaskSpec
from labelchain.core.records import Counters

start = threading.Barrier(32)
def first_use(index):
    start.wait()
    counters = Counters.model_validate({"total_labeled": index})
    try:
        TaskSpec.model_validate({"title": "x", "no": 1})
    except ValidationError as exc:
        return [counters.total_labeled, [(error["loc"], error["type"]) for error in exc.errors()]]
    return [counters.total_labeled, "accepted"]
with ThreadPoolExecutor(max_workers=32) as pool:
    print(json.dumps(list(pool.map(first_use, range(32)))))
"""
    results: list[Any] = _run_in_lambda_like_process(code, tracing=False)

    # Then every thread validated with the model's own validator: Counters kept its value, and TaskSpec
    # refused the unknown field as its own strict validator does (a parent's would have ignored it)
    assert [total for total, _ in results] == list(range(32))
    assert all([["no"], "extra_forbidden"] in errors for _, errors in results)
    assert len({json.dumps(errors) for _, errors in results}) == 1
