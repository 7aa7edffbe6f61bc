"""Who may see a tournament. Rule: a `draft` is the organisers' work in progress; it is shown to
logged-in staff only (marked as a draft) and is, for everyone else, indistinguishable from a
tournament that does not exist: 404 on every public page, fragment, widget, download and API
read, and absent from every list.

Every page, fragment, widget, download and API read asks `may_see` (one tournament) or
`listed` (a list query); they differ only in how they know the viewer is staff: the browser
session (`viewer_is_staff`, the default) or the API's token or session."""

from __future__ import annotations

from collections.abc import Callable

from flask_login import current_user
from sqlalchemy import ColumnElement, true

from app.models import Tournament, TournamentStatus


def viewer_is_staff() -> bool:
    """Whether the browser session belongs to staff (reads the session: call it for drafts only)."""
    return bool(current_user and current_user.is_authenticated and current_user.can_staff)


def is_draft(status: str) -> bool:
    return status == TournamentStatus.DRAFT.value


def may_see(status: str, is_staff: Callable[[], bool] = viewer_is_staff) -> bool:
    """Whether this viewer may see a tournament in `status`. `is_staff` is asked only for a
    draft, so a public page or poll never reads the session or a token."""
    return not is_draft(status) or is_staff()


def listed(staff: bool) -> ColumnElement[bool]:
    """The tournaments a list shows this viewer, as a WHERE clause: staff see drafts too."""
    return true() if staff else Tournament.status != TournamentStatus.DRAFT.value
