"""Strict scalars for the execution input: numbers that are numbers, text without hidden characters.

JSON booleans are Python ints and JSON numbers may arrive as floats; the input model must not turn
``true`` into 1 worker or ``2.9`` into 2. Text shown to workers (labels, title, description,
instructions) must not carry control, bidirectional-override or zero-width characters: they can make
two labels look the same, or make text read differently from what it is ("Trojan Source").
"""

from __future__ import annotations

import math
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control (Cc), format (Cf: bidi embeddings, overrides and isolates U+202A-U+202E, U+2066-U+2069,
the marks U+200E/U+200F/U+061C, zero-width U+200B-U+200D, U+2060, U+FEFF), surrogate, private-use,
unassigned, line and paragraph separators."""
MULTILINE_ALLOWED = frozenset({"\t", "\n", "\r"})


def hidden_characters(text: str, *, multiline: bool = False) -> list[str]:
    """The code points of ``text`` a reader cannot see (``U+202E``), in order of first appearance."""
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    found = [
        f"U+{ord(ch):04X}"
        for ch in text
        if ch not in allowed and unicodedata.category(ch) in HIDDEN_CATEGORIES
    ]
    return list(dict.fromkeys(found))


def refuse_hidden_characters(text: str, *, multiline: bool = False) -> str:
    """``text`` unchanged, or ValueError naming its hidden characters."""
    hidden = hidden_characters(text, multiline=multiline)
    if hidden:
        raise ValueError(
            "must not contain control, bidirectional or zero-width characters; found " + ", ".join(hidden[:5])
        )
    return text


def normalised_label(label: str) -> str:
    """A label as LabelChain stores it: Unicode NFC, no hidden characters."""
    return refuse_hidden_characters(unicodedata.normalize("NFC", label))


def label_identity(label: str) -> str:
    """What makes two labels the same to a worker: compatibility form, case and spacing ignored.

    Ground Truth only asks for unique labels; LabelChain also refuses labels that differ only in
    letter case, full-width forms or runs of spaces (``Bird`` / ``bird`` / ``Ｂｉｒｄ``): a worker cannot
    tell which to pick, and a model's class map would split one class in two.
    """
    return " ".join(unicodedata.normalize("NFKC", label).casefold().split())


def _strict_decimal(value: Any) -> Any:
    """A decimal from a string, an int or a float (by its shortest repr), never from a boolean."""
    if isinstance(value, bool):
        raise ValueError('expected a decimal amount, e.g. "0.50", not a boolean')
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("expected a finite decimal amount")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f'expected a decimal amount, e.g. "0.50", got {value!r}') from None
        if not parsed.is_finite():
            raise ValueError("expected a finite decimal amount")
        return parsed
    if isinstance(value, int | Decimal):
        return value
    raise ValueError(f'expected a decimal amount, e.g. "0.50", got {type(value).__name__}')


StrictDecimal = Annotated[Decimal, BeforeValidator(_strict_decimal)]
"""A Decimal that refuses booleans, NaN and infinities (use with Field bounds)."""
