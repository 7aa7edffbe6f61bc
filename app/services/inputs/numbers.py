"""Whole numbers typed by people: the one way user input becomes an `int`.

Python refuses to convert a string of more than 4,300 digits (a ValueError, which unguarded ends
in a 500 or a traceback), and `int()` also accepts digits of other scripts ("٣") and
surrounding spaces. So user input reaches `int()` only through `parse_whole`, which takes ASCII
digits only (and a sign when asked), and no more than `max_digits` of them: anything longer is
refused before conversion, whatever the field's range. JSON documents (tournament files, lobby
pastes) are parsed with `json_int` as `parse_int`, which does the same for numbers in JSON.
"""

from __future__ import annotations

from app.errors import ValidationError

# More digits than any count, score, id or page number we take; 10**30 is refused by every
# range check after conversion anyway, with that field's own message.
MAX_JSON_DIGITS = 30
# A whole number typed in a form's box: more characters than any count, amount or rank we take
# (parse_whole then refuses what is too long with the field's own message).
MAX_NUMBER_TEXT = 20


def parse_whole(text: str | None, *, max_digits: int = 9, signed: bool = False) -> int | None:
    """The integer `text` spells, or None when it is not one (empty, non-ASCII digits, a sign
    where none is allowed, or more than `max_digits` digits)."""
    if text is None:
        return None
    body = text[1:] if signed and text[:1] in "+-" else text
    if not body or len(body) > max_digits or not (body.isascii() and body.isdigit()):
        return None
    return int(text)


def too_long(text: str, *, max_digits: int = 9) -> bool:
    """A number written with more digits than we convert (for a message saying so)."""
    body = text[1:] if text[:1] in "+-" else text
    return len(body) > max_digits and body.isascii() and body.isdigit()


def json_int(text: str) -> int:
    """`parse_int` for json.loads: refuses (ValidationError) numbers too long to be meant."""
    digits = len(text.lstrip("-"))
    if digits > MAX_JSON_DIGITS:
        raise ValidationError(f"invalid JSON: a number of {digits} digits (at most {MAX_JSON_DIGITS})")
    return int(text)
