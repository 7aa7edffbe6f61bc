"""The staff portal. Every /staff/ route, present and future, is closed by `require_staff`
below rather than by each view remembering a decorator: anonymous visitors are sent to the
log-in page, signed-in non-staff get 403, and views marked `@admin_required` answer 403 to
staff who are not admins. Staff pages are never cached (`Cache-Control: no-store`), so a
shared computer's back button cannot show them after log-out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user, login_required

bp = Blueprint("staff", __name__, url_prefix="/staff")


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a staff view as admins only; `require_staff` enforces it before the view runs."""
    view.admin_only = True  # type: ignore[attr-defined]
    return view


def is_admin_only(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint or "")
    return bool(getattr(view, "admin_only", False))


@bp.before_request
@login_required
def require_staff() -> tuple[str, int] | None:
    """The page (not a bare abort) keeps the layout, and with it the log-out button, in front
    of a player who wandered in."""
    if not current_user.can_staff:
        return render_template("staff/forbidden.html", admins_only=False), 403
    if is_admin_only(request.endpoint) and not current_user.is_admin:
        return render_template("staff/forbidden.html", admins_only=True), 403
    return None


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# Imported last: the views need `bp` to exist to attach their routes.
from app.staff import (  # noqa: E402, F401
    admin_views,
    announcement_views,
    audit_views,
    correction_views,
    lobby_views,
    payment_views,
    registration_views,
    results_views,
    series_views,
    tournament_views,
    views,
    webhook_views,
)
