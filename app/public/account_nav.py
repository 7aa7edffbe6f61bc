"""The visitor's own header, fetched by shared pages.

Public pages are one body for every viewer (app/live.py), so they carry the anonymous
header; on load, htmx asks this endpoint for the visitor's part of it. Anonymous visitors get
`204 No Content` (nothing to swap, no session touched); a logged-in visitor gets their links,
name, unread count and log-out form, `private, no-store`, never stored by any cache.
"""

from __future__ import annotations

from flask import Response, make_response, render_template
from flask_login import current_user

from app.live import without_session
from app.public import bp

NO_STORE = "private, no-store"


@bp.get("/account-nav")
def account_nav():
    if without_session() or not current_user.is_authenticated:
        return Response(status=204, headers=[("Cache-Control", NO_STORE)])
    response = make_response(render_template("_account_nav.html", shared_page=False))
    response.headers["Cache-Control"] = NO_STORE
    return response
