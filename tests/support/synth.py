"""The default deployment, synthesized once per test session and shared by every test that reads it.

Synthesis is the slow part of the infra, workflow and e2e tests (jsii starts a Node.js process, then
~10 s for the app with cdk-nag), so the infra fixtures (``tests/infra/conftest.py``), the workflow
harness and the e2e tests all read this one cloud assembly. It is made by running ``app.py`` itself,
as ``npx cdk synth`` does (cdk.json context, cdk-nag on), into a temporary directory removed at exit.
A test that needs another deployment (``tests/infra/test_context_overrides.py``) synthesizes its variant
on its own.
"""

from __future__ import annotations

import atexit
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

APP_PY = PROJECT_ROOT / "app.py"


@cache
def default_assembly_directory() -> Path:
    """The cloud assembly directory ``app.py`` wrote (synthesized on the first call only)."""
    outdir = Path(tempfile.mkdtemp(prefix="labelchain-cdk.out-"))
    atexit.register(shutil.rmtree, outdir, ignore_errors=True)
    previous = os.environ.get("CDK_OUTDIR")
    os.environ["CDK_OUTDIR"] = str(outdir)
    try:
        runpy.run_path(str(APP_PY), run_name="__main__")
    finally:
        if previous is None:
            del os.environ["CDK_OUTDIR"]
        else:
            os.environ["CDK_OUTDIR"] = previous
    return outdir


@cache
def default_template() -> dict[str, Any]:
    """The stack's CloudFormation template from that assembly (one shared dict: do not change it)."""
    template: dict[str, Any] = json.loads(
        (default_assembly_directory() / f"{STACK_ID}.template.json").read_text(encoding="utf-8")
    )
    return template
