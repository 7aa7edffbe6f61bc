"""Strict JSON, for every document people send (API bodies, tournament files, lobby pastes).

Rules: no NaN or Infinity; no key twice in one object (the first value would be lost without a
word; the message names the key); no number of more than `MAX_JSON_DIGITS` digits (Python takes
up to 4,300 and then fails with a ValueError), refused with a message that names where it is
(`matches[0].results[1].kills: a number of 41 digits ...`), the way every other bad value's
message names its field; no nesting deeper than the parser's stack allows.
"""

from __future__ import annotations

import json
from typing import Any

from app.errors import ValidationError
from app.services.inputs.fieldspec import quote
from app.services.inputs.numbers import MAX_JSON_DIGITS


class _TooLong:
    """Stands in for a number too long to convert until the whole document is read, so the
    message can name where it was."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _first_too_long(doc: Any) -> tuple[str, _TooLong] | None:
    """The path and marker of the first too-long number in document order (iterative: any depth)."""
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, _TooLong):
            return path, value
        if isinstance(value, dict):
            stack.extend((f"{path}.{key}" if path else str(key), child) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(value))))
    return None


def loads(text: str, where: str) -> Any:
    """The parsed document, or a ValidationError: syntax problems name `where` (the file, or
    "body"), a too-long number names its own place in the document."""
    found_long = False

    def refuse_constant(name: str) -> Any:
        raise ValidationError(f"{where}: invalid JSON: {name} is not a JSON number")

    def whole(digits: str) -> Any:
        nonlocal found_long
        count = len(digits.lstrip("-"))
        if count > MAX_JSON_DIGITS:
            found_long = True
            return _TooLong(count)
        return int(digits)

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                raise ValidationError(f"{where}: invalid JSON: the key {quote(key)} appears twice in one object")
            obj[key] = value
        return obj

    try:
        doc = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=no_duplicates, parse_int=whole)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValidationError(f"{where}: invalid JSON: nested too deeply") from None
    if found_long:
        path, marker = _first_too_long(doc) or (where, _TooLong(0))
        raise ValidationError(
            f"{path or where}: a number of {marker.digits} digits is too long (at most {MAX_JSON_DIGITS})"
        )
    return doc
