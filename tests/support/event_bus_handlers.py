"""Lambda handlers of the event bus tests' template, dispatched in-process by ``local.moto_engine``."""

from __future__ import annotations

from typing import Any

received: list[dict[str, Any]] = []
"""Every event ``record`` got, in order (list.append is atomic: the bus's threads may call it)."""
failed: list[dict[str, Any]] = []
"""Every event ``fail`` got (one per attempt)."""


def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    received.append(event)
    return {"seen": event.get("id")}


def fail(event: dict[str, Any], context: Any) -> None:
    failed.append(event)
    raise RuntimeError("the reconciler exploded")
