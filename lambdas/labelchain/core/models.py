"""The model bases LabelChain's pydantic models share, so their configuration is written once.

Every model defers building its validator (``defer_build``) until its first use. A handler module
imports many models it never uses on a given invocation (other event shapes, error paths, the records of
other functions), and building a model's validator costs more than defining the class: about 0.2-1 ms
each, paid on every cold start. Deferred, a cold start builds only the models its invocation validates
(bench/cold_init.py measures both: the cold init, and the cost of building every deferred model).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """A value: immutable once validated (hashable, safe to share between calls)."""

    model_config = ConfigDict(frozen=True, defer_build=True)


class StrictModel(FrozenModel):
    """A document someone writes (an input, a price table, the environment): immutable, and a field the
    model does not know is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")
