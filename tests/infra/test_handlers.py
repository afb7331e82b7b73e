"""Every handler the template names is importable, exactly as Lambda will import it."""

from __future__ import annotations

import importlib
import sys

import pytest

from infra.application import PROJECT_ROOT
from infra.definitions import lambda_functions
from infra.functions import FUNCTION_SPECS
from tests.infra.conftest import CloudAssembly

pytestmark = pytest.mark.infra


def test_every_handler_in_the_template_is_an_importable_callable(
    assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "lambdas"))
    handlers = sorted(properties["Handler"] for properties in lambda_functions(assembly.template).values())

    assert handlers == sorted(spec.handler for spec in FUNCTION_SPECS)
    for handler in handlers:
        module_name, attribute = handler.rsplit(".", 1)
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute, None)), handler
        assert module.__file__ is not None
        assert module.__file__.startswith(str(PROJECT_ROOT / "lambdas")), module.__file__
    assert "labelchain" in sys.modules


def test_every_handler_in_the_template_reports_failures_only_as_labelchain_errors(
    assembly: CloudAssembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "lambdas"))
    from labelchain.handlers.runtime import lambda_handler  # noqa: PLC0415 - after the path is set

    entry_point_code = lambda_handler(lambda event, context: None).__code__
    handlers = sorted(properties["Handler"] for properties in lambda_functions(assembly.template).values())

    for handler in handlers:
        module_name, attribute = handler.rsplit(".", 1)
        function = getattr(importlib.import_module(module_name), attribute)
        assert function.__code__ is entry_point_code, f"{handler} is not decorated with @lambda_handler"
