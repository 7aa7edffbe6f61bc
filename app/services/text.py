"""What text and JSON we agree to store.

A NUL character is refused by PostgreSQL, and a lone UTF-16 surrogate (legal in JSON as
`\\udc80`) cannot be encoded as UTF-8 by either database; both must be refused on the way in,
with a message, instead of failing at commit time.

JSON bodies may nest at most `MAX_JSON_DEPTH` levels: no document we accept needs more than a
handful, and a deeper one could only exhaust the stack of whatever walks it next (Python's
recursion limit sits near 1000, so anything recursive over a 500-deep list used to end in a
500). The walk here is iterative, so it answers for any depth the parser let through.
"""

from __future__ import annotations

from typing import Any

from app.errors import ValidationError
from app.text import storable as storable  # re-exported

MAX_JSON_DEPTH = 32


def _walk(value: Any, max_depth: int | None) -> str | None:
    """ "depth", "text" or None (fine): the first problem found, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not storable(item):
                return "text"
        elif isinstance(item, dict | list):
            if max_depth is not None and depth > max_depth:
                return "depth"
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and not storable(key):
                        return "text"
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def all_storable(value: Any) -> bool:
    """Every string (keys included) inside a parsed JSON value can be stored (any depth)."""
    return _walk(value, None) is None


def check_json(value: Any, where: str = "body") -> None:
    """Refuse a parsed JSON value nested deeper than MAX_JSON_DEPTH or holding text that
    cannot be stored, with a message naming `where`."""
    problem = _walk(value, MAX_JSON_DEPTH)
    if problem == "depth":
        raise ValidationError(f"{where}: JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)")
    if problem == "text":
        raise ValidationError(f"{where}: text may not contain NUL characters or unpaired surrogates")


def integral_numbers(value: Any) -> Any:
    """JSON does not tell 2 from 2.0 (nor does the OpenAPI schema's `integer`), so a body
    saying `"new_rank": 2.0` means rank 2: integral floats become ints; 2.5 stays a float and
    is refused where an integer is required. Call after `check_json` (depth is bounded)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integral_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integral_numbers(item) for item in value]
    return value
