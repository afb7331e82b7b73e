"""The default deployment, synthesized once per test session and shared by every test that reads it.

Synthesis is the slow part of the infra, workflow and e2e tests (jsii starts a Node.js process, then
~10 s for the app with cdk-nag), so the infra fixtures (``tests/infra/conftest.py``), the workflow
harness and the e2e tests all read this one cloud assembly. It is made by running ``app.py`` itself,
as ``npx cdk synth`` does (cdk.json context, cdk-nag on), into a temporary directory removed at exit.
A test that needs another deployment (``tests/infra/test_context_overrides.py``) synthesizes its variant
on its own.

With ``pytest -n N`` (pytest-xdist, as ``make test`` runs) the workers share one synthesis: the controller
names an empty directory in ``SHARED_DIRECTORY_VARIABLE`` before it starts them (``tests/conftest.py``),
the first worker to need the assembly synthesizes into it while holding a lock on it, and the others
wait for the lock and read what it wrote. The controller removes the directory when the run ends.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import runpy
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from infra.application import PROJECT_ROOT
from infra.stack import STACK_ID
from tests.conftest import SHARED_DIRECTORY_VARIABLE

APP_PY = PROJECT_ROOT / "app.py"


SYNTHESIZED_MARKER = "manifest.json"
"""A file every finished synthesis leaves in its directory (the cloud assembly's manifest)."""


@cache
def default_assembly_directory() -> Path:
    """The cloud assembly directory ``app.py`` wrote (synthesized on the first call only)."""
    shared = os.environ.get(SHARED_DIRECTORY_VARIABLE)
    if shared is None:
        outdir = Path(tempfile.mkdtemp(prefix="labelchain-cdk.out-"))
        atexit.register(shutil.rmtree, outdir, ignore_errors=True)
        _synthesize(outdir)
        return outdir
    outdir = Path(shared)
    outdir.mkdir(parents=True, exist_ok=True)
    with (outdir.parent / f"{outdir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (outdir / SYNTHESIZED_MARKER).exists():
            _synthesize(outdir)
    return outdir


def _synthesize(outdir: Path) -> None:
    previous = os.environ.get("CDK_OUTDIR")
    os.environ["CDK_OUTDIR"] = str(outdir)
    try:
        runpy.run_path(str(APP_PY), run_name="__main__")
    finally:
        if previous is None:
            del os.environ["CDK_OUTDIR"]
        else:
            os.environ["CDK_OUTDIR"] = previous


@cache
def default_template() -> dict[str, Any]:
    """The stack's CloudFormation template from that assembly (one shared dict: do not change it)."""
    template: dict[str, Any] = json.loads(
        (default_assembly_directory() / f"{STACK_ID}.template.json").read_text(encoding="utf-8")
    )
    return template
