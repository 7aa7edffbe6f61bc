"""Who may see a tournament. Rule: a `draft` is the organisers' work in progress; it is shown to
logged-in staff only (marked as a draft) and is, for everyone else, indistinguishable from a
tournament that does not exist: 404 on every public page, fragment, widget, download and API
read, and absent from every list."""

from __future__ import annotations

from flask_login import current_user


def viewer_is_staff() -> bool:
    """Whether the browser session belongs to staff (reads the session: call it for drafts only)."""
    return bool(current_user and current_user.is_authenticated and current_user.can_staff)
