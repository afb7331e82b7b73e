"""JSON documents read strictly: a key repeated in one object is refused, never silently last-wins.

``json.loads`` keeps the last of two equal keys, so ``{"workers_per_object": 1, "workers_per_object": 9}``
reads as 9 while a reviewer of the file may have read 1. Every document LabelChain reads from a person
(execution inputs from files, project settings, price overrides, manifest lines) goes through
``loads_strict``, which also refuses what RFC 8259 does not allow but Python's reader accepts (``NaN``,
``Infinity``, a leading byte-order mark).
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


class NotStrictJson(json.JSONDecodeError):
    """Text Python's reader accepts but RFC 8259 does not (``NaN``, ``Infinity``, a leading byte-order
    mark). A ``JSONDecodeError``, so every caller's "not valid JSON" path handles it; its message names
    what was found (the position is not known for a constant: ``str()`` gives the message alone)."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, "", 0)

    def __str__(self) -> str:
        return self.msg


def _refuse_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


def loads_strict(text: str | bytes, *, document: str, parse_float: Callable[[str], Any] | None = None) -> Any:
    """Parse ``text`` like ``json.loads``, but as RFC 8259 JSON: ``DuplicateKeyError`` (naming ``document``
    and the key) on a repeated key, ``NotStrictJson`` (a ``json.JSONDecodeError``) on ``NaN``/``Infinity`` or
    a leading byte-order mark, ``json.JSONDecodeError`` on malformed JSON."""
    if text[:3] == b"\xef\xbb\xbf" or (isinstance(text, str) and text[:1] == "\ufeff"):
        raise NotStrictJson(f"{document}: starts with a byte-order mark; save it as UTF-8 without a BOM")
    return json.loads(
        text,
        object_pairs_hook=_refuse_duplicates(document),
        parse_float=parse_float,
        parse_constant=_refuse_constant,
    )
