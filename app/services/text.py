"""What text we agree to store. A NUL character is refused by PostgreSQL, and a lone UTF-16
surrogate (legal in JSON as `\\udc80`) cannot be encoded as UTF-8 by either database; both
must be refused on the way in, with a message, instead of failing at commit time."""

from __future__ import annotations

from typing import Any


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def all_storable(value: Any) -> bool:
    """Every string (keys included) inside a parsed JSON value can be stored."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return all(all_storable(k) and all_storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(all_storable(v) for v in value)
    return True
