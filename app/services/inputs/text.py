"""What text and JSON we agree to store.

A NUL character is refused by PostgreSQL, and a lone UTF-16 surrogate (legal in JSON as
`\\udc80`) cannot be encoded as UTF-8 by either database; both must be refused on the way in,
with a message, instead of failing at commit time.

Names (tournament, team, tag, series, stage, display names) must also be one line of printable
text: `check_name` refuses control characters (C0 and C1, DEL, tab, CR/LF) and the Unicode line
and paragraph separators. A line break in a name ends up in the Subject of every email that
names it (where it is a header injection, refused by the mailer), in CSV downloads and in CLI
output; a name never needs one. Every way a name comes in (tournament file, API, portal, CLI)
calls this one rule.

Names also may not hold invisible format characters (Unicode category Cf: zero-width spaces,
U+FEFF, soft hyphens, the bidi overrides and isolates such as U+202E): they make a name that looks
like another ("Fees Team\u200bC" beside "Fees Team C") or reorder how a page shows the text
around it. One exception: a zero-width joiner or non-joiner (U+200D, U+200C) between two
characters of a word outside ASCII, where Bengali spelling (র‍্য) and emoji sequences need it.
Uniqueness of team names is decided on `name_key`: NFKC, case folded, with what is invisible
removed and runs of spaces made one, so a look-alike spelling cannot register beside the name.

JSON bodies may nest at most `MAX_JSON_DEPTH` levels: no document we accept needs more than a
handful, and a deeper one could only exhaust the stack of whatever walks it next (Python's
recursion limit sits near 1000, so anything recursive over a 500-deep list used to end in a
500). The walk here is iterative, so it answers for any depth the parser let through.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from app.errors import ValidationError
from app.text import storable as storable  # re-exported

MAX_JSON_DEPTH = 32


_LINE_SEPARATORS = {"\u2028", "\u2029", "\u0085"}


def control_character(text: str) -> str | None:
    """The first character a name may not hold, as "U+000A", or None when there is none."""
    for ch in text:
        if ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in _LINE_SEPARATORS:
            return f"U+{ord(ch):04X}"
    return None


_JOINERS = {"\u200c", "\u200d"}
# Invisible but not Cf: variation selectors and the combining grapheme joiner (dropped by name_key).
_IGNORABLE = re.compile("[\u034f\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def format_character(text: str) -> str | None:
    """The first invisible format character a name may not hold, as "U+202E", or None."""
    for i, ch in enumerate(text):
        if unicodedata.category(ch) != "Cf":
            continue
        if ch in _JOINERS and 0 < i < len(text) - 1:
            before, after = text[i - 1], text[i + 1]
            if not before.isascii() and not before.isspace() and not after.isspace():
                continue
        return f"U+{ord(ch):04X}"
    return None


def check_name(text: str, where: str) -> str:
    """`text` when it is fit to be a name; ValidationError naming `where` otherwise."""
    found = control_character(text)
    if found is not None:
        raise ValidationError(f"{where}: may not contain line breaks, tabs or other control characters (found {found})")
    found = format_character(text)
    if found is not None:
        raise ValidationError(
            f"{where}: may not contain invisible formatting characters such as zero-width spaces or "
            f"right-to-left overrides (found {found})"
        )
    return text


def name_key(text: str) -> str:
    """What two names are compared on for uniqueness: NFKC, case folded, invisible characters
    (format characters, variation selectors) removed and whitespace runs made one space."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _IGNORABLE.sub("", text)
    text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(text.split())


def printable(text: str) -> str:
    """For terminals and logs: control characters shown as escapes, never sent raw."""
    return "".join(ch if control_character(ch) is None else ch.encode("unicode_escape").decode("ascii") for ch in text)


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
