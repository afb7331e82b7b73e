"""The two model bases LabelChain's pydantic models share, so their configuration is written once."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenModel(BaseModel):
    """A value: immutable once validated (hashable, safe to share between calls)."""

    model_config = ConfigDict(frozen=True)


class StrictModel(FrozenModel):
    """A document someone writes (an input, a price table, the environment): immutable, and a field the
    model does not know is refused rather than silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")
