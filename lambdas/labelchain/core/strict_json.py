"""JSON documents read strictly: a key repeated in one object is refused, never silently last-wins.

``json.loads`` keeps the last of two equal keys, so ``{"workers_per_object": 1, "workers_per_object": 9}``
reads as 9 while a reviewer of the file may have read 1. Every document LabelChain reads from a person
(execution inputs from files, project settings, price overrides) goes through ``loads_strict``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class DuplicateKeyError(ValueError):
    """A JSON object holds the same key twice."""


def _refuse_duplicates(document: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise DuplicateKeyError(
                    f"{document}: key {key!r} appears twice in one JSON object; keep exactly one "
                    "(JSON readers disagree on which one wins)"
                )
            result[key] = value
        return result

    return build


def loads_strict(text: str | bytes, *, document: str, parse_float: Callable[[str], Any] | None = None) -> Any:
    """Parse ``text`` like ``json.loads``; ``DuplicateKeyError`` (naming ``document`` and the key) on a
    repeated key, ``json.JSONDecodeError`` on malformed JSON."""
    return json.loads(text, object_pairs_hook=_refuse_duplicates(document), parse_float=parse_float)
