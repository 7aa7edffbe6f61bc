"""Logging in to the staff portal (sessions) and API tokens (bearer), in one place so the two
ways of being somebody follow the same rules: an inactive account is nobody.

A login session (and a "remember me" cookie) carries `"<user id>:<session version>"`
(`User.get_id`). Loading the user compares that version with the database, so bumping
`users.session_version` (log-out, password change, deactivation) ends every session and
remember cookie issued before, on every worker, whatever copy of the cookie is replayed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, make_response, redirect, request, url_for
from flask_login import login_url
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, htmx, login_manager
from app.http_errors import DatabaseUnavailable, is_database_outage
from app.models import User

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"


def parse_session_id(value: str) -> tuple[int, int] | None:
    user_id, sep, version = (value or "").partition(":")
    if not sep or not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
        return None
    if len(user_id) > 10 or len(version) > 10:
        return None
    return int(user_id), int(version)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session, if the session is still current: a stale version (logged out,
    password changed, deactivated) or an inactive account makes the visitor anonymous."""
    parsed = parse_session_id(session_id)
    if parsed is None:
        return None
    if g.get("database_unavailable"):
        # The error page for a database outage is being drawn: show it to an anonymous visitor
        # instead of failing again while drawing the layout.
        return None
    try:
        user = db.session.get(User, parsed[0])
    except SQLAlchemyError as exc:
        if not is_database_outage(exc):
            raise
        g.database_unavailable = True
        db.session.rollback()
        raise DatabaseUnavailable() from exc
    if user is None or not user.is_active or user.session_version != parsed[1]:
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    """Send an anonymous visitor to log in. An htmx request (a live check, a poll) would follow a
    302 inside the XHR and swap the whole log-in page into a table cell; it gets 401 with
    `HX-Redirect` instead, which htmx obeys by loading the log-in page for the page the user is on."""
    if htmx and not htmx.boosted:
        page = htmx.current_url or request.url
        response = make_response("Log in again to continue.", 401)
        response.headers["HX-Redirect"] = login_url(url_for(login_manager.login_view), next_url=_local(page))
        return response
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(url_for(login_manager.login_view), next_url=request.full_path.rstrip("?")))


def _local(url: str) -> str:
    """The path and query of a page URL: `?next=` only ever names a page of this site."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def init_app(app: Flask) -> None:
    # Cookie and proxy settings are the app's configuration (app.config), applied by the factory.
    @app.after_request
    def _no_store_login(response):
        if request.blueprint == "auth":
            response.headers["Cache-Control"] = "no-store"
        return response


# Imported last: the views need `bp` to exist to attach their routes.
from app.auth import views  # noqa: E402, F401
