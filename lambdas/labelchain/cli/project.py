"""The project's own files the CLI reads: ``cdk.json`` (stack name, default prices, Powertools layer
setting) and ``requirements.txt`` (the pinned Powertools version).

Found in the current directory or the checkout the ``labelchain`` package was installed from
(``make setup`` installs it in editable mode, so ``lambdas/labelchain`` sits two levels below the
project root). Nothing here imports ``infra/`` (that starts the CDK's jsii runtime, seconds per call):
the two rules shared with it — the stack name and the requirements pin — are repeated here and a
unit test holds them equal to ``infra.application.stack_name_for`` and
``infra.functions.powertools_version``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelchain.cli.exits import CliError
from labelchain.core.prices import DEFAULT_PRICES, PriceTable, prices_from_json
from labelchain.core.strict_json import DuplicateKeyError, loads_strict

STACK_ID = "LabelChain"
DEFAULT_RESOURCE_PREFIX = "labelchain"
STACK_ENVIRONMENT_VARIABLE = "LABELCHAIN_STACK"
POWERTOOLS_REQUIREMENT = re.compile(r"^aws-lambda-powertools==([0-9][0-9a-z.]*)\s*$", re.MULTILINE)
CDK_BOOTSTRAP_QUALIFIER = "hnb659fds"
"""The CDK's default bootstrap qualifier (the stack synthesizes with the default synthesizer)."""


def stack_name_for(resource_prefix: str) -> str:
    """``LabelChain`` for the default prefix, ``LabelChain-<prefix>`` otherwise (infra/application.py)."""
    return STACK_ID if resource_prefix == DEFAULT_RESOURCE_PREFIX else f"{STACK_ID}-{resource_prefix}"


def powertools_ssm_parameter(version: str) -> str:
    """AWS's public SSM parameter with the layer ARN of one Powertools release (infra/functions.py)."""
    return f"/aws/service/powertools/python/arm64/python3.13/{version}"


def cdk_bootstrap_parameter(qualifier: str = CDK_BOOTSTRAP_QUALIFIER) -> str:
    """The SSM parameter ``cdk bootstrap`` writes its version to."""
    return f"/cdk-bootstrap/{qualifier}/version"


@dataclass(frozen=True)
class ProjectFiles:
    """Where the project's files are (None: not found, e.g. the CLI runs outside the checkout)."""

    root: Path | None

    @property
    def cdk_json(self) -> Path | None:
        return None if self.root is None else self.root / "cdk.json"

    @property
    def requirements(self) -> Path | None:
        return None if self.root is None else self.root / "requirements.txt"

    def context(self) -> dict[str, Any]:
        """``cdk.json``'s context block ({} without a cdk.json); ``CliError`` (exit 2) on a key repeated in
        one object (the CDK would silently keep the last one)."""
        if self.cdk_json is None:
            return {}
        try:
            document = loads_strict(self.cdk_json.read_text(encoding="utf-8"), document=str(self.cdk_json))
        except DuplicateKeyError as exc:
            raise CliError(str(exc)) from None
        context = document.get("context", {}) if isinstance(document, dict) else {}
        return context if isinstance(context, dict) else {}

    def stack_name(self) -> str:
        """The stack name ``make deploy`` gives this checkout's deployment."""
        prefix = self.context().get("resource_prefix", DEFAULT_RESOURCE_PREFIX)
        return stack_name_for(str(prefix))

    def default_prices(self) -> tuple[PriceTable, str]:
        """The deployment's price table (cdk.json ``default_prices``) and where it came from."""
        overrides = self.context().get("default_prices")
        if not overrides:
            source = "code defaults" if self.cdk_json is None else "code defaults (cdk.json overrides none)"
            return DEFAULT_PRICES, source
        return prices_from_json(json.dumps(overrides)), f"{self.cdk_json} default_prices"

    def powertools_version(self) -> str | None:
        """The aws-lambda-powertools version requirements.txt pins (None without the file)."""
        if self.requirements is None or not self.requirements.is_file():
            return None
        match = POWERTOOLS_REQUIREMENT.search(self.requirements.read_text(encoding="utf-8"))
        return None if match is None else match.group(1)

    def powertools_layer_setting(self) -> str | int:
        """cdk.json ``powertools_layer_version``: ``"ssm"`` (the default) or a layer number."""
        value = self.context().get("powertools_layer_version", "ssm")
        return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _is_root(directory: Path) -> bool:
    return (directory / "cdk.json").is_file() and (directory / "requirements.txt").is_file()


def project_files(start: Path | None = None) -> ProjectFiles:
    """The project root: the current directory (or a parent of it), else the checkout this package
    lives in; ``ProjectFiles(None)`` when neither holds cdk.json and requirements.txt."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if _is_root(directory):
            return ProjectFiles(directory)
    checkout = Path(__file__).resolve().parents[3]
    return ProjectFiles(checkout if _is_root(checkout) else None)
