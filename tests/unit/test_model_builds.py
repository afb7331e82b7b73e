"""Deferred model builds (core/models.py): every model still builds, and first uses may race safely."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import threading
import types
from pathlib import Path

from pydantic import BaseModel

import labelchain
from labelchain.core.models import DEFER_BUILD, rebuilds_are_thread_safe

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def _labelchain_models() -> list[type[BaseModel]]:
    for module in pkgutil.walk_packages(labelchain.__path__, "labelchain."):
        # The CLI is not on a function's import path; ``__main__`` modules run the CLI when imported
        if not module.name.startswith("labelchain.cli") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    return [
        value
        for name, module in list(sys.modules.items())
        if name.startswith("labelchain.")
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == name
    ]


def test_every_model_builds_its_validator_and_serializer() -> None:
    # A model whose schema is wrong now fails on first use, not at import: build them all here instead
    models = _labelchain_models()

    failures = []
    for model in models:
        try:
            model.model_rebuild(force=True)
        except Exception as exc:  # collect every broken model, not only the first
            failures.append(f"{model.__module__}.{model.__qualname__}: {exc}")

    assert len(models) > 50
    assert failures == []


def test_models_are_deferred_only_where_pydantic_locks_its_rebuilds() -> None:
    assert rebuilds_are_thread_safe(types.SimpleNamespace(_rebuild_lock=threading.RLock())) is True
    assert rebuilds_are_thread_safe(types.SimpleNamespace()) is False
    assert DEFER_BUILD is rebuilds_are_thread_safe()  # the pinned pydantic has the lock: deferral is on
    assert DEFER_BUILD is True
