"""One formatter that turns a pydantic ``ValidationError`` into LabelChain's ``field: what is allowed``
lines.

Every boundary (execution input, experiment input, project settings, price overrides, the environment,
Lambda payloads, report files) words its errors through ``describe_validation_error``; what differs
between them is data — a ``Wording`` — not another formatter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import ValidationError

Location = tuple[int | str, ...]

_VALIDATOR_PREFIX = re.compile(r"^(Value|Assertion) error, ")
"""What pydantic puts before the message of a ValueError or AssertionError raised by a validator."""
_UNION_MEMBER_PREFIXES = ("function-", "literal[")
"""How pydantic names the member of a union an error belongs to: not a field, so not part of a location."""


@dataclass(frozen=True)
class Wording:
    """How one kind of document names its fields and rules; every part is optional."""

    union_tags: frozenset[str] = frozenset()
    """Location parts that name a union member (discriminator values, model class names), not a field."""
    patterns: Mapping[str, str] = field(default_factory=dict)
    """Field name → what its pattern allows (replaces pydantic's regular expression)."""
    types: Mapping[str, str] = field(default_factory=dict)
    """Pydantic error type (``int_type``, …) → the message to show instead of pydantic's."""
    required: Mapping[str, str] = field(default_factory=dict)
    """Field name → why it is required (replaces "Field required")."""
    unknown_field: str | None = None
    """The message for a field the model does not know (pydantic's ``extra_forbidden``)."""
    names: Mapping[str, str] = field(default_factory=dict)
    """First location part → the name people know it by (a setting → its environment variable)."""


PLAIN = Wording()


def location_of(loc: Location, wording: Wording = PLAIN, *, root: str = "input") -> str:
    """A pydantic location as a dotted path (``task.labels.2``); ``root`` for the document itself."""
    parts = [
        str(part)
        for part in loc
        if str(part) not in wording.union_tags and not str(part).startswith(_UNION_MEMBER_PREFIXES)
    ]
    if parts:
        parts[0] = wording.names.get(parts[0], parts[0])
    return ".".join(parts) or root


def validation_problems(
    exc: ValidationError, wording: Wording = PLAIN, *, prefix: Location = (), root: str = "input"
) -> list[str]:
    """One ``field: problem`` line per distinct problem, in pydantic's order.

    ``prefix`` places the errors inside a larger document (``("job",)`` for an experiment's job template);
    a validator message that starts with its own field (``"labels: …"``) is placed relative to its model.
    """
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc: Location = (*prefix, *error["loc"])
        location = location_of(loc, wording, root=root)
        message = _VALIDATOR_PREFIX.sub("", error["msg"])
        kind = error["type"]
        if kind == "string_pattern_mismatch":
            named = next((str(p) for p in reversed(error["loc"]) if str(p) in wording.patterns), None)
            if named is not None:
                message = f"expected {wording.patterns[named]}"
        if kind == "extra_forbidden" and wording.unknown_field is not None:
            message = wording.unknown_field
        message = wording.types.get(kind, message)
        if kind == "missing" and error["loc"] and str(error["loc"][-1]) in wording.required:
            message = wording.required[str(error["loc"][-1])]
        if ":" in message.split(" ", 1)[0]:  # a model validator named its field, relative to loc
            lines.append(message if location == root else f"{location}.{message}")
        else:
            lines.append(f"{location}: {message}")
    return list(dict.fromkeys(lines))


def describe_validation_error(
    exc: ValidationError, wording: Wording = PLAIN, *, prefix: Location = (), root: str = "input"
) -> str:
    """Every problem of ``exc`` in one message, ``"; "``-separated (see ``validation_problems``)."""
    return "; ".join(validation_problems(exc, wording, prefix=prefix, root=root))
