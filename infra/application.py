"""Builds the CDK app: context → validated config → stack → cdk-nag. Shared by ``app.py`` and the tests.

No AWS call and no account/region lookup happens here: the stack is environment-agnostic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App

from infra.config import CONTEXT_KEYS, config_from_context
from infra.nag import apply_cdk_nag
from infra.stack import STACK_ID, LabelChainStack

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = PROJECT_ROOT / "cdk.json"
DEFAULT_RESOURCE_PREFIX = "labelchain"


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` block of ``cdk.json`` (what the CDK CLI passes to the app)."""
    context: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    return context


def stack_name_for(resource_prefix: str) -> str:
    """``LabelChain`` for the default prefix, ``LabelChain-<prefix>`` for any other deployment."""
    return STACK_ID if resource_prefix == DEFAULT_RESOURCE_PREFIX else f"{STACK_ID}-{resource_prefix}"


def build_app(context_overrides: Mapping[str, Any] | None = None, outdir: str | None = None) -> App:
    """The LabelChain app with its stack and the cdk-nag checks.

    The app starts from ``cdk.json``'s context, so ``python app.py`` works without the CDK CLI; under
    the CLI, the CLI's context (``cdk.json`` plus ``-c key=value``) takes precedence, as CDK defines for
    ``App(context=...)``. Tests pass ``context_overrides`` to synthesize a variant deployment.
    """
    app = App(context={**cdk_json_context(), **(context_overrides or {})}, outdir=outdir)
    config = config_from_context({key: app.node.try_get_context(key) for key in CONTEXT_KEYS})
    LabelChainStack(
        app,
        STACK_ID,
        config=config,
        stack_name=stack_name_for(config.resource_prefix),
        description="LabelChain: chained, auto-labeling SageMaker Ground Truth jobs",
    )
    apply_cdk_nag(app)
    return app
