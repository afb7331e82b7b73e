"""The model bases LabelChain's pydantic models share, so their configuration is written once.

Every model defers building its validator (``defer_build``) until its first use. A handler module
imports many models it never uses on a given invocation (other event shapes, error paths, the records of
other functions), and building a model's validator costs more than defining the class, on every cold
start. Deferred, a cold start builds only the models its invocation validates (bench/cold_init.py
measures both: the cold init, and the cost of building every deferred model).

A first use can happen on several threads at once (the reconciler and the worker-response reader use
thread pools). pydantic serializes model rebuilds behind one lock only since its pull request #13438
(2026); before it, concurrent first uses could fail (pydantic issue #13419). The functions get pydantic
from the managed Powertools layer, not from requirements.txt, so this is checked where it runs: without
that lock, models are built at import as before.
"""

from __future__ import annotations

import threading

import pydantic.main
from pydantic import BaseModel, ConfigDict


def rebuilds_are_thread_safe(module: object = pydantic.main) -> bool:
    """Whether this pydantic builds a deferred model once however many threads first use it together."""
    return isinstance(getattr(module, "_rebuild_lock", None), type(threading.RLock()))


DEFER_BUILD = rebuilds_are_thread_safe()


class FrozenModel(BaseModel):
    """A value: immutable once validated (hashable, safe to share between calls)."""

    model_config = ConfigDict(frozen=True, defer_build=DEFER_BUILD)


class StrictModel(FrozenModel):
    """A document someone writes (an input, a price table, the environment): immutable, and a field the
    model does not know is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")
