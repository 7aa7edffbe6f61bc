"""What an account's email address, password and display name may be: one rule for every way an
account is made or changed (player sign-up, the staff portal, `flask users`, password change).

Rules:
- Email: trimmed and stored lower-case; at most 255 characters; a deliberately plain pattern
  (local part, then a domain of dot-separated labels) that catches typos and pasted junk without
  rejecting real addresses a strict RFC 5322 reading would quibble over; no "..".
- Password: 8 to 1024 characters on one line, of storable text (no NUL, no unpaired surrogate).
  One line, because every log-in form is one line: a password with a line break could be set but
  never typed back. The log-in form refuses more than 1024 characters, so a longer password would
  lock its owner out.
- Display name: trimmed, at most 120 characters of storable text, no control characters
  (app.services.inputs.text.check_name).
"""

from __future__ import annotations

import re

from app.errors import ValidationError
from app.services.inputs.text import check_name, storable

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME = 120
MAX_EMAIL_LENGTH = 255

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL_RE = re.compile(rf"[a-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+")


def normalise_email(raw: str | None) -> str:
    """The address as stored (trimmed, lower-case), or ValidationError naming what was typed."""
    email = (raw or "").strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.fullmatch(email) or ".." in email:
        shown = (raw or "").strip()[:80]
        raise ValidationError(f"That is not a valid email address: {shown!r}.")
    return email


def check_password(password: str | None) -> str:
    """The password, unchanged, if it may be set; ValidationError saying which rule it breaks."""
    password = password or ""
    if "\n" in password or "\r" in password:
        raise ValidationError("The password must be a single line.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    if not storable(password):
        raise ValidationError("The password may not contain NUL characters or unpaired surrogates.")
    return password


def check_display_name(raw: str | None, label: str = "display name") -> str:
    """The name, trimmed, if it may be shown and stored ("" stays "": callers pick a default)."""
    name = (raw or "").strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationError(f"{label}: must be at most {MAX_DISPLAY_NAME} characters long")
    if not storable(name):
        raise ValidationError(f"{label}: contains characters that cannot be stored (NUL, unpaired surrogates)")
    check_name(name, label)
    return name
