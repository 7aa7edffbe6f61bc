"""Phone numbers as people type them: "+880 1712-345678", "01712 345678", "(017) 1234 5678".

The rule: an optional leading "+", then 7 to 15 digits (E.164 allows 15); spaces, dots, dashes
and brackets between them are dropped. Stored as "+8801712345678" or "01712345678", the digits
alone, so a stored number is safe in a wa.me link and in any page without escaping surprises.
"""

from __future__ import annotations

import re

MAX_TYPED = 40
_SEPARATORS = re.compile(r"[ ().\-]")
_PHONE_RE = re.compile(r"\+?[0-9]{7,15}")


def normalize_phone(text: str) -> str | None:
    """The number in its stored form, or None when `text` is not a phone number."""
    if not isinstance(text, str) or len(text) > MAX_TYPED:
        return None
    digits = _SEPARATORS.sub("", text.strip())
    return digits if _PHONE_RE.fullmatch(digits) else None
